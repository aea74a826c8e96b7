import { closeSync, constants, fstatSync, globSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { quoteUntrusted } from '../../errors.ts';
import { AuditError, AuditErrorCodes } from '../errors.ts';

/**
 * Turns command-line paths, directories, globs and `-` (stdin) into file
 * contents, with every bound enforced while reading: a file is read at most
 * one byte past its limit, the total is counted as files come in, and no
 * symlink is ever followed (a repository could point one at a mounted
 * secret, and a parse error would then quote it).
 */

export interface InputFile {
  /** As shown in reports: relative to the working directory when it lies below it. */
  name: string;
  text: string;
}

/** A file that was found but could not be audited; reported as finding TA001. */
export interface InputProblem {
  name: string;
  message: string;
}

export interface ReadLimits {
  maxFileBytes: number;
  maxTotalBytes: number;
  maxFiles: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxFileBytes: 4 * 2 ** 20, maxTotalBytes: 256 * 2 ** 20, maxFiles: 20_000 };

export interface CollectOptions {
  cwd?: string;
  limits?: Partial<ReadLimits>;
  /** Reads standard input for `-`; given by the CLI, so the API never touches process.stdin. */
  readStdin?: (maxBytes: number) => Promise<string>;
  /** Name reports use for stdin. */
  stdinName?: string;
  /** Paths (relative to cwd, `/`-separated) to leave out. */
  exclude?: (relativePath: string) => boolean;
}

export interface CollectedInput {
  files: InputFile[];
  problems: InputProblem[];
  /** Symlinks and other non-regular entries met while walking, left out. */
  skipped: string[];
}

/** Folders a directory walk never enters. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** A directory walk picks these up; JSON only when named or globbed (package.json is not Kubernetes). */
const WALKED_FILE = /\.ya?ml$/i;
const GLOB_CHARS = /[*?[\]{}]/;

export async function collectInputs(specs: readonly string[], options: CollectOptions = {}): Promise<CollectedInput> {
  const cwd = options.cwd ?? process.cwd();
  const limits = { ...DEFAULT_READ_LIMITS, ...options.limits };
  const out: CollectedInput = { files: [], problems: [], skipped: [] };
  const seen = new Set<string>();
  let total = 0;
  const display = (absolute: string) => {
    const rel = relative(cwd, absolute);
    return rel === '' || rel.startsWith('..') ? absolute : rel.split(sep).join('/');
  };
  const excluded = (absolute: string) => options.exclude?.(display(absolute)) ?? false;

  const add = (absolute: string) => {
    if (seen.has(absolute) || excluded(absolute)) return;
    seen.add(absolute);
    if (out.files.length + out.problems.length >= limits.maxFiles) {
      throw new AuditError(AuditErrorCodes.inputTooLarge, `more than ${limits.maxFiles} files to audit`, {
        hint: 'narrow the paths or globs, or exclude folders in the config file',
      });
    }
    const read = readBounded(absolute, limits.maxFileBytes);
    if ('problem' in read) {
      if (read.problem === 'not-regular') out.skipped.push(display(absolute));
      else out.problems.push({ name: display(absolute), message: read.problem });
      return;
    }
    total += read.bytes;
    if (total > limits.maxTotalBytes) {
      throw new AuditError(AuditErrorCodes.inputTooLarge, `the files to audit hold more than ${limits.maxTotalBytes} bytes`, {
        hint: 'narrow the paths or globs',
      });
    }
    out.files.push({ name: display(absolute), text: read.text });
  };

  const walk = (dir: string, depth: number) => {
    if (depth > 64) {
      out.problems.push({ name: display(dir), message: 'folders nest more than 64 levels deep; not walked further' });
      return;
    }
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (cause) {
      out.problems.push({ name: display(dir), message: `cannot read folder (${errorCode(cause)})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !excluded(path)) walk(path, depth + 1);
      } else if (entry.isFile()) {
        if (WALKED_FILE.test(entry.name)) add(path);
      } else if (WALKED_FILE.test(entry.name) || entry.isSymbolicLink()) {
        out.skipped.push(display(path));
      }
    }
  };

  for (const spec of specs) {
    if (spec === '-') {
      if (!options.readStdin) throw new AuditError(AuditErrorCodes.usage, '"-" (stdin) is not available here');
      const name = options.stdinName ?? '<stdin>';
      if (seen.has(`\0stdin`)) continue;
      seen.add(`\0stdin`);
      const text = await options.readStdin(limits.maxFileBytes);
      total += Buffer.byteLength(text);
      out.files.push({ name, text });
      continue;
    }
    const absolute = resolve(cwd, spec);
    let stat;
    try {
      stat = lstatSync(absolute);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) walk(absolute, 0);
    else if (stat?.isFile()) add(absolute);
    else if (stat?.isSymbolicLink()) out.problems.push({ name: display(absolute), message: 'is a symlink; the audit never follows links, so pass the file it points to' });
    else if (stat) out.skipped.push(display(absolute));
    else if (GLOB_CHARS.test(spec)) {
      const matches = globSync(spec, { cwd }).map((m) => resolve(cwd, m)).sort();
      for (const match of matches) {
        const matchStat = lstatSync(match, { throwIfNoEntry: false });
        if (matchStat?.isFile()) add(match);
        else if (matchStat?.isDirectory()) continue;
        else out.skipped.push(display(match));
      }
    } else {
      throw new AuditError(AuditErrorCodes.inputMissing, `${quoteUntrusted(spec, 200)} does not exist`, {
        hint: 'pass files, folders, globs (quoted, e.g. "pipelines/**/*.yaml") or - for stdin',
      });
    }
  }
  if (out.files.length === 0 && out.problems.length === 0) {
    throw new AuditError(AuditErrorCodes.inputEmpty, `no YAML or JSON file found in ${specs.map((s) => quoteUntrusted(s, 80)).join(', ')}`, {
      hint: 'a folder is searched for *.yaml and *.yml; name JSON files or globs explicitly',
    });
  }
  return out;
}

type BoundedRead = { text: string; bytes: number } | { problem: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Reads a regular file without following a symlink, refusing it past `maxBytes`. */
export function readBounded(path: string, maxBytes: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (cause) {
    const code = errorCode(cause);
    if (code === 'ELOOP') return { problem: 'not-regular' };
    return { problem: `cannot be read (${code})` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: 'not-regular' };
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (;;) {
      // Sized by fstat (plus one byte to see growth), never past the limit: the size may change while reading.
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(stat.size + 1 - bytes, maxBytes + 1 - bytes, 1 << 20)));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      bytes += n;
      chunks.push(chunk.subarray(0, n));
      if (bytes > maxBytes) return { problem: `is larger than ${maxBytes} bytes; not audited` };
    }
    try {
      return { text: stripBom(decoder.decode(Buffer.concat(chunks, bytes))), bytes };
    } catch {
      return { problem: 'is not UTF-8 text; not audited' };
    }
  } catch (cause) {
    return { problem: `cannot be read (${errorCode(cause)})` };
  } finally {
    closeSync(fd);
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? 'unknown error';
}

/** Reads a stream (stdin) up to `maxBytes`, failing as soon as it grows past it. */
export async function readStreamBounded(stream: AsyncIterable<Buffer | string>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytes += buffer.length;
    if (bytes > maxBytes) {
      throw new AuditError(AuditErrorCodes.inputTooLarge, `standard input is larger than ${maxBytes} bytes`);
    }
    chunks.push(buffer);
  }
  try {
    return stripBom(decoder.decode(Buffer.concat(chunks, bytes)));
  } catch {
    throw new AuditError(AuditErrorCodes.inputMissing, 'standard input is not UTF-8 text');
  }
}
