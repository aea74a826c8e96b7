import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, rename, rmdir, unlink } from 'node:fs/promises';
import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError, isCredentialsError, systemErrorCode } from './errors.ts';
import { chmodChild, displayName, Folder, openChildForOverwrite } from './folder.ts';
import { readCredentialsMarker, type CredentialsMarkerStatus } from './marker.ts';
import { OutputPaths } from './plan.ts';
import { isVolumeLostFound, LOST_FOUND } from './state.ts';

/**
 * Cleanup for a Pipeline's `finally`. Its guarantee: it removes every entry
 * of the credentials workspace (files, folders, links, FIFOs, sockets,
 * devices, names that are not UTF-8, trees of any depth), whatever the
 * marker says, and then checks the workspace is empty; only the volume's own
 * root-owned lost+found stays. It never acts outside the workspace: no link
 * is followed, every entry is reached through its folder's descriptor, and
 * only a regular file of the step user's with no other name (no hard link),
 * in one of our output folders, is overwritten with zeros before it is
 * unlinked (at most MAX_OVERWRITES of them). A FIFO, socket or device is
 * unlinked without being opened.
 *
 * It needs no digest (a `finally` task that takes a result of a task that
 * failed would be skipped by Tekton, and cleanup must run most of all
 * then), and it trusts nothing in the workspace: the marker, which anyone
 * who can write there could have written, decides nothing that is removed.
 * It is read only to report what it claims (expiry, files never written),
 * and a marker that is invalid or says the credentials expired is reported
 * as a violation once the workspace is empty.
 *
 * Overwriting is a courtesy on disks (copy-on-write and flash may keep old
 * blocks); a memory-backed emptyDir is what keeps credentials off disk.
 * It succeeds with no marker and is idempotent.
 */
export interface CleanupReport {
  /** Relative paths removed, files before their folders: the first MAX_LISTED of them. */
  readonly removed: string[];
  readonly removedCount: number;
  /** Files overwritten with zeros before removal. */
  readonly overwritten: number;
  /** Files of ours that could not be overwritten (they were still removed), with the reason. */
  readonly notOverwritten: string[];
  /** Files the marker lists that were not there (the injection stopped early, or cleanup already ran). A claim of the unverified marker. */
  readonly missingFromManifest: string[];
  /** Files that were there but not in the marker (the first MAX_LISTED). */
  readonly unlisted: string[];
  readonly unlistedCount: number;
  readonly marker: CredentialsMarkerStatus | undefined;
  /** Why the run is a violation even though the workspace is now empty. */
  readonly violations: string[];
}

export const MAX_LISTED = 1000;
/** Folders deeper than this are first moved up to the workspace root, so depth never costs descriptors or path length. */
const MAX_DEPTH = 32;
/** inject-credentials never writes a larger file; a larger one is not a credential of ours and is only unlinked. */
const MAX_OVERWRITE_BYTES = 4 * 1024 * 1024;
/**
 * Overwriting costs an fsync per file (about a millisecond on a disk), and a
 * workspace inject-credentials wrote holds far fewer files (STATE_LIMITS), so
 * past this many candidates files are only unlinked: a flood of planted files
 * cannot make cleanup outlast the Task's timeout.
 */
const MAX_OVERWRITES = 256;
/** A folder is listed again while entries keep going (a task writing into it at the same time); then cleanup gives up. */
const MAX_PASSES = 4;
const MAX_MOVED_UP = 100_000;
const ZERO_CHUNK = Buffer.alloc(64 * 1024);
/** Where our credentials are: removed first, so nothing planted beside them can delay or stop their removal. */
const OUR_FOLDERS = ['docker', 'basic-auth', 'ssh', OutputPaths.filesDir, OutputPaths.stateDir];

