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

/** Sets one extended attribute with Debian's setfattr; `-h` sets it on a symlink itself. */
export async function setXattr(path: string, name: string, value: Buffer | string = '', { onLink = false } = {}): Promise<void> {
  const hex = `0x${Buffer.from(value).toString('hex')}`;
  await execa('setfattr', [...(onLink ? ['-h'] : []), '-n', name, '-v', hex, '--', path]);
}

/**
 * The extended-attribute tests need setfattr (attr), setcap (libcap2-bin)
 * and setfacl (acl) on the host, and a file system that stores user,
 * security and system attributes. Without them they fail, naming what is
 * missing: passing without testing would hide a hole.
 */
export async function requireXattrs(t: Test, dir: string): Promise<boolean> {
  const probe = join(dir, `.xattr-probe-${process.pid}`);
  const steps: [string, string[]][] = [
    ['setfattr', ['-n', 'user.probe', '-v', '0x01', probe]],
    ['setcap', ['cap_net_raw+ep', probe]],
    ['setfacl', ['-m', 'u:4242:r', probe]],
  ];
  try {
    await execa('touch', [probe]);
    for (const [tool, args] of steps) {
      const result = await execa(tool, args, { reject: false });
      if (result.exitCode !== 0) {
        t.fail(`${tool} ${args.join(' ')} failed on ${dir} (${result.stderr.trim() || result.message}): install Debian's attr, libcap2-bin and acl, and run on a file system with xattr and ACL support`);
        return false;
      }
    }
    return true;
  } finally {
    rmSync(probe, { force: true });
  }
}
