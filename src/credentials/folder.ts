import { constants, existsSync, type Stats } from 'node:fs';
import { chmod, lstat, open, opendir, type FileHandle } from 'node:fs/promises';

/**
 * A folder of a workspace someone else may write to, opened without
 * following links. Its children are reached through its descriptor
 * (/proc/self/fd/N/name, which is what openat(2) does), so a folder swapped
 * for a symbolic link after it was opened cannot send a read, write, chmod
 * or unlink anywhere else, and path length never limits depth. Names are raw
 * bytes: a name that is not UTF-8 is still found, hashed and removed.
 * Without /proc (a bare chroot) it falls back to full paths, checked with
 * O_NOFOLLOW on the last component.
 */
const O_FOLDER = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: opening a FIFO planted where a file should be returns at once instead of waiting for a writer. */
export const O_READ_UNTRUSTED = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
export const procFds = existsSync('/proc/self/fd');

export class Folder {
  private readonly handle: FileHandle;
  /** What a child name is appended to. */
  private readonly prefix: Buffer;

  private constructor(handle: FileHandle, prefix: Buffer) {
    this.handle = handle;
    this.prefix = prefix;
  }

  /**
   * Opens a workspace root; throws the errno error (ENOTDIR or ELOOP for a link) as is. `followLink`:
   * the root path itself may be a link (it comes from the caller, not from the workspace).
   */
  static async open(path: string, options: { followLink?: boolean } = {}): Promise<Folder> {
    // A trailing slash would make open() follow a final link despite O_NOFOLLOW.
    const clean = path.replace(/\/+$/, '') || '/';
    const handle = await open(clean, options.followLink ? O_FOLDER & ~constants.O_NOFOLLOW : O_FOLDER);
    return new Folder(handle, Folder.prefixFor(handle, Buffer.from(clean)));
  }

  private static prefixFor(handle: FileHandle, path: Buffer): Buffer {
    return procFds ? Buffer.from(`/proc/self/fd/${handle.fd}/`) : Buffer.concat([path, Buffer.from('/')]);
  }

  /** The path to hand to lstat, readlink, unlink, rmdir, rename or mkdir for a child: resolved through this folder. */
  child(name: Buffer | string): Buffer {
    return Buffer.concat([this.prefix, typeof name === 'string' ? Buffer.from(name) : name]);
  }

  /** Opens a child folder; a link or anything else that is not a folder fails (ENOTDIR or ELOOP). */
  async openFolder(name: Buffer | string): Promise<Folder> {
    const path = this.child(name);
    const handle = await open(path, O_FOLDER);
    return new Folder(handle, Folder.prefixFor(handle, path));
  }

  /** Opens a child for reading without following a link and without blocking on a FIFO. */
  openForReading(name: Buffer | string): Promise<FileHandle> {
    return open(this.child(name), O_READ_UNTRUSTED);
  }

  stat(): Promise<Stats> {
    return this.handle.stat();
  }

  /** fchmod: changes this folder, never what a path might point to by now. */
  chmod(mode: number): Promise<void> {
    return this.handle.chmod(mode);
  }

  /** Streams the raw names, never holding more than one batch of a huge folder in memory. */
  async *names(): AsyncGenerator<Buffer> {
    const dir = await opendir(this.prefix, { encoding: 'buffer' as BufferEncoding, bufferSize: 64 });
    for await (const entry of dir) yield entry.name as unknown as Buffer;
  }

  /** Up to `limit` names (sorted bytewise), and whether there were more. */
  async firstNames(limit: number): Promise<{ names: Buffer[]; more: boolean }> {
    const names: Buffer[] = [];
    let more = false;
    for await (const name of this.names()) {
      if (names.length === limit) {
        more = true;
        break;
      }
      names.push(name);
    }
    return { names: names.sort(Buffer.compare), more };
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/**
 * Linux O_PATH (the same value on x86-64 and arm64; Node does not export
 * it): a handle on the entry itself, link or not, that grants no access, so
 * an entry can be pinned before its mode is changed.
 */
const O_PATH = 0o10000000;

const sameInode = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;
const replaced = () => Object.assign(new Error('replaced while open'), { code: 'ESTALE' });

/**
 * chmod of a child, without following a link, and only while it is still
 * the inode `expected` (through an O_PATH handle; without /proc, by path
 * right after a fresh lstat).
 */
export async function chmodChild(folder: Folder, name: Buffer, expected: Stats, mode: number): Promise<void> {
  if (!procFds) {
    const now = await lstat(folder.child(name));
    if (now.isSymbolicLink() || !sameInode(now, expected)) throw replaced();
    await chmod(folder.child(name), mode);
    return;
  }
  const pinned = await open(folder.child(name), O_PATH | constants.O_NOFOLLOW);
  try {
    if (!sameInode(await pinned.stat(), expected)) throw replaced();
    await chmod(`/proc/self/fd/${pinned.fd}`, mode);
  } finally {
    await pinned.close();
  }
}

/**
 * Opens a child regular file for writing in place, only while it is still
 * the inode `expected`: it is made 0600 first (our files are 0400), and the
 * handle is reopened from the pinned inode, so a name swapped for a link or
 * a FIFO in between is never written through or waited on.
 */
export async function openChildForOverwrite(folder: Folder, name: Buffer, expected: Stats): Promise<FileHandle> {
  await chmodChild(folder, name, expected, 0o600);
  const path = procFds ? undefined : folder.child(name);
  let pinned: FileHandle | undefined;
  if (procFds) pinned = await open(folder.child(name), O_PATH | constants.O_NOFOLLOW);
  try {
    if (pinned && !sameInode(await pinned.stat(), expected)) throw replaced();
    // /proc/self/fd/N is itself a (magic) link, so O_NOFOLLOW applies only to the plain path.
    const handle = pinned
      ? await open(`/proc/self/fd/${pinned.fd}`, constants.O_WRONLY | constants.O_NONBLOCK)
      : await open(path!, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const info = await handle.stat();
    if (!info.isFile() || !sameInode(info, expected)) {
      await handle.close();
      throw replaced();
    }
    return handle;
  } finally {
    await pinned?.close();
  }
}

/**
 * Reads a regular file through an open handle, stopping at `maxBytes` + 1:
 * the bound holds while reading, whatever size the file claims or grows to.
 */
export async function readBounded(handle: FileHandle, maxBytes: number): Promise<{ bytes: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, maxBytes + 1 - total), null);
    if (bytesRead === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, bytesRead)));
    total += bytesRead;
    if (total > maxBytes) return { bytes: Buffer.alloc(0), tooLarge: true };
  }
  return { bytes: Buffer.concat(chunks, total), tooLarge: false };
}

/** A raw name or path for messages: UTF-8 when it is, otherwise with each bad byte shown as \xNN. */
export function displayName(raw: Buffer): string {
  const text = raw.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(raw)) return text;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    let length = 1;
    for (let n = 4; n >= 1; n--) {
      const slice = raw.subarray(i, i + n);
      const decoded = slice.toString('utf8');
      if (slice.length === n && !decoded.includes('\uFFFD') && Buffer.from(decoded, 'utf8').equals(slice)) {
        length = n;
        out += decoded;
        break;
      }
      if (n === 1) out += `\\x${raw[i]!.toString(16).padStart(2, '0')}`;
    }
    i += length;
  }
  return out;
}
