import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

/** The repository root, found from this file so tests work from any cwd. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared sits beside the repository in the workplace and nowhere else. */
export const sharedRoot = resolve(repoRoot, '..', 'shared');

/**
 * Returns the absolute path of a folder under ../shared, or undefined after
 * marking the test skipped with the missing folder's name. Under CI=true a
 * missing folder fails the test instead: CI must never pass by skipping.
 */
export function sharedPath(t: Test, relative: string): string | undefined {
  const path = join(sharedRoot, relative);
  if (existsSync(path)) return path;
  const message = `missing ../shared/${relative} (test data outside the repository)`;
  if (process.env.CI === 'true') {
    t.fail(`${message}; CI=true requires it`);
  } else {
    t.skip(message, () => {});
  }
  return undefined;
}

/**
 * Skips (or under CI=true, fails) a test that needs root, e.g. for chroot.
 * Returns true when the test may go on.
 */
export function requireRoot(t: Test, why: string): boolean {
  if (process.getuid?.() === 0) return true;
  const message = `needs root: ${why}`;
  if (process.env.CI === 'true') t.fail(`${message}; CI=true requires it`);
  else t.skip(message, () => {});
  return false;
}

/**
 * Skips (or under CI=true, fails) a test that runs a tool we did not write
 * when it is not installed (scripts/provision.sh installs it). Returns its
 * path when the test may go on.
 */
export function requireTool(t: Test, command: string, aptPackage: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin'])) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  const message = `needs ${command} (apt-get install ${aptPackage})`;
  if (process.env.CI === 'true') t.fail(`${message}; CI=true requires it`);
  else t.skip(message, () => {});
  return undefined;
}
