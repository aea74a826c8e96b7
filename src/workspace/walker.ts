import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { InspectorPool, defaultThreads, type Inspection } from './inspector.ts';
import type { CredentialHit } from './detectors.ts';
import { ROOT_PATH, compareNames, decodeName, joinRelative } from './paths.ts';

export type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** Something that kept an entry from being recorded faithfully. Never a crash. */
export interface WalkProblem {
  kind: 'vanished' | 'changed' | 'unreadable';
  detail: string;
}

export interface WalkEntry {
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  dev: number;
  ino: number;
  /** Symlinks: the target as stored (never followed). */
  target?: string;
  /** Regular files: hex sha256 of the content. */
  sha256?: string;
  credentials?: CredentialHit[];
  /** False when the name's bytes are not valid UTF-8 (the path is then a lossy display). */
  exactName: boolean;
  problem?: WalkProblem;
}

export interface WalkOptions {
  /** Worker threads for hashing; 0 hashes on the calling thread. */
  threads?: number;
  /** Paths (workspace-relative) neither recorded nor descended into, e.g. the manifest being written. */
  skip?: (path: string) => boolean;
  /** Test seam: runs after a file's lstat and before it is opened. */
  beforeOpen?: (path: string) => void;
}

/** Entries waiting for their hash; bounds memory and open descriptors. */
const WINDOW = 512;
/** Folder descriptors kept open on the way down; deeper ones are reopened through "..". */
const FOLDER_FD_BUDGET = 128;
const CLOSED = -1;
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const O_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

interface Frame {
  path: string;
  fd: number;
  /** Prefix for children: "/proc/self/fd/N/" or the folder's absolute path plus "/". */
  base: Buffer;
  names: { raw: Buffer; name: string; exact: boolean }[];
  index: number;
  dev: number;
  ino: number;
}

interface Produced {
  entry: WalkEntry;
  inspection?: Promise<Inspection>;
}

/**
 * Walks a workspace without following a single symlink.
 *
 * - Iterative depth-first, each folder's names sorted: output is in the
 *   manifest's order, and 20,000 nested folders cost a stack array, not the
 *   call stack.
 * - Every lookup is relative to an open folder descriptor through
 *   /proc/self/fd (openat without a native addon), so path length never
 *   limits depth and a folder swapped for a symlink mid-walk is refused
 *   (O_NOFOLLOW) instead of followed. Without /proc it falls back to full
 *   paths.
 * - Memory: the largest single folder listing, the folder stack, and a
 *   window of files being hashed. Entries stream out; the tree is never held.
 */
export class WorkspaceWalker {
  readonly root: string;
  /** Problems that belong to no single entry (a folder moved while walked). */
  readonly problems: { path: string; problem: WalkProblem }[] = [];
  private readonly options: WalkOptions;
  private readonly useFds: boolean;

  constructor(root: string, options: WalkOptions = {}) {
    this.root = resolve(root);
    this.options = options;
    this.useFds = existsSync('/proc/self/fd');
  }

  async *entries(): AsyncGenerator<WalkEntry> {
    const pool = new InspectorPool(this.options.threads ?? defaultThreads());
    const window: Produced[] = [];
    let head = 0;
    const tree = this.walkTree(pool);
    try {
      for (const produced of tree) {
        window.push(produced);
        if (window.length - head >= WINDOW) {
          pool.flush();
          yield await settle(window[head]!);
          window[head++] = undefined as unknown as Produced;
          if (head > 4096) {
            window.splice(0, head);
            head = 0;
          }
        }
      }
      pool.flush();
      while (head < window.length) yield await settle(window[head++]!);
    } finally {
      tree.return(undefined);
      // Drain what was submitted so every descriptor handed out is closed.
      pool.flush();
      await Promise.allSettled(window.slice(head).map((p) => p?.inspection));
      await pool.close();
    }
  }