export async function cleanupCredentials(root: string, now: Date = new Date()): Promise<CleanupReport> {
  let folder: Folder;
  try {
    folder = await Folder.open(root);
  } catch (error) {
    const code = systemErrorCode(error);
    throw new CredentialsError(
      CredentialsErrorCode.workspaceInvalid,
      code === 'ENOTDIR' || code === 'ELOOP'
        ? 'the credentials workspace path is not a folder (or is a symbolic link)'
        : `the credentials workspace cannot be opened: ${describeSystemError(error)}`,
    );
  }
  try {
    const violations: string[] = [];
    let marker: CredentialsMarkerStatus | undefined;
    try {
      marker = await readCredentialsMarker(root, now);
    } catch (error) {
      if (!isCredentialsError(error)) throw error;
      violations.push(error.message);
    }
    if (marker?.expired) violations.push(`the credentials expired at ${marker.marker.expiresAt}, before cleanup ran`);

    const listed = new Set((marker?.marker.files ?? []).map((file) => file.path));
    const cleaner = new Cleaner(folder, listed);
    for (const name of OUR_FOLDERS) await cleaner.remove(folder, Buffer.from(name), undefined, 0);
    await cleaner.emptyFolder(folder, undefined, 0);
    await cleaner.removeMovedUp();

    const left = await remaining(folder);
    if (left.length > 0 || cleaner.failures.size > 0) {
      const detail = [...cleaner.failures, ...left.map((name) => `${quoteUntrusted(name)} remains`)].slice(0, 5).join('; ');
      throw new CredentialsError(CredentialsErrorCode.cleanupIncomplete, `the credentials workspace is not empty after cleanup: ${detail}`, {
        hint: 'entries owned by another user, or a task writing into the workspace while cleanup runs, keep it from emptying it; bind the credentials workspace only to inject-credentials and the tasks that use the credentials',
      });
    }
    const missingFromManifest = [...listed].filter((path) => !cleaner.seenFiles.has(path));
    return {
      removed: cleaner.removed,
      removedCount: cleaner.removedCount,
      overwritten: cleaner.overwritten,
      notOverwritten:
        cleaner.overBudget > 0
          ? [...cleaner.notOverwritten, `${cleaner.overBudget} more file(s): past ${MAX_OVERWRITES} candidates, files are only unlinked`]
          : cleaner.notOverwritten,
      missingFromManifest,
      unlisted: cleaner.unlisted,
      unlistedCount: cleaner.unlistedCount,
      marker,
      violations,
    };
  } finally {
    await folder.close();
  }
}

class Cleaner {
  readonly removed: string[] = [];
  removedCount = 0;
  overwritten = 0;
  private overwrites = 0;
  /** Candidates past MAX_OVERWRITES, only unlinked. */
  overBudget = 0;
  readonly notOverwritten: string[] = [];
  readonly unlisted: string[] = [];
  unlistedCount = 0;
  /** Files seen (by path), for the marker's "never written" hint. */
  readonly seenFiles = new Set<string>();
  readonly failures = new Set<string>();
  private readonly movedUp: Buffer[] = [];
  private movedUpTotal = 0;
  private readonly root: Folder;
  private readonly listed: ReadonlySet<string>;
  private readonly uid = process.getuid?.() ?? -1;

  constructor(root: Folder, listed: ReadonlySet<string>) {
    this.root = root;
    this.listed = listed;
  }

