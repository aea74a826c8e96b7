import { createHash } from 'node:crypto';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CatalogError } from '../errors.ts';
import { CredentialScanner, type CredentialHit } from './detectors.ts';

/**
 * Reads each regular file once: sha256 and credential scan in one pass, and
 * a check that the file did not change while it was read. Runs in a small
 * pool of worker threads so hashing uses every core while the main thread
 * keeps walking.
 *
 * The walker opens the file (O_NOFOLLOW, next to its lstat) and hands the
 * descriptor over: descriptors are process-wide, so a worker reads the very
 * file the walker looked at, and never resolves a path itself.
 */
export interface InspectJob {
  fd: number;
  /** Workspace-relative path: some detectors apply only to certain names. */
  path: string;
  /** What lstat saw; the open descriptor must still be this file. */
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface Inspection {
  sha256?: string;
  /** Why the file could not be recorded faithfully: it changed or vanished while being read. */
  changed?: string;
  /** An I/O error code while reading (e.g. EIO). */
  error?: string;
  credentials: CredentialHit[];
}

const WORKER_ROLE = 'tekton-workspace-guard-inspector';
const CHUNK_BYTES = 1024 * 1024;
/** Small files travel in batches so per-message cost stays low. */
const BATCH_FILES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;

let readBuffer: Buffer | undefined;

export function inspectFile(job: InspectJob): Inspection {
  readBuffer ??= Buffer.allocUnsafe(CHUNK_BYTES);
  const credentials = new CredentialScanner(job.path);
  try {
    const hash = createHash('sha256');
    let total = 0;
    // Read exactly the size lstat saw; the fstat afterwards catches any change
    // (size, mtime, ctime, or a different inode) since that lstat, so one
    // fstat replaces a before-and-after pair and no EOF read is needed.
    while (total < job.size) {
      const read = readSync(job.fd, readBuffer, 0, Math.min(CHUNK_BYTES, job.size - total), null);
      if (read === 0) break;
      const chunk = readBuffer.subarray(0, read);
      hash.update(chunk);
      credentials.push(chunk);
      total += read;
    }
    const after = fstatSync(job.fd);
    const hits = credentials.results();
    if (!after.isFile()) return { changed: 'is no longer a regular file', credentials: [] };
    if (after.ino !== job.ino || after.dev !== job.dev) return { changed: 'was replaced by another file', credentials: hits };
    if (after.size !== job.size || after.mtimeMs !== job.mtimeMs || after.ctimeMs !== job.ctimeMs || total !== job.size) {
      return { changed: 'changed while it was read', credentials: hits };
    }
    return { sha256: hash.digest('hex'), credentials: hits };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    return { error: code, credentials: credentials.results() };
  } finally {
    try {
      closeSync(job.fd);
    } catch {
      // Already closed: nothing left to release.
    }
  }
}

interface Pending {
  resolve: (value: Inspection) => void;
  reject: (error: unknown) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: Map<number, Pending[]>;
  queuedFiles: number;
}

/**
 * `threads: 0` inspects on the calling thread (for small trees and tests);
 * otherwise jobs go to worker threads in batches, to the least-loaded one.
 */
export class InspectorPool {
  private readonly workers: PoolWorker[] = [];
  private batch: { jobs: InspectJob[]; pending: Pending[]; bytes: number } = { jobs: [], pending: [], bytes: 0 };
  private nextBatchId = 0;
  private failure: unknown;

  constructor(threads = defaultThreads()) {
    for (let i = 0; i < threads; i++) this.workers.push(this.startWorker());
  }

  submit(job: InspectJob): Promise<Inspection> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0) return Promise.resolve(inspectFile(job));
    return new Promise((resolve, reject) => {
      this.batch.jobs.push(job);
      this.batch.pending.push({ resolve, reject });
      this.batch.bytes += job.size;
      if (this.batch.jobs.length >= BATCH_FILES || this.batch.bytes >= BATCH_BYTES) this.flush();
    });
  }

  /** Sends the partial batch; call before waiting on a submitted job. */
  flush(): void {
    if (this.batch.jobs.length === 0) return;
    const { jobs, pending } = this.batch;
    this.batch = { jobs: [], pending: [], bytes: 0 };
    const target = this.workers.reduce((best, w) => (w.queuedFiles < best.queuedFiles ? w : best));
    const id = this.nextBatchId++;
    target.inFlight.set(id, pending);
    target.queuedFiles += jobs.length;
    target.worker.postMessage({ id, jobs });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }

  private startWorker(): PoolWorker {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE }, trackUnmanagedFds: false });
    const entry: PoolWorker = { worker, inFlight: new Map(), queuedFiles: 0 };
    worker.on('message', (message: { id: number; results: Inspection[] }) => {
      const pending = entry.inFlight.get(message.id);
      if (!pending) return;
      entry.inFlight.delete(message.id);
      entry.queuedFiles -= pending.length;
      pending.forEach((p, i) => p.resolve(message.results[i]!));
    });
    const fail = (cause: unknown) => {
      this.failure ??= new CatalogError('WORKSPACE_INSPECTOR_FAILED', 'a file-hashing worker thread failed', { cause });
      for (const pending of entry.inFlight.values()) for (const p of pending) p.reject(this.failure);
      entry.inFlight.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (entry.inFlight.size > 0) fail(new Error(`worker exited with code ${code}`));
    });
    return entry;
  }
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

/** Worker side: the same module, started by InspectorPool with a role marker. */
if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE && parentPort) {
  const port = parentPort;
  port.on('message', (message: { id: number; jobs: InspectJob[] }) => {
    port.postMessage({ id: message.id, results: message.jobs.map(inspectFile) });
  });
}
