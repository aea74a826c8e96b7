import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';

/**
 * openat-style access below a trusted root: each folder is opened with
 * O_NOFOLLOW from the previous one's descriptor (via /proc/self/fd), so no
 * symlink planted in the workspace can redirect a read, write or unlink.
 * Without /proc it falls back to plain paths checked with O_NOFOLLOW on the
 * last component.
 */
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const procFds = existsSync('/proc/self/fd');

export interface FolderHandle {
  /** Prefix to which a child name is appended. */
  base: string;
  close(): void;
}

/** Opens `root/relativeDir` component by component; throws an errno error on a symlink or a non-folder. */
export function openFolderBeneath(root: string, relativeDir: string): FolderHandle {
  const components = relativeDir === '.' || relativeDir === '' ? [] : relativeDir.split('/');
  if (!procFds) {
    const path = join(root, ...components);
    const fd = openSync(path, O_DIR);
    closeSync(fd);
    return { base: `${path}/`, close: () => {} };
  }
  let fd = openSync(root, O_DIR);
  try {
    for (const component of components) {
      const next = openSync(`/proc/self/fd/${fd}/${component}`, O_DIR);
      closeSync(fd);
      fd = next;
    }
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const owned = fd;
  return {
    base: `/proc/self/fd/${owned}/`,
    close: () => {
      try {
        closeSync(owned);
      } catch {
        // Already closed.
      }
    },
  };
}
