import { createHash, hash as oneShotHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CatalogError } from '../errors.ts';
import { CredentialScanner, loadDetectors, type CredentialHit } from './detectors.ts';

/**
 * Reads each regular file once: sha256 and credential scan in one pass, and
 * a check that the file did not change while it was read. Runs in a small
 * pool of worker threads so hashing uses every core while the main thread
 * keeps walking.
 *
 * The walker lstats the file and hands over where to open it: a name under
 * an open folder descriptor ("/proc/self/fd/N/name"; descriptors are
 * process-wide), so only the last component is resolved, with O_NOFOLLOW.
 * After reading, an fstat of the open file must match that lstat: same
 * inode, size and times, so the bytes hashed are the file the walk saw.
 */
export interface InspectJob {
  /** "/proc/self/fd/N/name", or a full path where /proc is missing. */
  location: string | Uint8Array;
  /**
   * The file's parent folder name and its own ("parent/name"): some
   * detectors apply only to certain names, and a full path can be as long
   * as 20,000 folders.
   */
  hint: string;
  /** What lstat saw; the open descriptor must still be this file. */
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface Inspection {
  sha256?: string;
  /** The open failed with this code (ENOENT: it vanished since its lstat). */
  openError?: string;
  /** Why the file could not be recorded faithfully: it changed or vanished while being read. */
  changed?: string;
  /** An I/O error code while reading (e.g. EIO). */
  error?: string;
  credentials: CredentialHit[];
}

const O_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const WORKER_ROLE = 'tekton-workspace-guard-inspector';
const CHUNK_BYTES = 1024 * 1024;
/**
 * Files travel to a worker in batches: one message per file cost more than
 * reading the file (a structured clone and a wake-up each way).
 */
const BATCH_FILES = 128;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Per-file cost in bytes-equivalent (open, two stats, close), for balancing workers. */
const FILE_COST_BYTES = 16 * 1024;

let readBuffer: Buffer | undefined;
let scanner: CredentialScanner | undefined;

/**
 * Hashes and scans one open file, then closes it. Small files take a single
 * read into a reused buffer; large ones stream through it in 1 MiB chunks.
 */
export function inspectFile(job: InspectJob): Inspection {
  let fd: number;
  try {
    // A path that crossed a thread boundary as bytes arrives as a plain Uint8Array.
    fd = openSync(typeof job.location === 'string' ? job.location : Buffer.from(job.location), O_FILE);
  } catch (error) {
    return { openError: (error as NodeJS.ErrnoException).code ?? 'EIO', credentials: [] };
  }
  readBuffer ??= Buffer.allocUnsafe(CHUNK_BYTES);
  if (scanner) scanner.reset(job.hint);
  else scanner = new CredentialScanner(job.hint);
  const credentials = scanner;
  try {
    let total = 0;
    let digest: () => string;
    // Read exactly the size lstat saw; the fstat afterwards catches any change
    // (size, mtime, ctime, or a different inode) since that lstat, so one
    // fstat replaces a before-and-after pair and no EOF read is needed.
    if (job.size <= CHUNK_BYTES) {
      // Most files: read whole into the reused buffer, hash in one call (no Hash object).
      while (total < job.size) {
        const read = readSync(fd, readBuffer, total, job.size - total, null);
        if (read === 0) break;
        total += read;
      }
      const content = readBuffer.subarray(0, total);
      if (total > 0) credentials.push(content);
      digest = () => oneShotHash('sha256', content, 'hex');
    } else {
      const hash = createHash('sha256');
      while (total < job.size) {
        const read = readSync(fd, readBuffer, 0, Math.min(CHUNK_BYTES, job.size - total), null);
        if (read === 0) break;
        const chunk = readBuffer.subarray(0, read);
        hash.update(chunk);
        credentials.push(chunk);
        total += read;
      }
      digest = () => hash.digest('hex');
    }
    const after = fstatSync(fd);
    const hits = credentials.results();
    if (!after.isFile()) return { changed: 'is no longer a regular file', credentials: [] };
    if (after.ino !== job.ino || after.dev !== job.dev) return { changed: 'was replaced by another file', credentials: hits };
    if (after.size !== job.size || after.mtimeMs !== job.mtimeMs || after.ctimeMs !== job.ctimeMs || total !== job.size) {
      return { changed: 'changed while it was read', credentials: hits };
    }
    return { sha256: digest(), credentials: hits };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    return { error: code, credentials: credentials.results() };
  } finally {
    closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing left to release.
  }
}

/** A submitted file: `result` is set once its batch comes back. */
export interface InspectionSlot {
  result: Inspection | undefined;
  batch: Batch | undefined;
}

interface Batch {
  jobs: InspectJob[];
  slots: InspectionSlot[];
  bytes: number;
  sent: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: Map<number, Batch>;
  /** Work queued on this worker, in bytes-equivalent. */
  queued: number;
}

/**
 * `threads: 0` inspects on the calling thread (for tests). Otherwise jobs
 * go to worker threads in batches, each to the worker with the least work
 * queued; one promise per batch, none per file. Workers start only when a
 * first batch fills up: a workspace of a few files is inspected on the
 * calling thread and never pays for starting threads.
 */
export class InspectorPool {
  private readonly threads: number;
  private readonly workers: PoolWorker[] = [];
  private batch: Batch | undefined;
  private nextBatchId = 0;
  private failure: unknown;

