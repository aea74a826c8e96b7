import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { quoteUntrusted } from '../../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, systemErrorCode } from '../errors.ts';
import type { Redactor } from '../redactor.ts';
import { MAX_SECRET_BYTES, SECRET_KEY, secretKeys, type LoadedSecret, type SecretType } from '../secret.ts';

/**
 * Reads a Secret mounted as a workspace: one file per key. Kubernetes
 * mounts each key as a symlink into a timestamped "..data" folder, so links
 * are followed, but only when they resolve inside the mount. Only the keys
 * the type needs are read; each value is handed to the redactor before
 * anything else happens to it.
 */
export async function readMountedSecret(options: {
  dir: string;
  label: string;
  type: SecretType;
  declaredKeys: readonly string[];
  redactor: Redactor;
}): Promise<LoadedSecret> {
  const { dir, label, type, redactor } = options;
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    throw new CredentialsError(
      CredentialsErrorCode.secretMissing,
      `${label}: the secret workspace cannot be read: ${describeSystemError(error)}`,
      { hint: 'bind the "secret" workspace to the Secret (workspaces: - name: secret, secret: {secretName: ...})' },
    );
  }
  const { required, optional } = secretKeys(type, options.declaredKeys);
  const data = new Map<string, Buffer>();
  for (const key of [...required, ...optional]) {
    if (!SECRET_KEY.test(key)) {
      throw new CredentialsError(CredentialsErrorCode.input, `secret key ${quoteUntrusted(key)} is not a valid Secret key name`);
    }
    const value = await readKey(root, key, label);
    if (value === undefined) {
      if (required.includes(key)) {
        throw new CredentialsError(
          CredentialsErrorCode.secretKeyMissing,
          `${label} has no key ${quoteUntrusted(key)}, which type ${type} needs`,
          { hint: 'check that the bound Secret has that key and the declared secret-type is right' },
        );
      }
      continue;
    }
    redactor.add(value);
    data.set(key, value);
  }
  return { label, type, source: 'workspace', data };
}

async function readKey(root: string, key: string, label: string): Promise<Buffer | undefined> {
  const path = join(root, key);
  let resolved: string;
  try {
    resolved = await realpath(path);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return undefined;
    throw readFailure(label, key, error);
  }
  if (!resolved.startsWith(root + sep)) {
    throw new CredentialsError(
      CredentialsErrorCode.secretMalformed,
      `${label} key ${quoteUntrusted(key)} links outside the secret workspace`,
      { hint: 'bind the workspace to a Secret volume, not to a folder with links' },
    );
  }
  try {
    const handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        throw new CredentialsError(CredentialsErrorCode.secretMalformed, `${label} key ${quoteUntrusted(key)} is not a regular file`);
      }
      if (info.size > MAX_SECRET_BYTES) {
        throw new CredentialsError(
          CredentialsErrorCode.secretMalformed,
          `${label} key ${quoteUntrusted(key)} is ${info.size} bytes; a Secret holds at most ${MAX_SECRET_BYTES}`,
        );
      }
      const bytes = await handle.readFile();
      if (bytes.length > MAX_SECRET_BYTES) {
        throw new CredentialsError(CredentialsErrorCode.secretMalformed, `${label} key ${quoteUntrusted(key)} grew past ${MAX_SECRET_BYTES} bytes while read`);
      }
      return bytes;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    throw readFailure(label, key, error);
  }
}

function readFailure(label: string, key: string, error: unknown): CredentialsError {
  return new CredentialsError(
    CredentialsErrorCode.secretMissing,
    `${label} key ${quoteUntrusted(key)} cannot be read: ${describeSystemError(error)}`,
    { hint: 'the step user (65532) must be able to read the Secret volume; check defaultMode' },
  );
}
