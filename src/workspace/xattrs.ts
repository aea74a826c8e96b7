import { hash as oneShotHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
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
const BATCH_ENTRIES = 1024;
const BATCH_FOLDERS = 128;
/** Arguments are limited to about 2 MiB in all (and fallback paths can be 4 KiB each). */
const BATCH_ARG_BYTES = 256 * 1024;
const FIRST_CHILD_FD = 3;

/** A folder descriptor the walker shares; held until the batch that uses it has finished. */
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
  /** Parent descriptor -> the child's descriptor number. */
  folders: Map<SharedFolder, number>;
  fds: number[];
  /** Address -> slot. */
  slots: Map<string, XattrSlot>;
  first: XattrSlot | undefined;
  sent: boolean;
  done: Promise<void>;
  resolve: () => void;
}

/**
 * Collects entries into batches and runs getfattr over each. `submit` never
 * blocks; `settle` waits for one entry's batch, sending it first if needed.
 */
export class XattrReader {
  readonly tool: string;
  private readonly useFds: boolean;
  private batch: XattrBatch | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(tool: string = DEFAULT_GETFATTR, useFds = true) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      throw new CatalogError('WORKSPACE_XATTR_TOOL_MISSING', `cannot run ${quoteUntrusted(tool, 200)}, which reads extended attributes`, {
        hint: 'the workspace-guard image ships /usr/bin/getfattr; outside it, install Debian\'s attr package',
      });
    }
    this.tool = tool;
    this.useFds = useFds;
  }

  /**
   * Queues one entry: `name` inside `folder` (with /proc), or `fallbackPath`
   * when there is no folder descriptor. Returns undefined when the entry
   * cannot be named to a child process (its name is not UTF-8: a finding already).
   */
  submit(folder: SharedFolder | undefined, name: string, fallbackPath: string | Buffer): XattrSlot | undefined {
    let batch = (this.batch ??= newBatch());
    let childFd: number | undefined;
    if (this.useFds && folder) {
      childFd = batch.folders.get(folder);
      if (childFd === undefined && batch.folders.size >= BATCH_FOLDERS) {
        this.send(batch);
        batch = this.batch = newBatch();
      }
      childFd = batch.folders.get(folder);
      if (childFd === undefined) {
        childFd = FIRST_CHILD_FD + batch.fds.length;
        batch.folders.set(folder.hold(), childFd);
        batch.fds.push(folder.fd);
      }
    } else if (typeof fallbackPath !== 'string') {
      return undefined;
    }
    const address = childFd === undefined ? (fallbackPath as string) : `/proc/self/fd/${childFd}/${name}`;
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

  /** Sends what is queued and waits for every child: afterwards no descriptor is held. */
  async close(): Promise<void> {
    this.flush();
    while (this.running.size > 0) await Promise.all([...this.running]);
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
    const running = this.run(batch).finally(() => {
      release(batch);
      this.running.delete(running);
      batch.resolve();
    });
    this.running.add(running);
  }

  private run(batch: XattrBatch): Promise<void> {
    return new Promise<void>((resolve) => {
      const parser = new GetfattrParser(batch.slots);
      let failure: string | undefined;
      const fail = (reason: string) => {
        failure ??= reason;
      };
      const stderr: Buffer[] = [];
      let stderrBytes = 0;
      let child: ChildProcess;
      try {
        // stdin is a pipe closed at once, not "ignore": that opens /dev/null, which a bare chroot lacks.
        child = spawn(this.tool, ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', ...batch.args], {
          stdio: ['pipe', 'pipe', 'pipe', ...batch.fds],
          env: { LC_ALL: 'C' },
        });
        child.stdin!.on('error', () => {});
        child.stdin!.end();
      } catch (error) {
        finishBatch(batch, parser, `getfattr could not be started (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        resolve();
        return;
      }
      child.stdout!.on('data', (chunk: Buffer) => {
        if (failure) return;
        try {
          parser.push(chunk);
        } catch (error) {
          fail(error instanceof CatalogError ? error.message : String(error));
          child.kill('SIGKILL');
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderrBytes += chunk.length;
        if (stderrBytes <= MAX_STDERR_BYTES) stderr.push(chunk);
        else fail(`getfattr wrote more than ${MAX_STDERR_BYTES} bytes of complaints`);
      });
      child.on('error', (error: NodeJS.ErrnoException) => fail(`getfattr could not be run (${error.code ?? 'error'})`));
      child.on('close', (code, signal) => {
        if (!failure) {
          try {
            parser.end();
          } catch (error) {
            fail(error instanceof CatalogError ? error.message : String(error));
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
      });
    });
  }
}

function newBatch(): XattrBatch {
  let resolve!: () => void;
  const done = new Promise<void>((res) => {
    resolve = res;
  });
  return { args: [], argBytes: 0, folders: new Map(), fds: [], slots: new Map(), first: undefined, sent: false, done, resolve };
}

function release(batch: XattrBatch): void {
  for (const folder of batch.folders.keys()) folder.release();
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