  constructor(threads = defaultThreads()) {
    this.threads = threads;
  }

  submit(job: InspectJob): InspectionSlot {
    if (this.failure) throw this.failure;
    if (this.threads === 0) return { result: inspectFile(job), batch: undefined };
    const batch = (this.batch ??= newBatch());
    const slot: InspectionSlot = { result: undefined, batch };
    batch.jobs.push(job);
    batch.slots.push(slot);
    batch.bytes += job.size;
    if (batch.jobs.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) this.send(batch);
    return slot;
  }

  /** The slot's result, handing its batch over first if it is still being filled. */
  async settle(slot: InspectionSlot): Promise<Inspection> {
    if (slot.result) return slot.result;
    const batch = slot.batch!;
    if (!batch.sent) this.drain();
    await batch.done;
    return slot.result!;
  }

  /** Hands over the batch being filled: to the workers if running, else inspected here. */
  drain(): void {
    const batch = this.batch;
    if (!batch) return;
    if (this.workers.length > 0) {
      this.send(batch);
      return;
    }
    this.batch = undefined;
    batch.sent = true;
    batch.slots.forEach((slot, i) => {
      slot.result = inspectFile(batch.jobs[i]!);
      slot.batch = undefined;
    });
    batch.resolve();
  }

  private send(batch: Batch): void {
    if (this.batch === batch) this.batch = undefined;
    batch.sent = true;
    if (this.failure) {
      batch.reject(this.failure);
      return;
    }
    while (this.workers.length < this.threads) this.workers.push(this.startWorker());
    let target = this.workers[0]!;
    for (const worker of this.workers) if (worker.queued < target.queued) target = worker;
    const id = this.nextBatchId++;
    target.inFlight.set(id, batch);
    target.queued += cost(batch);
    target.worker.postMessage({ id, jobs: batch.jobs });
  }

  /** Waits for every batch handed out (so every descriptor is closed), then stops the workers. */
  async close(): Promise<void> {
    this.drain();
    await Promise.allSettled(this.workers.flatMap((w) => [...w.inFlight.values()].map((b) => b.done)));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }

  private startWorker(): PoolWorker {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE }, trackUnmanagedFds: false });
    const entry: PoolWorker = { worker, inFlight: new Map(), queued: 0 };
    worker.on('message', (message: { id: number; results: Inspection[] }) => {
      const batch = entry.inFlight.get(message.id);
      if (!batch) return;
      entry.inFlight.delete(message.id);
      entry.queued -= cost(batch);
      batch.slots.forEach((slot, i) => {
        slot.result = message.results[i];
        slot.batch = undefined;
      });
      batch.resolve();
    });
    const fail = (cause: unknown) => {
      this.failure ??= new CatalogError('WORKSPACE_INSPECTOR_FAILED', 'a file-hashing worker thread failed', { cause });
      for (const batch of entry.inFlight.values()) batch.reject(this.failure);
      entry.inFlight.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (entry.inFlight.size > 0) fail(new Error(`worker exited with code ${code}`));
    });
    return entry;
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (the walk stopped early) must not become an unhandled rejection.
  done.catch(() => {});
  return { jobs: [], slots: [], bytes: 0, sent: false, done, resolve, reject };
}

function cost(batch: Batch): number {
  return batch.jobs.length * FILE_COST_BYTES + batch.bytes;
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

/** Worker side: the same module, started by InspectorPool with a role marker. */
if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE && parentPort) {
  const port = parentPort;
  // Messages wait in the port's queue until the listener is attached, after the detectors are compiled.
  await loadDetectors();
  port.on('message', (message: { id: number; jobs: InspectJob[] }) => {
    port.postMessage({ id: message.id, results: message.jobs.map(inspectFile) });
  });
}
