import type { FileHandle } from 'node:fs/promises';
import { lstat, readlink } from 'node:fs/promises';
import { systemErrorCode } from '../errors.ts';
import { Folder, readBounded } from '../folder.ts';

/**
 * Reads one file from a folder the kubelet mounted (a Secret volume, the
 * service account's projected volume). The kubelet makes every key a link
 * into a timestamped folder: `key -> ..data/key`, `..data -> ..2024_…`. Such
 * links are followed, one component at a time through folder descriptors,
 * as long as each target is relative and goes only downwards (no "..", not
 * absolute), so no link, and no link swapped in while reading, can lead out
 * of the mount. The file must be a regular file (a FIFO is never waited on)
 * and is read up to `maxBytes` only.
 */
export type MountedRead =
  | { readonly kind: 'found'; readonly bytes: Buffer }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly reason: 'outside' | 'not-a-file' | 'too-large' | 'too-many-links' | 'replaced' };

const MAX_LINKS = 8;

export async function readMountedFile(root: Folder, name: string, maxBytes: number): Promise<MountedRead> {
  const folders: Folder[] = [];
  try {
    let folder = root;
    let links = 0;
    const queue = [name];
    while (queue.length > 0) {
      const segment = queue.shift()!;
      if (segment === '' || segment === '.' || segment === '..') return { kind: 'refused', reason: 'outside' };
      let info;
      try {
        info = await lstat(folder.child(segment));
      } catch (error) {
        if (systemErrorCode(error) === 'ENOENT') return { kind: 'missing' };
        throw error;
      }
      if (info.isSymbolicLink()) {
        if (++links > MAX_LINKS) return { kind: 'refused', reason: 'too-many-links' };
        const target = await readlink(folder.child(segment));
        const segments = target.split('/').filter((part) => part !== '' && part !== '.');
        if (target.startsWith('/') || segments.includes('..') || segments.length === 0) return { kind: 'refused', reason: 'outside' };
        queue.unshift(...segments);
        continue;
      }
      if (queue.length > 0) {
        if (!info.isDirectory()) return { kind: 'missing' };
        try {
          folder = await folder.openFolder(segment);
        } catch (error) {
          const code = systemErrorCode(error);
          if (code === 'ENOTDIR' || code === 'ELOOP') return { kind: 'refused', reason: 'replaced' };
          throw error;
        }
        folders.push(folder);
        continue;
      }
      if (!info.isFile()) return { kind: 'refused', reason: 'not-a-file' };
      let handle: FileHandle;
      try {
        handle = await folder.openForReading(segment);
      } catch (error) {
        if (systemErrorCode(error) === 'ELOOP') return { kind: 'refused', reason: 'replaced' };
        throw error;
      }
      try {
        const opened = await handle.stat();
        if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) return { kind: 'refused', reason: 'replaced' };
        const { bytes, tooLarge } = await readBounded(handle, maxBytes);
        return tooLarge ? { kind: 'refused', reason: 'too-large' } : { kind: 'found', bytes };
      } finally {
        await handle.close();
      }
    }
    return { kind: 'missing' };
  } finally {
    for (const folder of folders) await folder.close();
  }
}
