import { hash as oneShotHash } from 'node:crypto';
import { accessSync, constants, readlinkSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { compareNames, decodeName } from './paths.ts';

/**
 * Extended attributes, read with Debian's getfattr: Node has no xattr API,
 * and a native addon would have to be built for every architecture. The
 * walker hands over every entry it yields; the names go to one getfattr
 * process per batch of entries, never one per file.
 *
 * Each entry is addressed as `/proc/self/fd/<n>/<name>`, where <n> is the
 * walker's own open descriptor of the entry's folder, passed to the child:
 * the lookup starts from the folder the walk listed, whatever its depth,
 * and `-h` keeps getfattr from following the entry itself when it is a
 * symlink. Without /proc (a chroot) the address is the full path.
 *
 * getfattr prints `# file: <path>`, one `<name>=0x<hex>` line per attribute
 * and a blank line, for entries that have attributes, with newlines, `\r`,
 * `=` (in names) and backslashes written as octal escapes. The output is
 * parsed as bytes, within bounds enforced as it arrives; anything that is
 * not exactly that grammar, a non-zero exit or a word on stderr fails the
 * batch: its entries are never recorded as having no attributes. The one
 * complaint understood is that an entry asked about no longer exists: that
 * entry vanished during the walk, which the walker reports as such.
 */
export const DEFAULT_GETFATTR = '/usr/bin/getfattr';

/** One attribute as the manifest records it: its name and the sha256 of its value. */
export interface Xattr {
  name: string;
  sha256: string;
  /** The raw value, kept only for attributes police must decode (NFSv4 ACLs). */
  value?: Buffer;
}

/** Left out everywhere: the platform relabels volumes per pod (see the Task README). */
export const IGNORED_XATTRS: ReadonlySet<string> = new Set(['security.selinux']);
/** Attributes whose value police reads, not just their name. */
const KEPT_VALUES: ReadonlySet<string> = new Set(['system.nfs4_acl']);

/** An attribute value is at most 64 KiB (XATTR_SIZE_MAX): its hex line is about twice that. */
export const MAX_LINE_BYTES = 2 * 65_536 + 4 * 255 + 64;
/** More than this on one entry is a finding, not a record. */
export const MAX_XATTRS_PER_ENTRY = 128;
/** Output of one batch; beyond it the child is killed and the batch fails. */
export const MAX_BATCH_OUTPUT_BYTES = 64 * 1024 * 1024;
/** stderr is read this far; more fails the batch. */
const MAX_STDERR_BYTES = 64 * 1024;

/** Entries per getfattr run, and what else bounds a batch. */
export const BATCH_ENTRIES = 1024;
/** Arguments are limited to about 2 MiB in all (and fallback paths can be 4 KiB each). */
const BATCH_ARG_BYTES = 256 * 1024;
const GETFATTR_ARGS = ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--'];

/** A folder descriptor the walker shares; held until the batch that names entries through it has finished. */
export interface SharedFolder {
  readonly fd: number;
  hold(): SharedFolder;
  release(): void;
}

/** Filled in once the entry's batch has run. */
export interface XattrSlot {
  done: boolean;
  xattrs?: Xattr[];
  /** Why this entry's attributes are unknown; set on one entry per failed batch, or on the entry at fault. */
  problem?: string;
  /** getfattr found no such entry: it vanished after the walk saw it. */
  vanished?: boolean;
  batch: XattrBatch | undefined;
}

interface XattrBatch {
  args: string[];
  argBytes: number;
  folders: Set<SharedFolder>;
  /** Address -> slot. */
  slots: Map<string, XattrSlot>;
  first: XattrSlot | undefined;
  sent: boolean;
  done: Promise<void>;
  resolve: () => void;
}

/** What one getfattr run reports, in order: output, complaints, then its end exactly once. */
interface RunSink {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  exit(code: number | null, signal: string | null, error?: string): void;
}

/**
 * Collects entries into batches and runs getfattr over each. `submit` never
 * blocks; `settle` waits for one entry's batch, sending it first if needed.
 *
 * The first batch is run directly. Later ones go through a small launcher
 * process: forking this process, whose memory holds hashing buffers and
 * listings, costs milliseconds of this thread per run, forking the launcher
 * almost nothing. A workspace of a few files never starts it.
 */
export class XattrReader {
  readonly tool: string;
  /** "/proc/<pid>/fd/": how any process of this user names this one's descriptors; undefined without /proc. */
  private readonly fdDir: string | undefined;
  private batch: XattrBatch | undefined;
  private readonly running = new Set<Promise<void>>();
  private sentBatches = 0;
  private launcher: GetfattrLauncher | undefined;

  constructor(tool: string = DEFAULT_GETFATTR, useFds = true) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      throw new CatalogError('WORKSPACE_XATTR_TOOL_MISSING', `cannot run ${quoteUntrusted(tool, 200)}, which reads extended attributes`, {
        hint: 'the workspace-guard image ships /usr/bin/getfattr; outside it, install Debian\'s attr package',
      });
    }
    this.tool = tool;
    this.fdDir = useFds ? procFdDir() : undefined;
  }

  /**
   * Queues one entry: `name` inside `folder`, named through the folder's
   * descriptor when there is /proc, else by `fallbackPath`. Returns
   * undefined when the entry cannot be named to another process (a name
   * that is not UTF-8: a finding already).
   */
  submit(folder: SharedFolder | undefined, name: string, fallbackPath: string | Buffer): XattrSlot | undefined {
    let address: string;
    if (this.fdDir && folder) address = `${this.fdDir}${folder.fd}/${name}`;
    else if (typeof fallbackPath === 'string') address = fallbackPath;
    else return undefined;
    const batch = (this.batch ??= newBatch());
    if (this.fdDir && folder && !batch.folders.has(folder)) batch.folders.add(folder.hold());
    const slot: XattrSlot = { done: false, batch };
    batch.args.push(address);
    batch.argBytes += Buffer.byteLength(address) + 1;
    batch.slots.set(address, slot);
    batch.first ??= slot;
    if (batch.slots.size >= BATCH_ENTRIES || batch.argBytes >= BATCH_ARG_BYTES) this.send(batch);
    return slot;
  }

  async settle(slot: XattrSlot): Promise<void> {
    if (slot.done) return;
    const batch = slot.batch!;
    if (!batch.sent) this.send(batch);
    await batch.done;
  }

  /** Sends the batch being filled. */
  flush(): void {
    if (this.batch) this.send(this.batch);
  }

  /** Sends what is queued and waits for every run: afterwards no descriptor is held and no process is left. */
  async close(): Promise<void> {
    this.flush();
    while (this.running.size > 0) await Promise.all([...this.running]);
    await this.launcher?.close();
    this.launcher = undefined;
  }

  private send(batch: XattrBatch): void {
    if (this.batch === batch) this.batch = undefined;
    if (batch.sent) return;
    batch.sent = true;
    if (batch.slots.size === 0) {
      release(batch);
      batch.resolve();
      return;
    }
    const direct = this.sentBatches++ === 0;
    const running = this.run(batch, direct).finally(() => {
      release(batch);
      this.running.delete(running);
      batch.resolve();
    });
    this.running.add(running);
  }

  private run(batch: XattrBatch, direct: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const parser = new GetfattrParser(batch.slots);
      let stop: () => void = () => {};
      let failure: string | undefined;
      const fail = (reason: string) => {
        failure ??= reason;
        stop();
      };
      const stderr: Buffer[] = [];
      let stderrBytes = 0;
      let ended = false;
      const sink: RunSink = {
        stdout: (chunk) => {
          if (failure) return;
          try {
            parser.push(chunk);
          } catch (error) {
            fail(error instanceof CatalogError ? error.message : String(error));
          }
        },
        stderr: (chunk) => {
          stderrBytes += chunk.length;
          if (stderrBytes <= MAX_STDERR_BYTES) stderr.push(chunk);
          else fail(`getfattr wrote more than ${MAX_STDERR_BYTES} bytes of complaints`);
        },
        exit: (code, signal, error) => {
          if (ended) return;
          ended = true;
          if (error) fail(`getfattr could not be run (${error})`);
          if (!failure) {
            try {
              parser.end();
            } catch (caught) {
              fail(caught instanceof CatalogError ? caught.message : String(caught));
            }
          }
          let vanished = 0;
          if (!failure && stderrBytes > 0) {
            const outcome = vanishedEntries(Buffer.concat(stderr), batch.slots);
            if (typeof outcome === 'string') fail(`getfattr reported ${quoteUntrusted(outcome, 200)}`);
            else vanished = outcome;
          }
          // getfattr exits 1 when an entry was missing, and only then may it fail.
          if (!failure && signal) fail(`getfattr exited with ${signal}`);
          else if (!failure && code !== 0 && !(code === 1 && vanished > 0)) fail(`getfattr exited with code ${code}`);
          finishBatch(batch, parser, failure);
          resolve();
        },
      };
      const args = [...GETFATTR_ARGS, ...batch.args];
      stop = direct ? runDirectly(this.tool, args, sink) : (this.launcher ??= new GetfattrLauncher(this.tool)).run(args, sink);
      if (failure) stop();
    });
  }
}