  private *walkTree(pool: InspectorPool): Generator<Produced> {
    const rootStat = lstatSync(this.root, { throwIfNoEntry: false });
    if (!rootStat || !rootStat.isDirectory()) {
      throw new CatalogError('USAGE_TARGET_NOT_DIRECTORY', `workspace ${quoteUntrusted(this.root, 200)} is not a directory`, {
        hint: 'pass the workspace path ($(workspaces.<name>.path)) as the target; a symlink is not accepted',
      });
    }
    const stack: Frame[] = [];
    try {
      const rootEntry = toEntry(ROOT_PATH, rootStat, true);
      const rootFrame = this.openFolder(ROOT_PATH, Buffer.from(this.root), rootStat, rootEntry);
      yield { entry: rootEntry };
      if (!rootFrame) return;
      stack.push(rootFrame);
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        if (frame.index >= frame.names.length) {
          this.pop(stack);
          continue;
        }
        const { raw, name, exact } = frame.names[frame.index++]!;
        const path = joinRelative(frame.path, name);
        if (this.options.skip?.(path)) continue;
        const location = Buffer.concat([frame.base, raw]);
        let stat: Stats | undefined;
        try {
          stat = lstatSync(location, { throwIfNoEntry: false });
        } catch (error) {
          yield { entry: problemEntry(path, exact, 'unreadable', errorCode(error)) };
          continue;
        }
        if (!stat) {
          yield { entry: problemEntry(path, exact, 'vanished', 'vanished before it could be examined') };
          continue;
        }
        const entry = toEntry(path, stat, exact);
        if (entry.type === 'file') {
          yield this.openFile(pool, entry, location);
        } else if (entry.type === 'symlink') {
          try {
            entry.target = decodeName(readlinkSync(location, { encoding: 'buffer' })).name;
          } catch (error) {
            entry.problem = errorProblem(error);
          }
          yield { entry };
        } else if (entry.type === 'dir') {
          const child = this.openFolder(path, location, stat, entry);
          yield { entry };
          if (child) {
            stack.push(child);
            this.enforceFdBudget(stack);
          }
        } else {
          yield { entry };
        }
      }
    } finally {
      for (const frame of stack) if (frame.fd !== CLOSED) closeQuietly(frame.fd);
    }
  }

  private openFile(pool: InspectorPool, entry: WalkEntry, location: Buffer): Produced {
    this.options.beforeOpen?.(entry.path);
    let fd: number;
    try {
      fd = openSync(location, O_FILE);
    } catch (error) {
      entry.problem = errorProblem(error);
      return { entry };
    }
    const inspection = pool.submit({ fd, path: entry.path, dev: entry.dev, ino: entry.ino, size: entry.size, ...timesOf(entry) });
    return { entry, inspection };
  }

  /** Opens and lists a folder; on failure records the problem on its entry and returns undefined. */
  private openFolder(path: string, location: Buffer, stat: Stats, entry: WalkEntry): Frame | undefined {
    let fd = CLOSED;
    try {
      let base: Buffer;
      let listing: Buffer[];
      if (this.useFds) {
        fd = openSync(location, O_DIR);
        const opened = fstatSync(fd);
        if (opened.dev !== stat.dev || opened.ino !== stat.ino) {
          closeQuietly(fd);
          entry.problem = { kind: 'changed', detail: 'was replaced while being walked' };
          return undefined;
        }
        base = Buffer.from(`/proc/self/fd/${fd}/`);
        listing = readdirSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' });
      } else {
        base = Buffer.concat([location, Buffer.from('/')]);
        listing = readdirSync(location, { encoding: 'buffer' });
      }
      const names = listing.map((raw) => ({ raw, ...decodeName(raw) })).sort((a, b) => compareNames(a.name, b.name));
      return { path, fd, base, names, index: 0, dev: stat.dev, ino: stat.ino };
    } catch (error) {
      if (fd !== CLOSED) closeQuietly(fd);
      entry.problem = errorProblem(error);
      return undefined;
    }
  }

  private pop(stack: Frame[]): void {
    const done = stack.pop()!;
    const parent = stack[stack.length - 1];
    if (parent && parent.fd === CLOSED && this.useFds) {
      try {
        const fd = openSync(`/proc/self/fd/${done.fd}/..`, O_DIR);
        const opened = fstatSync(fd);
        if (opened.dev !== parent.dev || opened.ino !== parent.ino) {
          closeQuietly(fd);
          throw Object.assign(new Error('moved'), { code: 'EMOVED' });
        }
        parent.fd = fd;
        parent.base = Buffer.from(`/proc/self/fd/${fd}/`);
      } catch {
        // The folder moved while we were below it: stop walking it, say so.
        this.problems.push({ path: parent.path, problem: { kind: 'changed', detail: 'was moved while being walked; the rest of it was not examined' } });
        parent.names = [];
        parent.index = 0;
      }
    }
    if (done.fd !== CLOSED) closeQuietly(done.fd);
  }

  private enforceFdBudget(stack: Frame[]): void {
    if (!this.useFds) return;
    const victim = stack[stack.length - 1 - FOLDER_FD_BUDGET];
    if (victim && victim.fd !== CLOSED) {
      closeQuietly(victim.fd);
      victim.fd = CLOSED;
    }
  }
}

async function settle(produced: Produced): Promise<WalkEntry> {
  if (!produced.inspection) return produced.entry;
  const result = await produced.inspection;
  const entry = produced.entry;
  if (result.sha256) entry.sha256 = result.sha256;
  if (result.credentials.length > 0) entry.credentials = result.credentials;
  if (result.changed) entry.problem = { kind: 'changed', detail: result.changed };
  else if (result.error) entry.problem = { kind: result.error === 'ENOENT' ? 'vanished' : 'unreadable', detail: result.error };
  return entry;
}

export function entryType(stat: Stats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'char-device';
  if (stat.isBlockDevice()) return 'block-device';
  return 'unknown';
}

const times = new WeakMap<WalkEntry, { mtimeMs: number; ctimeMs: number }>();
function timesOf(entry: WalkEntry): { mtimeMs: number; ctimeMs: number } {
  return times.get(entry) ?? { mtimeMs: 0, ctimeMs: 0 };
}

function toEntry(path: string, stat: Stats, exactName: boolean): WalkEntry {
  const entry: WalkEntry = {
    path,
    type: entryType(stat),
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
    nlink: stat.nlink,
    dev: stat.dev,
    ino: stat.ino,
    exactName,
  };
  times.set(entry, { mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs });
  return entry;
}

function problemEntry(path: string, exactName: boolean, kind: WalkProblem['kind'], detail: string): WalkEntry {
  return { path, type: 'unknown', mode: 0, uid: -1, gid: -1, size: 0, nlink: 0, dev: 0, ino: 0, exactName, problem: { kind, detail } };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

function errorProblem(error: unknown): WalkProblem {
  const code = errorCode(error);
  if (code === 'ENOENT') return { kind: 'vanished', detail: 'vanished while being examined' };
  if (code === 'EACCES' || code === 'EPERM') return { kind: 'unreadable', detail: `cannot be read (${code})` };
  // ELOOP, ENOTDIR, ENXIO, EINVAL: the name now refers to something of another type.
  return { kind: 'changed', detail: `changed type while being examined (${code})` };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to release.
  }
}
