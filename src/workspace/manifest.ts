import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { PreorderPaths, PreorderValidator } from './preorder.ts';
import { compareNames } from './paths.ts';
import type { EntryType, WalkEntry } from './walker.ts';

/**
 * The manifest: NDJSON, one header line then one line per entry in the
 * walk's preorder (see preorder.ts). An entry is written as its depth and
 * its own name, not its full path: the path is the names of the folders
 * above it, which precede it in the file. That keeps every line short at any
 * depth (v1 repeated the full path on each line: a 20,000-level chain made a
 * manifest of hundreds of megabytes) and makes the order check O(1).
 * Keys are written in a fixed order, names and symlink targets are JSON
 * strings (so newlines and controls are escaped), and the manifest digest is
 * sha256 over the exact bytes. Two seals of the same tree give
 * byte-identical manifests, and one tree has exactly one manifest: the
 * reader refuses any line that is not exactly what the writer would write.
 *
 * v3 adds each entry's extended attributes (name and sha256 of the value,
 * sorted by name) and, when sealed in strict mode, the mtime of files and
 * symlinks in nanoseconds; the header says whether mtimes were recorded.
 */
export const MANIFEST_FORMAT = 'tekton-workspace-guard/manifest/v3';
const OLDER_FORMATS = new Set(['tekton-workspace-guard/manifest/v1', 'tekton-workspace-guard/manifest/v2']);

export interface ManifestHeader {
  format: typeof MANIFEST_FORMAT;
  /** The PipelineRun that sealed the workspace. */
  runUid: string;
  /** Strict mode: files and symlinks carry their mtime. */
  mtimes: boolean;
}

/** An extended attribute as recorded: [name, hex sha256 of the value]. */
export type ManifestXattr = [name: string, sha256: string];

export interface ManifestEntry {
  /** Folders above the entry: 0 for the workspace root, 1 for its children. */
  depth: number;
  /** The entry's own name ("." for the root). */
  name: string;
  /** Workspace-relative path, rebuilt from the names above; not written. */
  path: string;
  type: EntryType;
  /** Octal permission bits, e.g. "0644" or "4755". */
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** Nanoseconds since the epoch, decimal (strict mode; files and symlinks). */
  mtime?: string;
  /** Sorted by name; absent when there are none. */
  xattrs?: ManifestXattr[];
}

export function toManifestEntry(entry: WalkEntry): ManifestEntry {
  const out: ManifestEntry = {
    depth: entry.depth,
    name: entry.name,
    path: entry.path,
    type: entry.type,
    mode: formatMode(entry.mode),
    uid: entry.uid,
    gid: entry.gid,
  };
  if (entry.type === 'file') {
    out.size = entry.size;
    if (entry.sha256) out.sha256 = entry.sha256;
  }
  if (entry.type === 'symlink' && entry.target !== undefined) out.target = entry.target;
  if (entry.mtime !== undefined) out.mtime = entry.mtime;
  if (entry.xattrs && entry.xattrs.length > 0) out.xattrs = entry.xattrs.map((x) => [x.name, x.sha256]);
  return out;
}

