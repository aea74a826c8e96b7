import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, systemErrorCode } from './errors.ts';
import { OutputPaths } from './plan.ts';
import { SECRET_TYPES } from './secret.ts';

/**
 * The marker an injection leaves in the credentials workspace:
 * `.inject-credentials/manifest.json` lists every file written (relative
 * path and sha256, never content) and when the credentials expire;
 * `.inject-credentials/expires-at` repeats the expiry as one RFC 3339 line
 * for tools that do not parse JSON. Cleanup and the workspace guard read it
 * with `readCredentialsMarker`.
 */
export const MANIFEST_PATH = `${OutputPaths.stateDir}/manifest.json`;
export const EXPIRES_AT_PATH = `${OutputPaths.stateDir}/expires-at`;
const MAX_MANIFEST_BYTES = 64 * 1024;

const relativePath = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a relative path of plain segments')
  .refine((path) => !path.split('/').some((segment) => segment === '..' || segment === '.'), 'must not hold "." or ".." segments');

export const CredentialsMarkerSchema = z
  .object({
    version: z.literal(1),
    writtenAt: z.iso.datetime({ offset: true }),
    expiresAt: z.iso.datetime({ offset: true }),
    secrets: z.array(
      z.object({ label: z.string().max(300), type: z.enum(SECRET_TYPES), source: z.enum(['workspace', 'kubernetes-api']) }).strict(),
    ),
    files: z.array(z.object({ path: relativePath, sha256: z.string().regex(/^[a-f0-9]{64}$/) }).strict()),
  })
  .strict();

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
 * CREDENTIALS_MARKER_INVALID when it exists but is not ours (a link, too
 * large, malformed): a caller must treat that as a violation, not as absent.
 */
export async function readCredentialsMarker(dir: string, now: Date = new Date()): Promise<CredentialsMarkerStatus | undefined> {
  const stateDir = join(dir, OutputPaths.stateDir);
  try {
    const info = await lstat(stateDir);
    if (!info.isDirectory()) throw invalid(`${OutputPaths.stateDir} is not a folder`);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return undefined;
    if (error instanceof CredentialsError) throw error;
    throw invalid(`${OutputPaths.stateDir} cannot be read: ${describeSystemError(error)}`);
  }
  let text: string;
  try {
    const handle = await open(join(dir, MANIFEST_PATH), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.size > MAX_MANIFEST_BYTES) throw invalid(`${MANIFEST_PATH} is not a regular file under ${MAX_MANIFEST_BYTES} bytes`);
      text = (await handle.readFile()).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    if (systemErrorCode(error) === 'ENOENT') return undefined;
    throw invalid(`${MANIFEST_PATH} cannot be read: ${describeSystemError(error)}`);
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