/** Runs getfattr as a child of this process; returns how to stop it. */
function runDirectly(tool: string, args: string[], sink: RunSink): () => void {
  let child: ChildProcess;
  try {
    // stdin is a pipe closed at once, not "ignore": that opens /dev/null, which a bare chroot lacks.
    child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { LC_ALL: 'C' } });
  } catch (error) {
    sink.exit(null, null, (error as NodeJS.ErrnoException).code ?? 'error');
    return () => {};
  }
  let error: string | undefined;
  child.stdin!.on('error', () => {});
  child.stdin!.end();
  child.stdout!.on('data', (chunk: Buffer) => sink.stdout(chunk));
  child.stderr!.on('data', (chunk: Buffer) => sink.stderr(chunk));
  child.on('error', (caught: NodeJS.ErrnoException) => {
    error = caught.code ?? 'error';
  });
  child.on('close', (code, signal) => sink.exit(code, signal, error));
  return () => child.kill('SIGKILL');
}

/**
 * The launcher: node running LAUNCHER_SOURCE, which reads one JSON request
 * per line ({id, args} or {id, kill}) and answers in frames of a type byte
 * ("o" output, "e" complaints, "x" the end as JSON), the request id and a
 * length, each 4 bytes big-endian. It is this program's own code, but its
 * frames are still checked: anything unexpected, or its death, fails every
 * run it had.
 */
