import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openFolderBeneath } from './beneath.ts';

/**
 * The run marker: `.tekton-workspace-guard/run` in the workspace holds the
 * uid of the PipelineRun that sealed it. The folder is reserved: its
 * entries are policed like any other, never sealed or compared, and it may
 * hold nothing but the marker and the manifest (see reserved.ts).
 */
export const RESERVED_DIR = '.tekton-workspace-guard';
export const MARKER_NAME = 'run';
export const DEFAULT_MANIFEST_NAME = 'manifest.ndjson';

/** PipelineRun uids are UUIDs; accept any short token of that alphabet. */
export const RUN_UID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MAX_MARKER_BYTES = 256;

export type MarkerState = { state: 'absent' } | { state: 'present'; runUid: string } | { state: 'invalid'; detail: string };

export function isReservedPath(path: string): boolean {
  return path === RESERVED_DIR || path.startsWith(`${RESERVED_DIR}/`);
}

export function readMarker(root: string): MarkerState {
  const dirStat = lstatSync(join(root, RESERVED_DIR), { throwIfNoEntry: false });
  if (!dirStat) return { state: 'absent' };
  if (!dirStat.isDirectory()) return { state: 'invalid', detail: `${RESERVED_DIR} is not a folder` };
  let folder;
  try {
    folder = openFolderBeneath(root, RESERVED_DIR);
  } catch {
    return { state: 'invalid', detail: `${RESERVED_DIR} cannot be opened as a folder` };
  }
  try {
    let fd: number;
    try {
      fd = openSync(`${folder.base}${MARKER_NAME}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
      return { state: 'invalid', detail: 'the marker is not a readable regular file' };
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size > MAX_MARKER_BYTES) return { state: 'invalid', detail: 'the marker is not a small regular file' };
      const buffer = Buffer.alloc(MAX_MARKER_BYTES + 1);
      const read = readSync(fd, buffer, 0, buffer.length, 0);
      const runUid = buffer.toString('utf8', 0, read).trim();
      if (!RUN_UID_PATTERN.test(runUid)) return { state: 'invalid', detail: 'the marker does not hold a run uid' };
      return { state: 'present', runUid };
    } finally {
      closeSync(fd);
    }
  } finally {
    folder.close();
  }
}

/** Creates the reserved folder if needed and replaces the marker atomically. */
export function writeMarker(root: string, runUid: string): void {
  ensureReservedDir(root);
  const folder = openFolderBeneath(root, RESERVED_DIR);
  try {
    const temp = `${folder.base}.${MARKER_NAME}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, `${runUid}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, `${folder.base}${MARKER_NAME}`);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  } finally {
    folder.close();
  }
}

export function ensureReservedDir(root: string): void {
  try {
    mkdirSync(join(root, RESERVED_DIR), { mode: 0o755 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
