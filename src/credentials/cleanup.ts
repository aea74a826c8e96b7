import { constants } from 'node:fs';
import { chmod, lstat, open, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, isCredentialsError } from './errors.ts';
import { readCredentialsMarker, type CredentialsMarkerStatus } from './marker.ts';

/**
 * Cleanup for a Pipeline's `finally`: overwrite, then remove, everything in
 * the credentials workspace (the manifest's files and whatever else is left,
 * such as a half-finished injection's), then check the workspace is empty.
 * It succeeds with no manifest and is idempotent. Overwriting is a courtesy
 * on disks (copy-on-write and flash may keep old blocks); a memory-backed
 * emptyDir is what keeps credentials off disk.
 */
export interface CleanupReport {
  /** Relative paths removed, files before their folders. */
  readonly removed: string[];
  /** Files overwritten with zeros before removal. */
  readonly overwritten: number;
  /** Files in the manifest that were not there (the injection stopped early, or cleanup already ran). */
  readonly missingFromManifest: string[];
  /** Files that were there but not in the manifest. */
  readonly unlisted: string[];
  readonly marker: CredentialsMarkerStatus | undefined;
  /** Why the run is a violation even though the workspace is now empty. */
  readonly violations: string[];
}

const MAX_ENTRIES = 10_000;
const ZERO_CHUNK = Buffer.alloc(64 * 1024);

export async function cleanupCredentials(root: string, now: Date = new Date()): Promise<CleanupReport> {
  let rootInfo;
  try {
    rootInfo = await lstat(root);
  } catch (error) {
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, `the credentials workspace cannot be opened: ${describeSystemError(error)}`);
  }
  if (!rootInfo.isDirectory()) {
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, 'the credentials workspace path is not a folder (or is a symbolic link)');
  }
  const violations: string[] = [];
  let marker: CredentialsMarkerStatus | undefined;
  try {
    marker = await readCredentialsMarker(root, now);
  } catch (error) {
    if (!isCredentialsError(error)) throw error;
    violations.push(error.message);
  }
  if (marker?.expired) violations.push(`the credentials expired at ${marker.marker.expiresAt}, before cleanup ran`);

  const listed = new Set((marker?.marker.files ?? []).map((file) => file.path));
  const removed: string[] = [];
  const unlisted: string[] = [];
  const failures: string[] = [];
  const uid = process.getuid?.();
  let overwritten = 0;
  let seen = 0;

  const removeTree = async (relative: string): Promise<void> => {
    const dir = join(root, relative);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      failures.push(`${relative || '.'}: ${describeSystemError(error)}`);
      return;
    }
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) {
        failures.push(`more than ${MAX_ENTRIES} entries`);
        return;
      }
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const full = join(root, path);
      try {
        const info = await lstat(full);
        if (info.isDirectory()) {
          if (info.uid === uid && (info.mode & 0o700) !== 0o700) await chmod(full, 0o700);
          await removeTree(path);
          await rmdir(full);
        } else {
          // Overwrite only a regular file that is ours and has no other name:
          // writing through a planted hard link would destroy someone else's file.
          if (info.isFile() && info.uid === uid && info.nlink === 1 && info.size > 0) {
            await overwriteWithZeros(full, info.size);
            overwritten++;
          }
          await unlink(full);
          if (!listed.has(path) && !path.startsWith('.inject-credentials/')) unlisted.push(path);
        }
        removed.push(path);
      } catch (error) {
        failures.push(`${quoteUntrusted(path)}: ${describeSystemError(error)}`);
      }
    }
  };
  await removeTree('');

  const left = await readdir(root).catch(() => ['(unreadable)']);
  if (left.length > 0 || failures.length > 0) {
    const detail = [...failures, ...left.map((name) => `${quoteUntrusted(name)} remains`)].slice(0, 5).join('; ');
    throw new CredentialsError(CredentialsErrorCode.cleanupIncomplete, `the credentials workspace is not empty after cleanup: ${detail}`, {
      hint: 'entries owned by another user or in read-only folders cannot be removed by the step user; keep the credentials workspace for inject-credentials and trusted tasks only',
    });
  }
  const present = new Set(removed);
  const missingFromManifest = [...listed].filter((path) => !present.has(path));
  return { removed, overwritten, missingFromManifest, unlisted, marker, violations };
}

async function overwriteWithZeros(path: string, size: number): Promise<void> {
  await chmod(path, 0o600);
  const handle = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    let offset = 0;
    while (offset < size) {
      const length = Math.min(ZERO_CHUNK.length, size - offset);
      const { bytesWritten } = await handle.write(ZERO_CHUNK, 0, length, offset);
      offset += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