export function headerLine(header: ManifestHeader): string {
  return `${JSON.stringify({ format: header.format, runUid: header.runUid, mtimes: header.mtimes })}\n`;
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * One canonical line: fixed key order, no optional key unless set. Written
 * as a template (a hot path: one per entry); byte-identical to
 * JSON.stringify of the same object, because only the name and the target
 * can hold arbitrary text and those go through JSON.stringify.
 */
export function manifestLine(entry: ManifestEntry): string {
  let line = `{"depth":${entry.depth},"name":${JSON.stringify(entry.name)},"type":"${entry.type}","mode":"${entry.mode}","uid":${entry.uid},"gid":${entry.gid}`;
  if (entry.size !== undefined) line += `,"size":${entry.size}`;
  if (entry.sha256 !== undefined) line += `,"sha256":"${entry.sha256}"`;
  if (entry.target !== undefined) line += `,"target":${JSON.stringify(entry.target)}`;
  if (entry.mtime !== undefined) line += `,"mtime":"${entry.mtime}"`;
  if (entry.xattrs !== undefined) line += `,"xattrs":[${entry.xattrs.map(([name, sha256]) => `[${JSON.stringify(name)},"${sha256}"]`).join(',')}]`;
  return `${line}}\n`;
}

const FLUSH_BYTES = 256 * 1024;

/**
 * Streams a manifest to `<path>.tmp-…` and renames it into place on
 * `commit`, so a reader never sees half a manifest. The temp file is opened
 * O_EXCL|O_NOFOLLOW: a planted symlink cannot redirect the write.
 */
export class ManifestWriter {
  readonly path: string;
  readonly tempPath: string;
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private buffer = '';
  private readonly order = new PreorderValidator();
  private done = false;
  entries = 0;

  constructor(path: string, header: ManifestHeader) {
    this.path = path;
    this.tempPath = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    this.fd = openSync(this.tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    this.append(headerLine(header));
  }

  /** The temp file's inode: the walk recognises it by this, not by its name alone. */
  identity(): { dev: number; ino: number } {
    const stat = fstatSync(this.fd);
    return { dev: stat.dev, ino: stat.ino };
  }

  add(entry: ManifestEntry): void {
    // The walk sorts each folder; this O(1) check keeps a bug there from
    // producing a manifest that verify would then reject.
    const wrong = this.order.check(entry.depth, entry.name, entry.type === 'dir');
    if (wrong) throw new CatalogError('WORKSPACE_MANIFEST_ORDER', `manifest entry ${quoteUntrusted(entry.path)} ${wrong}`);
    this.entries++;
    this.append(manifestLine(entry));
  }

  /** Flushes, fsyncs, renames into place; returns the digest "sha256:…". */
  commit(): string {
    this.writeOut();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    renameSync(this.tempPath, this.path);
    return `sha256:${this.hash.digest('hex')}`;
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed.
    }
    rmSync(this.tempPath, { force: true });
  }

  private append(text: string): void {
    this.buffer += text;
    if (this.buffer.length >= FLUSH_BYTES) this.writeOut();
  }

  private writeOut(): void {
    if (this.buffer === '') return;
    const bytes = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    this.hash.update(bytes);
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
  }
}

/**
 * A line longer than this is refused. A line holds one name (at most 255
 * bytes on Linux) and one symlink target (at most 4095), each at most six
 * times longer once JSON-escaped.
 */
const MAX_LINE_BYTES = 64 * 1024;
const ENTRY_TYPES = new Set<EntryType>(['dir', 'file', 'symlink', 'fifo', 'socket', 'char-device', 'block-device', 'unknown']);

/**
 * Reads a manifest as a stream. The digest is computed over every byte and
 * checked against `expectedDigest` after the last line: until `entries()`
 * finishes without throwing, nothing read from it may be trusted.
 */
export class ManifestReader {
  readonly path: string;
  readonly expectedDigest: string;
  header: ManifestHeader | undefined;

  constructor(path: string, expectedDigest: string) {
    this.path = path;
    this.expectedDigest = expectedDigest;
  }

  /** Reads the whole file to check its digest, without parsing. */
  static digestOf(path: string): string {
    const fd = openManifest(path);
    const hash = createHash('sha256');
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, null);
        if (read === 0) break;
        hash.update(buffer.subarray(0, read));
      }
    } finally {
      closeSync(fd);
    }
    return `sha256:${hash.digest('hex')}`;
  }

  *entries(): Generator<ManifestEntry> {
    const fd = openManifest(this.path);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    let pending: Buffer = Buffer.alloc(0);
    let lineNumber = 0;
    const order = new PreorderValidator();
    const paths = new PreorderPaths();
    let malformed: CatalogError | undefined;
    try {
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, null);
        if (read === 0) break;
        const chunk = buffer.subarray(0, read);
        hash.update(chunk);
        if (malformed) continue;
        pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
        let start = 0;
        for (;;) {
          const newline = pending.indexOf(10, start);
          if (newline === -1) break;
          lineNumber++;
          const line = pending.toString('utf8', start, newline + 1);
          start = newline + 1;
          try {
            if (lineNumber === 1) {
              this.header = parseHeader(line);
              continue;
            }
            const entry = parseEntry(line, lineNumber, this.header!);
            const wrong = order.check(entry.depth, entry.name, entry.type === 'dir');
            if (wrong) throw malformedLine(lineNumber, wrong);
            entry.path = paths.next(entry.depth, entry.name);
            yield entry;
          } catch (error) {
            malformed = error instanceof CatalogError ? error : malformedLine(lineNumber, 'is not valid JSON');
            break;
          }
        }
        pending = pending.subarray(start);
        if (!malformed && pending.length > MAX_LINE_BYTES) malformed = malformedLine(lineNumber + 1, 'is too long');
      }
    } finally {
      closeSync(fd);
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== this.expectedDigest) {
      throw new CatalogError('WORKSPACE_MANIFEST_DIGEST_MISMATCH', `manifest ${quoteUntrusted(this.path, 200)} has digest ${actual}, expected ${this.expectedDigest}`, {
        hint: 'the manifest was changed after it was sealed, or the expected digest belongs to another seal',
      });
    }
    if (malformed) throw malformed;
    if (pending.length > 0) throw malformedLine(lineNumber + 1, 'does not end with a newline');
    if (!this.header) throw malformedLine(1, 'is missing (no header)');
  }
}

function openManifest(path: string): number {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
    }
    return fd;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new CatalogError('USAGE_MANIFEST_UNREADABLE', `cannot read manifest ${quoteUntrusted(path, 200)} (${code})`, {
      hint: 'pass the manifest path the seal step wrote; it must be a regular file, not a symlink',
    });
  }
}

