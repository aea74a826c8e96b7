import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { execa } from 'execa';
import { WorkspaceGuard, type GuardOptions, type GuardReport } from '../../src/workspace/guard.ts';

/**
 * A fresh workspace folder, removed after the test (rm -rf copes with any
 * depth). Under /tmp by default; `inMemory` puts it on /dev/shm when there
 * is one, for the scale tests: creating and deleting 200,000 files on a
 * busy disk takes minutes, which would measure the disk, not the guard.
 */
export function tempWorkspace(t: Test, prefix = 'wsg-', { inMemory = false } = {}): string {
  const dir = mkdtempSync(join(inMemory && writable('/dev/shm') ? '/dev/shm' : tmpdir(), prefix));
  t.teardown(async () => {
    await execa('rm', ['-rf', dir]).catch(() => rmSync(dir, { recursive: true, force: true }));
  });
  return dir;
}

export const RUN_A = '11111111-aaaa-4aaa-8aaa-111111111111';
export const RUN_B = '22222222-bbbb-4bbb-8bbb-222222222222';

export function guard(root: string, options: Partial<GuardOptions> = {}): WorkspaceGuard {
  return new WorkspaceGuard({ root, runUid: RUN_A, ...options });
}

export function rulesAt(report: GuardReport, path: string): string[] {
  return report.findings.filter((f) => f.path === path).map((f) => f.rule).sort();
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
