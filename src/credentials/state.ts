import { createHash } from 'node:crypto';
import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { quoteUntrusted } from '../errors.ts';
import { displayName, Folder, readBounded } from './folder.ts';
import { systemErrorCode } from './errors.ts';

/**
 * What is really in a credentials workspace, read from disk without
 * following a link, and its digest. This is what an injection vouches for
 * through its `injection-digest` result and what the next injection checks
 * against `previous-injection-digest`: never the marker's claims, which
 * anyone who can write to the workspace can rewrite.
 *
 * The digest covers every entry below the root (the marker included), in
 * bytewise order of the raw path: its path bytes, its type, its permission
 * bits (setuid, setgid and sticky too), owner and group, and for a file its
 * link count, size and the sha256 of its content; for a link, its target.
 * Added, removed, changed, re-moded, re-owned, hard-linked or re-linked
 * entries and a changed marker all change it. Times are left out (they
 * change when nothing that matters does), and so is the root folder itself,
 * which belongs to the volume.
 */
export type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

export interface StateEntry {
  /** The path's raw bytes, relative to the root. */
  readonly raw: Buffer;
  /** For messages and comparisons with the marker: UTF-8, bad bytes as \xNN. */
  readonly path: string;
  readonly type: EntryType;
  /** mode & 0o7777. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly size: number;
  readonly sha256?: string;
  /** A link's target as stored, hex. */
  readonly target?: string;
  /** A folder that could not be listed (a root-owned lost+found). */
  readonly unreadable?: boolean;
}

export interface WorkspaceState {
  readonly entries: readonly StateEntry[];
  /** The bytes read for the files named in `keep`, exactly the bytes hashed. */
  readonly kept: ReadonlyMap<string, Buffer>;
}

/** What inject-credentials ever writes, with room for re-injections; anything larger is not ours. */
export const STATE_LIMITS = { entries: 256, depth: 16, fileBytes: 2 * 1024 * 1024, totalBytes: 16 * 1024 * 1024 } as const;

/** Why a workspace could not be read as a state: it cannot be one inject-credentials left. */
export class StateProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateProblem';
  }
}

/**
 * A fresh ext4 volume (a volumeClaimTemplate) holds lost+found, owned by
 * root and 0700, at its root. Only root can put anything in it or read from
 * it, and no tool looks there for credentials, so it is the one entry an
 * "empty" credentials workspace may hold. Anything else of that name is not it.
 */
export const LOST_FOUND = 'lost+found';
export function isVolumeLostFound(depth: number, name: Buffer | string, info: Pick<Stats, 'uid' | 'mode' | 'isDirectory'>): boolean {
  return depth === 0 && name.toString() === LOST_FOUND && info.isDirectory() && info.uid === 0 && (info.mode & 0o7777) === 0o700;
}

export function entryType(info: Stats): EntryType {
  if (info.isDirectory()) return 'dir';
  if (info.isFile()) return 'file';
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isFIFO()) return 'fifo';
  if (info.isSocket()) return 'socket';
  if (info.isCharacterDevice()) return 'char-device';
  if (info.isBlockDevice()) return 'block-device';
  return 'unknown';
}

/**
 * Reads the state under `root` (an open folder), hashing every regular file.
 * Throws StateProblem past the limits, or when an entry changes under the
 * walk; errno errors of the root itself propagate.
 */
