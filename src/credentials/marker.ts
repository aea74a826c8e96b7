import * as z from '../zod.ts';
import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, systemErrorCode } from './errors.ts';
import { Folder, readBounded } from './folder.ts';
import { OutputPaths } from './plan.ts';
import { SECRET_TYPES } from './secret.ts';

/**
 * The marker an injection leaves in the credentials workspace:
 * `.inject-credentials/manifest.json` lists every file written (relative
 * path and sha256, never content) and when the credentials expire;
 * `.inject-credentials/expires-at` repeats the expiry as one RFC 3339 line
 * for tools that do not parse JSON (informational: nothing here trusts it).
 * Cleanup and the workspace guard read the marker with `readCredentialsMarker`.
 */
const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_PATH = `${OutputPaths.stateDir}/${MANIFEST_NAME}`;
export const EXPIRES_AT_PATH = `${OutputPaths.stateDir}/expires-at`;
export const MAX_MANIFEST_BYTES = 64 * 1024;

const relativePath = z.string().check(
  z.maxLength(256),
  z.regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a relative path of plain segments'),
  z.refine((path) => !path.split('/').some((segment) => segment === '..' || segment === '.'), 'must not hold "." or ".." segments'),
);

export const CredentialsMarkerSchema = z.strictObject({
  version: z.literal(1),
  writtenAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
  secrets: z
    .array(z.strictObject({ label: z.string().check(z.maxLength(300)), type: z.enum(SECRET_TYPES), source: z.enum(['workspace', 'kubernetes-api']) }))
    .check(z.maxLength(64)),
  files: z.array(z.strictObject({ path: relativePath, sha256: z.string().check(z.regex(/^[a-f0-9]{64}$/)) })).check(z.maxLength(256)),
});

export type CredentialsMarker = z.infer<typeof CredentialsMarkerSchema>;

export interface CredentialsMarkerStatus {
  readonly marker: CredentialsMarker;
  readonly expiresAt: Date;
  /** True once `now` is past `expiresAt`: credentials that outlived their TTL are a violation. */
  readonly expired: boolean;
}

/**
 * Reads the marker of a credentials workspace. Returns undefined when there
 * is none (nothing was injected, or cleanup already ran); throws
 * CREDENTIALS_MARKER_INVALID when it exists but is not ours (a link, a FIFO,
 * too large, malformed): a caller must treat that as a violation, not as
 * absent. No link is followed on the way and a FIFO is never waited on.
 *
 * The marker only says what an injection claims. Anyone who can write to
 * the workspace can write one, so nothing may be trusted on its word alone:
 * inject-credentials trusts it only once the whole workspace matched the
 * digest the previous injection returned as a Tekton result.
 */
export async function readCredentialsMarker(dir: string, now: Date = new Date()): Promise<CredentialsMarkerStatus | undefined> {
  let root: Folder;
  try {
    // The caller names the root (a workspace path); only what is below it is the workspace's.
    root = await Folder.open(dir, { followLink: true });
  } catch (error) {
    throw invalid(`the workspace cannot be opened to read ${MANIFEST_PATH}: ${describeSystemError(error)}`);
  }
  try {
    let stateDir: Folder;
    try {
      stateDir = await root.openFolder(OutputPaths.stateDir);
    } catch (error) {
      const code = systemErrorCode(error);
      if (code === 'ENOENT') return undefined;
      if (code === 'ENOTDIR' || code === 'ELOOP') throw invalid(`${OutputPaths.stateDir} is not a folder (a link or a file)`);
      throw invalid(`${OutputPaths.stateDir} cannot be read: ${describeSystemError(error)}`);
    }
    try {
      let bytes: Buffer;
      try {
        const handle = await stateDir.openForReading(MANIFEST_NAME);
        try {
          const info = await handle.stat();
          if (!info.isFile()) throw invalid(`${MANIFEST_PATH} is not a regular file`);
          const read = await readBounded(handle, MAX_MANIFEST_BYTES);
          if (read.tooLarge) throw invalid(`${MANIFEST_PATH} is larger than ${MAX_MANIFEST_BYTES} bytes`);
          bytes = read.bytes;
        } finally {
          await handle.close();
        }
      } catch (error) {
        if (error instanceof CredentialsError) throw error;
        if (systemErrorCode(error) === 'ENOENT') return undefined;
        throw invalid(`${MANIFEST_PATH} cannot be read: ${describeSystemError(error)}`);
      }
      return parseCredentialsMarker(bytes, now);
    } finally {
      await stateDir.close();
    }
  } finally {
    await root.close();
  }
}

/** Parses marker bytes (at most MAX_MANIFEST_BYTES); throws CREDENTIALS_MARKER_INVALID. */
export function parseCredentialsMarker(bytes: Buffer, now: Date = new Date()): CredentialsMarkerStatus {
  if (bytes.length > MAX_MANIFEST_BYTES) throw invalid(`${MANIFEST_PATH} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`${MANIFEST_PATH} is not UTF-8 text`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${MANIFEST_PATH} is not valid JSON`);
  }
  const parsed = CredentialsMarkerSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw invalid(`${MANIFEST_PATH} does not match the marker schema (${first ? quoteUntrusted(first.path.join('.') || '(root)') : 'unknown'})`);
  }
  const expiresAt = new Date(parsed.data.expiresAt);
  return { marker: parsed.data, expiresAt, expired: now.getTime() > expiresAt.getTime() };
}

function invalid(message: string): CredentialsError {
  return new CredentialsError(CredentialsErrorCode.markerInvalid, message, {
    violation: true,
    hint: 'only inject-credentials writes .inject-credentials/; run cleanup and inject again',
  });
}

/** The longest a credential may live in a workspace. */
export const MAX_TTL_MS = 24 * 60 * 60 * 1000;
const TTL = /^(\d{1,5})(s|m|h)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `expires` is a TTL ("90s", "15m", "1h") or an absolute RFC 3339 time, at most 24 h ahead. */
export function parseExpiry(value: string, now: Date): Date {
  const ttl = TTL.exec(value);
  let at: Date;
  if (ttl) {
    at = new Date(now.getTime() + Number(ttl[1]) * UNIT_MS[ttl[2] as keyof typeof UNIT_MS]);
  } else if (z.iso.datetime({ offset: true }).safeParse(value).success) {
    at = new Date(value);
  } else {
    throw new CredentialsError(CredentialsErrorCode.input, `expires ${quoteUntrusted(value)} is neither a TTL like "15m" nor an RFC 3339 time`);
  }
  if (at.getTime() <= now.getTime() || at.getTime() - now.getTime() > MAX_TTL_MS) {
    throw new CredentialsError(CredentialsErrorCode.input, `expires must lie in the future and at most 24h ahead`, {
      hint: 'credentials should live only as long as the Pipeline that needs them',
    });
  }
  return at;
}
