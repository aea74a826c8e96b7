import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { InspectorPool, defaultThreads, type InspectionSlot } from './inspector.ts';
import { loadDetectors } from './detectors.ts';
import type { CredentialHit } from './detectors.ts';
import { ROOT_PATH, decodeName, joinRelative } from './paths.ts';
import { XattrReader, type Xattr, type XattrSlot } from './xattrs.ts';

export type EntryType = 'dir' | 'file' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** Something that kept an entry from being recorded faithfully. Never a crash. */
export interface WalkProblem {
  kind: 'vanished' | 'changed' | 'unreadable';
  detail: string;
}

export interface WalkEntry {
  path: string;
  /** Folders above the entry: 0 for the root, 1 for its children. */
  depth: number;
  /** The entry's own name ("." for the root). */
  name: string;
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
  /**
   * Extended attributes, sorted by name (security.selinux left out).
   * Undefined when they could not be read: then this entry or an earlier
   * one carries `xattrProblem`, or its name already is a finding.
   */
  xattrs?: Xattr[];
  /** Why extended attributes could not be read (a finding). */
  xattrProblem?: string;
  /** With `mtimes`: files and symlinks, nanoseconds since the epoch as a decimal string. */
  mtime?: string;
  /** False when the name's bytes are not valid UTF-8 (the path is then a lossy display). */
  exactName: boolean;
  problem?: WalkProblem;
}

export interface WalkOptions {
  /** Worker threads for hashing; 0 hashes on the calling thread. */
  threads?: number;
  /**
   * Entries neither yielded nor descended into: only the manifest the guard
   * is writing, recognised by path and inode after the lstat. Asked only for
   * entries at most `skipDepth` deep, so a deep tree never has its long
   * paths read.
   */
  skip?: (path: string, identity: { dev: number; ino: number }) => boolean;
  skipDepth?: number;
  /** Record nanosecond mtimes of files and symlinks (strict mode). */
  mtimes?: boolean;
  /** The getfattr binary that reads extended attributes. */
  xattrTool?: string;
  /** Test seam: runs after an entry's lstat and before a file or folder is opened. */
  beforeOpen?: (path: string) => void;
}

/**
 * Entries waiting for their hash or their extended attributes; bounds memory
 * and open descriptors. It also bounds a getfattr batch (an entry at the head
 * of the window sends its batch). 4096 would save a quarter of the getfattr
 * processes, 2-4% of a seal's CPU time, for about 80 MiB more peak memory
 * (BENCHMARKS.md): not worth a third of the headroom under the Task's 512Mi
 * limit, which a step that OOMs turns into a failed run.
 */
const WINDOW = 1024;
/** Entries handed to the consumer at once. */
const OUT_BATCH = 256;
/** Folder descriptors kept open on the way down; deeper ones are reopened through "..". */
const FOLDER_FD_BUDGET = 128;
const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * An open folder descriptor shared by the walk and the files queued for
 * inspection below it: a worker opens "/proc/self/fd/N/name", so N stays
 * open until the walk has left the folder and every such file is done.
 */
class FolderHandle {
  readonly fd: number;
  private holders = 1;

  constructor(fd: number) {
    this.fd = fd;
  }

  hold(): FolderHandle {
    this.holders++;
    return this;
  }

  release(): void {
    if (--this.holders === 0) closeQuietly(this.fd);
  }
}

interface Frame {
  path: string;
  depth: number;
  name: string;
  /** Undefined when closed for the descriptor budget, or without /proc. */
  handle: FolderHandle | undefined;
  /** Prefix for children: "/proc/self/fd/N/" or the folder's absolute path plus "/" (bytes if not UTF-8). */
  base: string | Buffer;
  /** Raw names, sorted bytewise (= code point order for UTF-8). */
  names: Buffer[];
  index: number;
  dev: number;
  ino: number;
}

interface Produced {
  entry: WalkEntry;
  inspection?: InspectionSlot;
  xattrs?: XattrSlot | undefined;
  /** The folder the inspected file is opened through; released once settled. */
  folder?: FolderHandle | undefined;
}