export async function readWorkspaceState(root: Folder, keep: readonly string[] = []): Promise<WorkspaceState> {
  const entries: StateEntry[] = [];
  const kept = new Map<string, Buffer>();
  let totalBytes = 0;

  const walk = async (folder: Folder, prefix: Buffer | undefined, depth: number): Promise<void> => {
    for await (const name of folder.names()) {
      if (entries.length >= STATE_LIMITS.entries) {
        throw new StateProblem(`it holds more than ${STATE_LIMITS.entries} entries`);
      }
      const raw = prefix ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
      const path = displayName(raw);
      let info: Stats;
      try {
        info = await lstat(folder.child(name));
      } catch (error) {
        throw new StateProblem(`${quoteUntrusted(path)} vanished while it was read (${systemErrorCode(error)})`);
      }
      const type = entryType(info);
      const base = { raw, path, type, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, nlink: info.nlink, size: info.size };
      if (type === 'dir') {
        if (depth + 1 > STATE_LIMITS.depth) throw new StateProblem(`it is more than ${STATE_LIMITS.depth} folders deep`);
        let child: Folder;
        try {
          child = await folder.openFolder(name);
        } catch (error) {
          if (systemErrorCode(error) === 'EACCES' && isVolumeLostFound(depth, name, info)) {
            entries.push({ ...base, unreadable: true });
            continue;
          }
          throw new StateProblem(`the folder ${quoteUntrusted(path)} cannot be opened (${systemErrorCode(error)})`);
        }
        try {
          const opened = await child.stat();
          if (opened.ino !== info.ino || opened.dev !== info.dev) throw new StateProblem(`${quoteUntrusted(path)} was replaced while it was read`);
          entries.push(base);
          await walk(child, raw, depth + 1);
        } finally {
          await child.close();
        }
      } else if (type === 'file') {
        if (info.size > STATE_LIMITS.fileBytes) throw new StateProblem(`${quoteUntrusted(path)} is ${info.size} bytes; inject-credentials never writes a file over ${STATE_LIMITS.fileBytes}`);
        const { sha256, bytes } = await hashFile(folder, name, path, info, keep.includes(path));
        totalBytes += info.size;
        if (totalBytes > STATE_LIMITS.totalBytes) throw new StateProblem(`it holds more than ${STATE_LIMITS.totalBytes} bytes`);
        if (bytes) kept.set(path, bytes);
        entries.push({ ...base, sha256 });
      } else if (type === 'symlink') {
        let target: Buffer;
        try {
          target = await readlink(folder.child(name), { encoding: 'buffer' });
        } catch (error) {
          throw new StateProblem(`the link ${quoteUntrusted(path)} cannot be read (${systemErrorCode(error)})`);
        }
        entries.push({ ...base, target: target.toString('hex') });
      } else {
        // FIFOs, sockets and devices are never opened: opening one can block or act.
        entries.push(base);
      }
    }
  };
  await walk(root, undefined, 0);
  entries.sort((a, b) => Buffer.compare(a.raw, b.raw));
  return { entries, kept };
}

async function hashFile(folder: Folder, name: Buffer, path: string, info: Stats, keep: boolean): Promise<{ sha256: string; bytes?: Buffer }> {
  let handle;
  try {
    handle = await folder.openForReading(name);
  } catch (error) {
    throw new StateProblem(`${quoteUntrusted(path)} cannot be read (${systemErrorCode(error)})`);
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) throw new StateProblem(`${quoteUntrusted(path)} was replaced while it was read`);
    const { bytes, tooLarge } = await readBounded(handle, STATE_LIMITS.fileBytes);
    if (tooLarge || bytes.length !== opened.size) throw new StateProblem(`${quoteUntrusted(path)} changed while it was read`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return keep ? { sha256, bytes } : { sha256 };
  } finally {
    await handle.close();
  }
}

const DIGEST_HEADER = 'inject-credentials workspace state v1\n';

/** One line per entry; folders leave out size and link count, which depend on the file system, not on what is in them. */
export function stateLine(entry: StateEntry): string {
  const isDir = entry.type === 'dir';
  const detail = entry.sha256 ?? entry.target ?? (entry.unreadable ? 'unreadable' : '-');
  return [
    entry.raw.toString('hex'),
    entry.type,
    entry.mode.toString(8),
    entry.uid,
    entry.gid,
    isDir ? '-' : entry.nlink,
    isDir ? '-' : entry.size,
    detail,
  ].join(' ');
}

/** sha256:<hex> of the state's canonical lines. */
export function stateDigest(entries: readonly StateEntry[]): string {
  const hash = createHash('sha256').update(DIGEST_HEADER);
  for (const entry of [...entries].sort((a, b) => Buffer.compare(a.raw, b.raw))) hash.update(`${stateLine(entry)}\n`);
  return `sha256:${hash.digest('hex')}`;
}

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;
