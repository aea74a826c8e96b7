import { quoteUntrusted } from '../../errors.ts';
import { CredentialsError, CredentialsErrorCode } from '../errors.ts';
import { OutputPaths, type PlannedFile } from '../plan.ts';
import { requireKey, SECRET_KEY, type LoadedSecret } from '../secret.ts';

/**
 * Opaque keys written to named files under files/. A mapping is
 * "key=relative/path"; paths are relative, made of plain segments, and
 * short enough that the fingerprints result stays under Tekton's limit.
 */
export interface OpaqueMapping {
  readonly key: string;
  readonly path: string;
}

export const MAX_OPAQUE_FILES = 8;
export const MAX_OPAQUE_PATH_CHARS = 48;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,47}$/;

export function parseOpaqueMappings(values: readonly string[]): OpaqueMapping[] {
  if (values.length > MAX_OPAQUE_FILES) {
    throw new CredentialsError(CredentialsErrorCode.input, `opaque-files lists ${values.length} files; at most ${MAX_OPAQUE_FILES} are accepted`);
  }
  const mappings: OpaqueMapping[] = [];
  for (const value of values) {
    const at = value.indexOf('=');
    const key = at < 0 ? value : value.slice(0, at);
    const path = at < 0 ? value : value.slice(at + 1);
    if (!SECRET_KEY.test(key)) {
      throw new CredentialsError(CredentialsErrorCode.input, `opaque-files entry ${quoteUntrusted(value)}: ${quoteUntrusted(key)} is not a Secret key name`, {
        hint: 'write entries as "key=relative/path" or just "key"',
      });
    }
    const segments = path.split('/');
    if (path.length > MAX_OPAQUE_PATH_CHARS || !segments.every((segment) => SEGMENT.test(segment) && segment !== '..' && segment !== '.')) {
      throw new CredentialsError(
        CredentialsErrorCode.input,
        `opaque-files entry ${quoteUntrusted(value)}: the path must be relative, at most ${MAX_OPAQUE_PATH_CHARS} characters, of segments made of letters, digits, ".", "_" and "-" (not starting with ".")`,
      );
    }
    mappings.push({ key, path });
  }
  const paths = mappings.map((mapping) => mapping.path);
  for (const path of paths) {
    if (paths.filter((other) => other === path || other.startsWith(`${path}/`)).length > 1) {
      throw new CredentialsError(CredentialsErrorCode.input, `opaque-files names ${quoteUntrusted(path)} twice, or as both a file and a folder`);
    }
  }
  return mappings;
}

export function opaqueFiles(secret: LoadedSecret, mappings: readonly OpaqueMapping[]): PlannedFile[] {
  if (mappings.length === 0) {
    throw new CredentialsError(CredentialsErrorCode.input, 'an Opaque secret needs opaque-files: the keys to write and their file names');
  }
  return mappings.map((mapping) => ({ path: `${OutputPaths.filesDir}/${mapping.path}`, content: requireKey(secret, mapping.key) }));
}