/**
 * Walks a workspace without following a single symlink.
 *
 * - Iterative depth-first, each folder's names sorted: output is in the
 *   manifest's preorder, and 20,000 nested folders cost a stack array, not
 *   the call stack. Each entry carries its depth and name; nothing here
 *   reads a full path.
 * - Every lookup is relative to an open folder descriptor through
 *   /proc/self/fd (openat without a native addon), so path length never
 *   limits depth and a folder swapped for a symlink mid-walk is refused
 *   (O_NOFOLLOW) instead of followed. Without /proc it falls back to full
 *   paths.
 * - Per file the walking thread does one lstat. Opening, reading, hashing,
 *   scanning and the closing fstat run on the inspector pool's threads,
 *   which check that the file they opened is the one lstat saw.
 * - Extended attributes of every entry are read by getfattr in batches,
 *   through the same folder descriptors (see xattrs.ts); an entry leaves
 *   the window only once its batch is back.
 * - Memory: the largest single folder listing, the folder stack, and a
 *   window of files being hashed. Entries stream out; the tree is never held.
 */
export class WorkspaceWalker {
  readonly root: string;
  /** Problems that belong to no single entry (a folder moved while walked). */
  readonly problems: { path: string; problem: WalkProblem }[] = [];
  private readonly options: WalkOptions;
  private readonly useFds: boolean;
  /** "/proc/<pid>/fd/": a tenth cheaper to resolve than "/proc/self/fd/", once known to be this process. */
  private readonly fdDir: string;

  constructor(root: string, options: WalkOptions = {}) {
    this.root = resolve(root);
    this.options = options;
    this.useFds = existsSync('/proc/self/fd');
    this.fdDir = ownFdDir();
  }

  async *entries(): AsyncGenerator<WalkEntry> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * Entries in walk order, in arrays: the consumer loops synchronously
   * instead of paying an async hop per entry. A batch is handed out before
   * waiting on a worker, so the consumer's work overlaps the hashing.
   */
  async *batches(): AsyncGenerator<WalkEntry[]> {
    await loadDetectors();
    const xattrs = new XattrReader(this.options.xattrTool, this.useFds);
    const pool = new InspectorPool(this.options.threads ?? defaultThreads());
    const window: Produced[] = [];
    let head = 0;
    let out: WalkEntry[] = [];
    const tree = this.walkTree(pool, xattrs);
    try {
      let walking = true;
      while (walking || head < window.length) {
        if (walking) {
          const next = tree.next();
          if (next.done) {
            walking = false;
            pool.drain();
            xattrs.flush();
          } else {
            window.push(next.value);
          }
          if (walking && window.length - head < WINDOW) continue;
        }
        const produced = window[head]!;
        const hashing = produced.inspection && !produced.inspection.result;
        const reading = produced.xattrs && !produced.xattrs.done;
        if (hashing || reading) {
          if (out.length > 0) {
            yield out;
            out = [];
          }
          if (hashing) await pool.settle(produced.inspection!);
          if (reading) await xattrs.settle(produced.xattrs!);
        }
        window[head++] = undefined as unknown as Produced;
        out.push(finish(produced));
        if (out.length >= OUT_BATCH) {
          yield out;
          out = [];
        }
        if (head > 4096) {
          window.splice(0, head);
          head = 0;
        }
      }
      if (out.length > 0) yield out;
    } finally {
      tree.return(undefined);
      // Every file handed out is opened and closed by the pool before it
      // stops; only then may the folders they are opened through close.
      await pool.close();
      // The same for the folders getfattr looks into.
      await xattrs.close();
      for (let i = head; i < window.length; i++) window[i]?.folder?.release();
    }
  }