const LAUNCHER_SOURCE = `'use strict';
const { spawn } = require('node:child_process');
const tool = process.argv[1];
const children = new Map();
let input = '';
function frame(type, id, payload) {
  const head = Buffer.alloc(9);
  head[0] = type;
  head.writeUInt32BE(id, 1);
  head.writeUInt32BE(payload.length, 5);
  process.stdout.write(Buffer.concat([head, payload]));
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  input += text;
  for (let newline = input.indexOf('\\n'); newline !== -1; newline = input.indexOf('\\n')) {
    const request = JSON.parse(input.slice(0, newline));
    input = input.slice(newline + 1);
    if (request.kill) {
      const child = children.get(request.id);
      if (child) child.kill('SIGKILL');
      continue;
    }
    let error;
    const child = spawn(tool, request.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { LC_ALL: 'C' } });
    children.set(request.id, child);
    child.stdin.on('error', () => {});
    child.stdin.end();
    child.stdout.on('data', (chunk) => frame(0x6f, request.id, chunk));
    child.stderr.on('data', (chunk) => frame(0x65, request.id, chunk));
    child.on('error', (caught) => { error = caught.code || 'error'; });
    child.on('close', (code, signal) => {
      children.delete(request.id);
      frame(0x78, request.id, Buffer.from(JSON.stringify({ code, signal, error })));
    });
  }
});
`;
const FRAME_HEAD = 9;
/** The launcher forwards pipe reads, at most 64 KiB each; a longer frame is not its doing. */
const MAX_FRAME_BYTES = 1024 * 1024;

