import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { execa } from 'execa';
import { WorkspaceGuard, type GuardOptions, type GuardReport } from '../../src/workspace/guard.ts';

/** A fresh workspace folder under /tmp, removed after the test (rm -rf copes with any depth). */
export function tempWorkspace(t: Test, prefix = 'wsg-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
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