  private *walkTree(pool: InspectorPool, xattrs: XattrReader): Generator<Produced> {
    const bigint = this.options.mtimes === true;
    const rootStat = lstatSync(this.root, { throwIfNoEntry: false, bigint });
    if (!rootStat || !rootStat.isDirectory()) {
      throw new CatalogError('USAGE_TARGET_NOT_DIRECTORY', `workspace ${quoteUntrusted(this.root, 200)} is not a directory`, {
        hint: 'pass the workspace path ($(workspaces.<name>.path)) as the target; a symlink is not accepted',
      });
    }
    const stack: Frame[] = [];
    try {
      const rootEntry = toEntry(ROOT_PATH, 0, ROOT_PATH, rootStat, true);
      const rootFrame = this.openFolder(rootEntry, this.root, rootStat);
      yield { entry: rootEntry, xattrs: rootFrame && xattrs.submit(rootFrame.handle, '.', `${this.root}/.`) };
      if (!rootFrame) return;
      stack.push(rootFrame);
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        if (frame.index >= frame.names.length) {
          this.pop(stack);
          continue;
        }
        const raw = frame.names[frame.index++]!;
        const { name, exact } = decodeName(raw);
        const path = joinRelative(frame.path, name);
        const depth = frame.depth + 1;
        // A string path is cheaper for fs calls; raw bytes only when the name is not UTF-8.
        const location = exact && typeof frame.base === 'string' ? frame.base + name : Buffer.concat([Buffer.from(frame.base), raw]);
        let stat: Stats | BigIntStats | undefined;
        try {
          stat = lstatSync(location, { throwIfNoEntry: false, bigint });
        } catch (error) {
          yield { entry: problemEntry(path, depth, name, exact, 'unreadable', errorCode(error)) };
          continue;
        }
        if (!stat) {
          yield { entry: problemEntry(path, depth, name, exact, 'vanished', 'vanished before it could be examined') };
          continue;
        }
        const entry = toEntry(path, depth, name, stat, exact);
        if (this.options.skip && depth <= (this.options.skipDepth ?? Infinity) && this.options.skip(path, entry)) continue;
        // Names that are not UTF-8 cannot be passed to getfattr; they are findings already.
        const attributes = exact ? xattrs.submit(frame.handle, name, location) : undefined;
        if (entry.type === 'file') {
          this.options.beforeOpen?.(path);
          const hint = depth > 1 ? `${frame.name}/${name}` : name;
          const folder = frame.handle?.hold();
          const inspection = pool.submit({
            location,
            hint,
            dev: entry.dev,
            ino: entry.ino,
            size: entry.size,
            mtimeMs: milliseconds(stat, 'mtime'),
            ctimeMs: milliseconds(stat, 'ctime'),
          });
          yield { entry, inspection, folder, xattrs: attributes };
        } else if (entry.type === 'symlink') {
          try {
            entry.target = decodeName(readlinkSync(location, { encoding: 'buffer' })).name;
          } catch (error) {
            entry.problem = errorProblem(errorCode(error));
          }
          yield { entry, xattrs: attributes };
        } else if (entry.type === 'dir') {
          this.options.beforeOpen?.(path);
          const child = this.openFolder(entry, location, stat);
          yield { entry, xattrs: attributes };
          if (child) {
            stack.push(child);
            this.enforceFdBudget(stack);
          }
        } else {
          yield { entry, xattrs: attributes };
        }
      }
    } finally {
      for (const frame of stack) frame.handle?.release();
    }
  }

  /** Opens and lists a folder; on failure records the problem on its entry and returns undefined. */
  private openFolder(entry: WalkEntry, location: string | Buffer, stat: Stats | BigIntStats): Frame | undefined {
    let fd: number | undefined;
    try {
      let base: string | Buffer;
      let listing: Buffer[];
      if (this.useFds) {
        fd = openSync(location, O_DIR);
        const opened = fstatSync(fd);
        if (opened.dev !== entry.dev || opened.ino !== entry.ino) {
          closeQuietly(fd);
          entry.problem = { kind: 'changed', detail: 'was replaced while being walked' };
          return undefined;
        }
        base = `${this.fdDir}${fd}/`;
        listing = readdirSync(`${this.fdDir}${fd}`, { encoding: 'buffer' });
      } else {
        base = typeof location === 'string' ? `${location}/` : Buffer.concat([location, Buffer.from('/')]);
        listing = readdirSync(location, { encoding: 'buffer' });
      }
      listing.sort(Buffer.compare);
      const handle = fd === undefined ? undefined : new FolderHandle(fd);
      return { path: entry.path, depth: entry.depth, name: entry.name, handle, base, names: listing, index: 0, dev: entry.dev, ino: entry.ino };
    } catch (error) {
      if (fd !== undefined) closeQuietly(fd);
      entry.problem = errorProblem(errorCode(error));
      return undefined;
    }
  }

  private pop(stack: Frame[]): void {
    const done = stack.pop()!;
    const parent = stack[stack.length - 1];
    if (parent && !parent.handle && this.useFds && done.handle) {
      try {
        const fd = openSync(`${this.fdDir}${done.handle.fd}/..`, O_DIR);
        const opened = fstatSync(fd);
        if (opened.dev !== parent.dev || opened.ino !== parent.ino) {
          closeQuietly(fd);
          throw Object.assign(new Error('moved'), { code: 'EMOVED' });
        }
        parent.handle = new FolderHandle(fd);
        parent.base = `${this.fdDir}${fd}/`;
      } catch {
        // The folder moved while we were below it: stop walking it, say so.
        this.problems.push({ path: parent.path, problem: { kind: 'changed', detail: 'was moved while being walked; the rest of it was not examined' } });
        parent.names = [];
        parent.index = 0;
      }
    }
    done.handle?.release();
  }

  private enforceFdBudget(stack: Frame[]): void {
    if (!this.useFds) return;
    const victim = stack[stack.length - 1 - FOLDER_FD_BUDGET];
    if (victim?.handle) {
      victim.handle.release();
      victim.handle = undefined;
    }
  }
}