  /** Removes every entry of `folder`, listing it again while entries keep going. */
  async emptyFolder(folder: Folder, prefix: Buffer | undefined, depth: number): Promise<void> {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const before = this.removedCount;
      let seen = 0;
      for await (const name of folder.names()) {
        seen++;
        await this.remove(folder, name, prefix, depth);
      }
      if (seen === 0 || this.removedCount === before) return;
    }
  }

  /** Removes one entry of `parent`; a failure is recorded and the rest goes on. */
  async remove(parent: Folder, name: Buffer, prefix: Buffer | undefined, depth: number): Promise<void> {
    const raw = prefix ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
    const path = displayName(raw);
    let info: Stats;
    try {
      info = await lstat(parent.child(name));
    } catch (error) {
      if (systemErrorCode(error) !== 'ENOENT') this.fail(path, error);
      return;
    }
    try {
      if (info.isDirectory()) {
        if (isVolumeLostFound(depth, name, info)) {
          await this.emptyLostFound(parent, name);
          return;
        }
        if (depth >= MAX_DEPTH) {
          await this.moveUp(parent, name);
          return;
        }
        const child = await this.openFolder(parent, name, info);
        try {
          await this.emptyFolder(child, raw, depth + 1);
        } finally {
          await child.close();
        }
        await rmdir(parent.child(name));
      } else {
        if (info.isFile()) {
          this.seenFiles.add(path);
          if (this.mayBeOurs(raw, info)) {
            if (this.overwrites < MAX_OVERWRITES) await this.overwrite(parent, name, path, info);
            else this.overBudget++;
          }
        }
        await unlink(parent.child(name));
        if (!this.listed.has(path) && !path.startsWith(`${OutputPaths.stateDir}/`)) {
          if (this.unlisted.length < MAX_LISTED) this.unlisted.push(path);
          this.unlistedCount++;
        }
      }
      if (this.removed.length < MAX_LISTED) this.removed.push(path);
      this.removedCount++;
    } catch (error) {
      this.fail(path, error);
    }
  }

  /**
   * Only a file that could hold our credentials is overwritten: a regular file
   * of the step user's, with no other name (writing through a hard link would
   * destroy someone else's file), of a size we write, in one of our output folders.
   */
  private mayBeOurs(raw: Buffer, info: Stats): boolean {
    const top = raw.toString('latin1').split('/')[0]!;
    return info.uid === this.uid && info.nlink === 1 && info.size > 0 && info.size <= MAX_OVERWRITE_BYTES && OUR_FOLDERS.includes(top);
  }

  /** Opens a child folder to empty it; one of ours that the step user cannot list or write is made 0700 first. */
  private async openFolder(parent: Folder, name: Buffer, info: Stats): Promise<Folder> {
    let child: Folder;
    try {
      child = await parent.openFolder(name);
    } catch (error) {
      if (systemErrorCode(error) !== 'EACCES' || info.uid !== this.uid) throw error;
      await chmodChild(parent, name, info, 0o700);
      child = await parent.openFolder(name);
    }
    const opened = await child.stat();
    if (opened.ino !== info.ino || opened.dev !== info.dev) {
      await child.close();
      throw Object.assign(new Error('replaced while open'), { code: 'ESTALE' });
    }
    if (opened.uid === this.uid && (opened.mode & 0o700) !== 0o700) await child.chmod(0o700);
    return child;
  }

  /** Overwrites with zeros; if that fails the file is still unlinked, and that is reported, not a failure. */
  private async overwrite(parent: Folder, name: Buffer, path: string, info: Stats): Promise<void> {
    this.overwrites++;
    let handle;
    try {
      handle = await openChildForOverwrite(parent, name, info);
    } catch (error) {
      this.noteNotOverwritten(path, error);
      return;
    }
    try {
      const size = Math.min((await handle.stat()).size, MAX_OVERWRITE_BYTES);
      let offset = 0;
      while (offset < size) {
        const { bytesWritten } = await handle.write(ZERO_CHUNK, 0, Math.min(ZERO_CHUNK.length, size - offset), offset);
        offset += bytesWritten;
      }
      await handle.sync();
      this.overwritten++;
    } catch (error) {
      this.noteNotOverwritten(path, error);
    } finally {
      await handle.close();
    }
  }

  /** The volume's lost+found stays; what root left in it goes if the step can see it. */
  private async emptyLostFound(parent: Folder, name: Buffer): Promise<void> {
    let inside: Folder;
    try {
      inside = await parent.openFolder(name);
    } catch {
      return;
    }
    try {
      await this.emptyFolder(inside, Buffer.from(LOST_FOUND), 1);
    } finally {
      await inside.close();
    }
  }

  private async moveUp(parent: Folder, name: Buffer): Promise<void> {
    if (++this.movedUpTotal > MAX_MOVED_UP) throw Object.assign(new Error('too deep'), { code: 'ENAMETOOLONG' });
    const moved = Buffer.from(`.inject-credentials-cleanup-${randomBytes(8).toString('hex')}`);
    await rename(parent.child(name), this.root.child(moved));
    this.movedUp.push(moved);
  }

  /** Subtrees moved up from deep down are removed from the root, each moving up its own deep parts in turn. */
  async removeMovedUp(): Promise<void> {
    while (this.movedUp.length > 0) await this.remove(this.root, this.movedUp.shift()!, undefined, 0);
  }

  private fail(path: string, error: unknown): void {
    if (this.failures.size < 20) this.failures.add(`${quoteUntrusted(path)} cannot be removed: ${describeSystemError(error)}`);
  }

  private noteNotOverwritten(path: string, error: unknown): void {
    if (this.notOverwritten.length < 20) this.notOverwritten.push(`${quoteUntrusted(path)}: ${describeSystemError(error)}`);
  }
}

/** Names left at the root, the volume's lost+found aside. */
async function remaining(root: Folder): Promise<string[]> {
  const { names } = await root.firstNames(6);
  const left: string[] = [];
  for (const name of names) {
    if (name.toString() === LOST_FOUND) {
      const info = await lstat(root.child(name)).catch(() => undefined);
      if (info && isVolumeLostFound(0, name, info)) continue;
    }
    left.push(displayName(name));
  }
  return left;
}
