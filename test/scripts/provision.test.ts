/**
 * scripts/provision.sh, which npm test and .ci/run both call first: as root
 * it stops with one message when the step user (uid 65532) cannot enter a
 * folder above the checkout, since the step-program tests run as that user
 * straight from the checkout and would otherwise fail with exit 126 and no
 * reason (a clone under root's 0700 home does that).
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { repoRoot, requireRoot } from '../harness/shared.ts';

/** A stand-in checkout holding only the script, under `parentMode`. */
function checkout(t: Test, parentMode: number): { parent: string; script: string } {
  const parent = mkdtempSync(join(tmpdir(), 'provision-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  mkdirSync(join(parent, 'repo', 'scripts'), { recursive: true });
  const script = join(parent, 'repo', 'scripts', 'provision.sh');
  copyFileSync(join(repoRoot, 'scripts', 'provision.sh'), script);
  chmodSync(parent, parentMode);
  return { parent, script };
}

t.test('a checkout the step user cannot reach stops the tests with one message that names the folder and the fix', async (t) => {
  if (!requireRoot(t, 'the check runs only as root, where the tests switch to uid 65532')) return;
  const { parent, script } = checkout(t, 0o700);
  const run = await execa('bash', [script], { reject: false, cwd: tmpdir() });
  t.equal(run.exitCode, 1, 'provision fails');
  t.match(run.stderr, `cannot enter ${parent}, a folder above this checkout`);
  t.match(run.stderr, `chmod o+x ${parent}`);
  t.notMatch(run.stderr, /exit 126|at .*\.ts:/, 'no stack trace, no bare exit code');
});

t.test('a checkout the step user can reach passes the check', async (t) => {
  if (!requireRoot(t, 'the check runs only as root, where the tests switch to uid 65532')) return;
  const { script } = checkout(t, 0o755);
  const run = await execa('bash', [script], { reject: false, cwd: tmpdir() });
  t.notMatch(run.stderr, /cannot enter/, 'no access complaint');
  t.equal(run.exitCode, 0, 'provision passes (the Debian tools are installed by now)');
});