/** Merges a settled inspection into its entry and lets go of the folder it was opened through. */
function finish(produced: Produced): WalkEntry {
  const entry = produced.entry;
  produced.folder?.release();
  produced.folder = undefined;
  const attributes = produced.xattrs;
  if (attributes) {
    if (attributes.xattrs) entry.xattrs = attributes.xattrs;
    if (attributes.problem) entry.xattrProblem = attributes.problem;
    // Gone by the time getfattr looked: one finding, whichever part of the walk noticed first.
    if (attributes.vanished) entry.problem ??= { kind: 'vanished', detail: 'vanished while its extended attributes were read' };
  }
  const result = produced.inspection?.result;
  if (!result) return entry;
  if (result.sha256) entry.sha256 = result.sha256;
  if (result.credentials.length > 0) entry.credentials = result.credentials;
  if (result.openError) entry.problem = errorProblem(result.openError);
  else if (result.changed) entry.problem = { kind: 'changed', detail: result.changed };
  else if (result.error) entry.problem = { kind: result.error === 'ENOENT' ? 'vanished' : 'unreadable', detail: result.error };
  return entry;
}

/**
 * "/proc/<pid>/fd/" when that names this very process: a /proc mounted from
 * another pid namespace would show someone else there, so the pid must be
 * what /proc/self points at.
 */
function ownFdDir(): string {
  try {
    if (readlinkSync('/proc/self') === String(process.pid)) return `/proc/${process.pid}/fd/`;
  } catch {
    // No /proc/self link: keep the generic form.
  }
  return '/proc/self/fd/';
}

export function entryType(stat: Stats | BigIntStats): EntryType {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'char-device';
  if (stat.isBlockDevice()) return 'block-device';
  return 'unknown';
}

/** Plain or bigint stats (strict mode) become the same numbers; a bigint stat also gives the exact mtime. */
function toEntry(path: string, depth: number, name: string, stat: Stats | BigIntStats, exactName: boolean): WalkEntry {
  const entry: WalkEntry = {
    path,
    depth,
    name,
    type: entryType(stat),
    mode: Number(stat.mode) & 0o7777,
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    size: Number(stat.size),
    nlink: Number(stat.nlink),
    dev: Number(stat.dev),
    ino: Number(stat.ino),
    exactName,
  };
  const exact = (stat as Partial<BigIntStats>).mtimeNs;
  if (exact !== undefined && (entry.type === 'file' || entry.type === 'symlink')) entry.mtime = exact.toString();
  return entry;
}

const NS_PER_S = 1_000_000_000n;

/**
 * A time in milliseconds exactly as node's plain stats compute it
 * (seconds * 1e3 + nanoseconds / 1e6, in doubles), so a bigint lstat and a
 * plain fstat of an unchanged file agree to the last bit.
 */
export function milliseconds(stat: Stats | BigIntStats, which: 'mtime' | 'ctime'): number {
  if ((stat as Partial<BigIntStats>).mtimeNs === undefined) return (stat as Stats)[`${which}Ms`];
  const ns = (stat as BigIntStats)[`${which}Ns`];
  let seconds = ns / NS_PER_S;
  let rest = ns % NS_PER_S;
  if (rest < 0n) {
    seconds -= 1n;
    rest += NS_PER_S;
  }
  return Number(seconds) * 1e3 + Number(rest) / 1e6;
}

function problemEntry(path: string, depth: number, name: string, exactName: boolean, kind: WalkProblem['kind'], detail: string): WalkEntry {
  return { path, depth, name, type: 'unknown', mode: 0, uid: -1, gid: -1, size: 0, nlink: 0, dev: 0, ino: 0, exactName, problem: { kind, detail } };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'EIO';
}

function errorProblem(code: string): WalkProblem {
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
