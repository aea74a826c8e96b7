import { closeSync, constants, fstatSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { openFolderBeneath } from './beneath.ts';
import { baseName, parentOf } from './paths.ts';

export interface ScrubTarget {
  path: string;
  dev: number;
  ino: number;
}

export type ScrubOutcome = { removed: true; overwritten: boolean } | { removed: false; reason: string };

const ZEROES = Buffer.alloc(64 * 1024);

/**
 * Removes one credential file: overwrite with zeroes (so the bytes do not
 * linger in a snapshot or a reused block), then unlink. Everything goes
 * through folder descriptors opened with O_NOFOLLOW, and the file must still
 * be the inode the walk saw. A file with other hard links is unlinked but
 * not overwritten: zeroing it would reach through the other names.
 */
export function scrubFile(root: string, target: ScrubTarget): ScrubOutcome {
  let folder;
  try {
    folder = openFolderBeneath(root, parentOf(target.path));
  } catch (error) {
    return { removed: false, reason: `its folder cannot be opened safely (${code(error)})` };
  }
  try {
    const location = `${folder.base}${baseName(target.path)}`;
    let overwritten = false;
    let fd: number | undefined;
    try {
      fd = openSync(location, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      // Not writable by this user: it can still be unlinked if the folder is writable.
    }
    if (fd !== undefined) {
      try {
        const stat = fstatSync(fd);
        if (!stat.isFile() || stat.dev !== target.dev || stat.ino !== target.ino) {
          return { removed: false, reason: 'it was replaced after it was examined' };
        }
        if (stat.nlink === 1) {
          let remaining = stat.size;
          let position = 0;
          while (remaining > 0) {
            const length = Math.min(remaining, ZEROES.length);
            const written = writeSync(fd, ZEROES, 0, length, position);
            position += written;
            remaining -= written;
          }
          fsyncSync(fd);
          overwritten = true;
        }
      } finally {
        closeSync(fd);
      }
    }
    try {
      unlinkSync(location);
    } catch (error) {
      return { removed: false, reason: `unlink failed (${code(error)})` };
    }
    return { removed: true, overwritten };
  } finally {
    folder.close();
  }
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}