function malformedLine(line: number, rule: string): CatalogError {
  return new CatalogError('WORKSPACE_MANIFEST_MALFORMED', `manifest line ${line} ${rule}`, {
    hint: 'verify needs the unmodified manifest written by seal',
  });
}

function parseHeader(line: string): ManifestHeader {
  const value = JSON.parse(line) as Partial<ManifestHeader>;
  if (typeof value?.format === 'string' && OLDER_FORMATS.has(value.format)) {
    throw new CatalogError('WORKSPACE_MANIFEST_MALFORMED', `manifest line 1 is an older ${quoteUntrusted(value.format)} header, which records no extended attributes`, {
      hint: 'seal the workspace again with this version of workspace-guard before verifying it',
    });
  }
  if (value?.format !== MANIFEST_FORMAT) throw malformedLine(1, `is not a ${MANIFEST_FORMAT} header`);
  if (typeof value.runUid !== 'string') throw malformedLine(1, 'has no runUid');
  if (typeof value.mtimes !== 'boolean') throw malformedLine(1, 'does not say whether mtimes were recorded');
  const header: ManifestHeader = { format: MANIFEST_FORMAT, runUid: value.runUid, mtimes: value.mtimes };
  if (headerLine(header) !== line) throw malformedLine(1, 'is not in canonical form');
  return header;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MTIME = /^-?(?:0|[1-9][0-9]{0,19})$/;
/** Linux limits an attribute name to 255 bytes. */
const MAX_XATTR_NAME_BYTES = 255;

function parseEntry(line: string, lineNumber: number, header: ManifestHeader): ManifestEntry {
  const value = JSON.parse(line) as Record<string, unknown>;
  const bad = (field: string) => malformedLine(lineNumber, `has an invalid ${field}`);
  if (typeof value !== 'object' || value === null) throw bad('entry');
  if (!Number.isSafeInteger(value.depth) || (value.depth as number) < 0) throw bad('depth');
  if (typeof value.name !== 'string' || !validName(value.name, value.depth === 0)) throw bad('name');
  if (typeof value.type !== 'string' || !ENTRY_TYPES.has(value.type as EntryType)) throw bad('type');
  if (typeof value.mode !== 'string' || !/^[0-7]{4}$/.test(value.mode)) throw bad('mode');
  if (!Number.isInteger(value.uid) || !Number.isInteger(value.gid)) throw bad('owner');
  const entry: ManifestEntry = {
    depth: value.depth as number,
    name: value.name,
    path: '',
    type: value.type as EntryType,
    mode: value.mode,
    uid: value.uid as number,
    gid: value.gid as number,
  };
  if (value.size !== undefined) {
    if (!Number.isSafeInteger(value.size) || (value.size as number) < 0) throw bad('size');
    entry.size = value.size as number;
  }
  if (value.sha256 !== undefined) {
    if (typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256)) throw bad('sha256');
    entry.sha256 = value.sha256;
  }
  if (value.target !== undefined) {
    if (typeof value.target !== 'string') throw bad('target');
    entry.target = value.target;
  }
  if (value.mtime !== undefined) {
    if (typeof value.mtime !== 'string' || !MTIME.test(value.mtime)) throw bad('mtime');
    entry.mtime = value.mtime;
  }
  if (value.xattrs !== undefined) entry.xattrs = parseXattrs(value.xattrs, bad);
  // Fields belong to types: a size on a folder or a target on a file is not a walk of any tree.
  const isFile = entry.type === 'file';
  if ((entry.size !== undefined) !== isFile || (entry.sha256 !== undefined && !isFile)) throw bad('size or sha256 for its type');
  if (entry.target !== undefined && entry.type !== 'symlink') throw bad('target for its type');
  const timed = header.mtimes && (isFile || entry.type === 'symlink');
  if ((entry.mtime !== undefined) !== timed) throw bad(header.mtimes ? 'mtime (strict mode records one for files and symlinks only)' : 'mtime (not sealed in strict mode)');
  if (manifestLine(entry) !== line) throw malformedLine(lineNumber, 'is not in canonical form');
  return entry;
}

function parseXattrs(value: unknown, bad: (field: string) => CatalogError): ManifestXattr[] {
  if (!Array.isArray(value) || value.length === 0) throw bad('xattrs');
  const out: ManifestXattr[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2) throw bad('xattrs');
    const [name, sha256] = item as unknown[];
    if (typeof name !== 'string' || name === '' || name.includes('\0') || Buffer.byteLength(name) > MAX_XATTR_NAME_BYTES) throw bad('xattr name');
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) throw bad('xattr digest');
    const previous = out[out.length - 1];
    if (previous && compareNames(previous[0], name) >= 0) throw bad('xattrs order (sorted by name, each once)');
    out.push([name, sha256]);
  }
  return out;
}

/** The root is "."; any other name is one non-empty path component. */
function validName(name: string, isRoot: boolean): boolean {
  if (isRoot) return name === '.';
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}