class GetfattrLauncher {
  private readonly child: ChildProcess;
  private readonly sinks = new Map<number, RunSink>();
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private broken: string | undefined;
  private readonly exited: Promise<void>;

  constructor(tool: string) {
    let spawned: ChildProcess | undefined;
    try {
      spawned = spawn(process.execPath, ['-e', LAUNCHER_SOURCE, tool], { stdio: ['pipe', 'pipe', 'pipe'], env: { LC_ALL: 'C' } });
    } catch (error) {
      this.broken = `the getfattr launcher could not be started (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    this.child = spawned!;
    if (!spawned) {
      this.exited = Promise.resolve();
      return;
    }
    spawned.stdin!.on('error', () => {});
    spawned.stderr!.resume();
    spawned.stdout!.on('data', (chunk: Buffer) => this.receive(chunk));
    this.exited = new Promise<void>((resolve) => {
      spawned.on('error', (error: NodeJS.ErrnoException) => this.fail(`the getfattr launcher could not be run (${error.code ?? 'error'})`));
      spawned.on('close', (code, signal) => {
        this.fail(`the getfattr launcher exited (${signal ?? `code ${code}`})`);
        resolve();
      });
    });
  }

  run(args: string[], sink: RunSink): () => void {
    if (this.broken) {
      sink.exit(null, null, this.broken);
      return () => {};
    }
    const id = this.nextId++;
    this.sinks.set(id, sink);
    this.child.stdin!.write(`${JSON.stringify({ id, args })}\n`);
    return () => {
      if (this.sinks.has(id) && !this.broken) this.child.stdin!.write(`${JSON.stringify({ id, kill: true })}\n`);
    };
  }

  /** Lets the launcher finish: it exits once its input ends and its children are done. */
  async close(): Promise<void> {
    if (this.child && !this.broken) this.child.stdin!.end();
    await this.exited;
  }

  private receive(chunk: Buffer): void {
    if (this.broken) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= FRAME_HEAD) {
      const type = this.pending[0]!;
      const id = this.pending.readUInt32BE(1);
      const length = this.pending.readUInt32BE(5);
      const sink = this.sinks.get(id);
      if (length > MAX_FRAME_BYTES || !sink || (type !== 0x6f && type !== 0x65 && type !== 0x78)) {
        this.fail('the getfattr launcher sent a frame it should not have');
        this.child.kill('SIGKILL');
        return;
      }
      if (this.pending.length < FRAME_HEAD + length) break;
      const payload = this.pending.subarray(FRAME_HEAD, FRAME_HEAD + length);
      this.pending = this.pending.subarray(FRAME_HEAD + length);
      if (type === 0x6f) sink.stdout(payload);
      else if (type === 0x65) sink.stderr(payload);
      else {
        this.sinks.delete(id);
        let end: { code?: number | null; signal?: string | null; error?: string };
        try {
          end = JSON.parse(payload.toString('utf8')) as typeof end;
        } catch {
          end = { error: 'an unreadable end from the launcher' };
        }
        sink.exit(end.code ?? null, end.signal ?? null, end.error);
      }
    }
    // Copy what is kept: the chunk's memory belongs to the stream.
    if (this.pending.length > 0) this.pending = Buffer.from(this.pending);
  }

  private fail(reason: string): void {
    this.broken ??= reason;
    for (const sink of this.sinks.values()) sink.exit(null, null, this.broken);
    this.sinks.clear();
  }
}

/**
 * "/proc/<pid>/fd/" as this process appears in the mounted /proc, which
 * another process of the same user can use to reach this one's open
 * folders; "/proc/self" would name the other process.
 */
function procFdDir(): string | undefined {
  try {
    const pid = readlinkSync('/proc/self');
    return /^\d+$/.test(pid) ? `/proc/${pid}/fd/` : undefined;
  } catch {
    return undefined;
  }
}

function newBatch(): XattrBatch {
  let resolve!: () => void;
  const done = new Promise<void>((res) => {
    resolve = res;
  });
  return { args: [], argBytes: 0, folders: new Set(), slots: new Map(), first: undefined, sent: false, done, resolve };
}

function release(batch: XattrBatch): void {
  for (const folder of batch.folders) folder.release();
  batch.folders.clear();
}

/**
 * Settles every slot. On failure no entry of the batch gets attributes,
 * and the first one carries the reason (one finding per failed batch).
 */
function finishBatch(batch: XattrBatch, parser: GetfattrParser, failure: string | undefined): void {
  for (const slot of batch.slots.values()) {
    slot.done = true;
    slot.batch = undefined;
    if (failure) continue;
    if (slot.vanished) continue;
    const problem = parser.problems.get(slot);
    if (problem) slot.problem = problem;
    else slot.xattrs = parser.found.get(slot) ?? [];
  }
  if (failure && batch.first) {
    batch.first.problem = `extended attributes of this entry and up to ${batch.slots.size - 1} entries after it could not be read: ${failure}`;
  }
}

const MISSING = /^getfattr: (.*): No such file or directory$/s;

/**
 * Marks the slots getfattr reported missing ("getfattr: <path>: No such
 * file or directory", the path quoted as in its output) and returns their
 * number, or the first line that says anything else.
 */
function vanishedEntries(stderr: Buffer, slots: ReadonlyMap<string, XattrSlot>): number | string {
  let count = 0;
  const lines = stderr.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const missing = MISSING.exec(line);
    let slot: XattrSlot | undefined;
    try {
      const address = missing ? decodeName(unescape(Buffer.from(missing[1]!, 'latin1'))) : undefined;
      slot = address?.exact ? slots.get(address.name) : undefined;
    } catch {
      slot = undefined;
    }
    if (!slot) return Buffer.from(line, 'latin1').toString('utf8').replace(/^getfattr: /, '');
    slot.vanished = true;
    count++;
  }
  return count;
}

const FILE_HEADER = Buffer.from('# file: ');

/**
 * Parses `getfattr -d -m - -e hex` output, chunk by chunk, against the
 * addresses of one batch. Throws a CatalogError at the first deviation from
 * the grammar or a bound; attributes are kept as name and value digest.
 */
export class GetfattrParser {
  readonly found = new Map<XattrSlot, Xattr[]>();
  readonly problems = new Map<XattrSlot, string>();
  private readonly slots: ReadonlyMap<string, XattrSlot>;
  private pending: Buffer = Buffer.alloc(0);
  private total = 0;
  private current: { slot: XattrSlot; xattrs: Xattr[]; names: Set<string> } | undefined;
  private readonly seen = new Set<XattrSlot>();

  constructor(slots: ReadonlyMap<string, XattrSlot>) {
    this.slots = slots;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.total > MAX_BATCH_OUTPUT_BYTES) throw malformed(`printed more than ${MAX_BATCH_OUTPUT_BYTES} bytes`);
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (;;) {
      const newline = data.indexOf(10, start);
      if (newline === -1) break;
      if (newline - start > MAX_LINE_BYTES) throw malformed('printed a line longer than any attribute can be');
      this.line(data.subarray(start, newline));
      start = newline + 1;
    }
    data = data.subarray(start);
    if (data.length > MAX_LINE_BYTES) throw malformed('printed a line longer than any attribute can be');
    // Copy: the chunk's memory is reused by the stream.
    this.pending = Buffer.from(data);
  }

  end(): void {
    if (this.pending.length > 0) throw malformed('output does not end with a newline');
    if (this.current) throw malformed('output ends inside an entry');
  }

  private line(line: Buffer): void {
    if (!this.current) {
      if (line.length <= FILE_HEADER.length || !line.subarray(0, FILE_HEADER.length).equals(FILE_HEADER)) {
        throw malformed('printed something other than a "# file:" header');
      }
      // Every address asked about is UTF-8, so an exact decoding is the only match.
      const address = decodeName(unescape(line.subarray(FILE_HEADER.length)));
      const slot = address.exact ? this.slots.get(address.name) : undefined;
      if (!slot) throw malformed('named a path it was not asked about');
      if (this.seen.has(slot)) throw malformed('named a path twice');
      this.seen.add(slot);
      this.current = { slot, xattrs: [], names: new Set() };
      return;
    }
    const current = this.current;
    if (line.length === 0) {
      if (current.names.size === 0) throw malformed('printed a header without attributes');
      this.current = undefined;
      if (this.problems.has(current.slot)) return;
      current.xattrs.sort((a, b) => compareNames(a.name, b.name));
      this.found.set(current.slot, current.xattrs);
      return;
    }
    const equals = line.indexOf(0x3d);
    const rawName = unescape(equals === -1 ? line : line.subarray(0, equals));
    const value = equals === -1 ? Buffer.alloc(0) : decodeHex(line.subarray(equals + 1));
    if (rawName.length === 0 || rawName.includes(0)) throw malformed('printed an empty attribute name');
    const decoded = decodeName(rawName);
    const key = rawName.toString('latin1');
    if (current.names.has(key)) throw malformed('printed an attribute twice');
    current.names.add(key);
    if (this.problems.has(current.slot)) return;
    if (!decoded.exact) {
      this.problems.set(current.slot, 'has an extended attribute whose name is not valid UTF-8');
      return;
    }
    if (current.names.size > MAX_XATTRS_PER_ENTRY) {
      this.problems.set(current.slot, `has more than ${MAX_XATTRS_PER_ENTRY} extended attributes`);
      return;
    }
    if (IGNORED_XATTRS.has(decoded.name)) return;
    const xattr: Xattr = { name: decoded.name, sha256: oneShotHash('sha256', value, 'hex') };
    if (KEPT_VALUES.has(decoded.name)) xattr.value = value;
    current.xattrs.push(xattr);
  }
}

function malformed(rule: string): CatalogError {
  return new CatalogError('WORKSPACE_XATTR_OUTPUT_MALFORMED', `getfattr ${rule}`);
}

/** Reverses getfattr's quoting: `\ooo` is one byte, `\\` a backslash; any other backslash is refused. */
export function unescape(text: Buffer): Buffer {
  if (!text.includes(0x5c)) return text;
  const out = Buffer.allocUnsafe(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (byte !== 0x5c) {
      out[length++] = byte;
      continue;
    }
    if (text[i + 1] === 0x5c) {
      out[length++] = 0x5c;
      i++;
      continue;
    }
    const a = octal(text[i + 1]);
    const b = octal(text[i + 2]);
    const c = octal(text[i + 3]);
    if (a === undefined || b === undefined || c === undefined || a > 3) throw malformed('printed an invalid escape');
    out[length++] = (a << 6) | (b << 3) | c;
    i += 3;
  }
  return out.subarray(0, length);
}

function octal(byte: number | undefined): number | undefined {
  return byte !== undefined && byte >= 0x30 && byte <= 0x37 ? byte - 0x30 : undefined;
}

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

function decodeHex(text: Buffer): Buffer {
  const value = text.toString('latin1');
  if (!HEX.test(value)) throw malformed('printed a value that is not hex');
  return Buffer.from(value.slice(2), 'hex');
}
