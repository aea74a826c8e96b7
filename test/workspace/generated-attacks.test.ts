// The generated attack trees of attacks.ts against the guard in every mode:
// seal, police and scrub see the workspace as planted; verify sees it
// planted after a clean seal. Each attack must be refused with its finding.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { execa } from 'execa';
import type { GuardReport } from '../../src/workspace/guard.ts';
import { mtimeChanges, plantedEntries, populate, replacedEntries, sealedXattrs, xattrAttacks, xattrChanges, type Attack } from './attacks.ts';
import { guard, requireXattrs, rulesAt, setXattr, tempWorkspace } from './fixtures.ts';

type Mode = 'seal' | 'police' | 'scrub' | 'verify';
const MODES: Mode[] = ['seal', 'police', 'scrub', 'verify'];

function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsg-state-'));
  t.teardown(() => execa('rm', ['-rf', dir]));
  return dir;
}

/**
 * Runs `mode` on a fresh populated workspace with `attacks` planted (for
 * verify: planted after a clean seal). Returns the report, or the error a
 * mode refused to run with (verify when its manifest itself was replaced).
 */
async function attacked(t: Test, mode: Mode, attacks: Attack[], bound: boolean): Promise<GuardReport | { code: string }> {
  const ws = tempWorkspace(t);
  const outside = tempWorkspace(t, 'wsg-outside-');
  populate(ws);
  const manifestPath = bound ? join(stateDir(t), 'manifest.ndjson') : undefined;
  const options = manifestPath ? { manifestPath } : {};
  let expectedDigest: string | undefined;
  if (mode === 'verify') {
    const sealed = await guard(ws, options).seal();
    t.equal(sealed.violations, 0, 'the clean tree seals');
    expectedDigest = sealed.manifestDigest;
  }
  for (const attack of attacks) await attack.plant(ws, outside);
  const run = guard(ws, { ...options, ...(expectedDigest ? { expectedDigest } : {}) });
  try {
    return await run.run(mode);
  } catch (error) {
    return { code: (error as { code?: string }).code ?? String(error) };
  }
}

function expectRefused(t: Test, outcome: GuardReport | { code: string }, attack: Attack, label: string): void {
  if ('code' in outcome) {
    // Only verify may refuse to run, and only because the manifest it reads was replaced.
    t.match(outcome.code, /^USAGE_MANIFEST_(MISSING|UNREADABLE)$/, `${label}: refused to run`);
    return;
  }
  t.ok(outcome.violations > 0, `${label}: fails`);
  if (outcome.mode === 'verify' && rulesAt(outcome, '.').includes('manifest-digest-mismatch')) {
    // The manifest verify reads was itself changed: its digest is the refusal.
    t.match(attack.id, /^manifest: /, `${label}: manifest-digest-mismatch`);
    return;
  }
  const rules = rulesAt(outcome, attack.path);
  if (!rules.includes(attack.rule)) t.fail(`${label}: expected ${attack.rule} at ${JSON.stringify(attack.path)}, got ${JSON.stringify(rules)}`);
  else t.pass(`${label}: ${attack.rule}`);
  if (outcome.mode === 'seal') t.equal(outcome.manifestDigest, undefined, `${label}: nothing sealed`);
}

t.test('planted entries in the reserved folder fail every mode', async (t) => {
  const attacks = plantedEntries();
  t.ok(attacks.length > 100, `${attacks.length} generated entries`);
  const shared = attacks.filter((a) => a.manifestBound === undefined);
  for (const mode of MODES) {
    const outcome = await attacked(t, mode, shared, mode === 'verify');
    for (const attack of shared) expectRefused(t, outcome, attack, `${mode}: ${attack.id}`);
  }
  for (const attack of attacks.filter((a) => a.manifestBound === true)) {
    for (const mode of MODES) expectRefused(t, await attacked(t, mode, [attack], true), attack, `${mode}: ${attack.id}`);
  }
});

t.test('a replaced marker, manifest or reserved folder fails every mode', async (t) => {
  const attacks = replacedEntries();
  t.ok(attacks.length > 20, `${attacks.length} generated variants`);
  for (const attack of attacks) {
    for (const mode of MODES) {
      const bound = attack.manifestBound ?? mode === 'verify';
      expectRefused(t, await attacked(t, mode, [attack], bound), attack, `${mode}: ${attack.id}`);
    }
  }
});

t.test('capabilities and ACLs on files, folders, links and the root fail every mode', async (t) => {
  if (!(await requireXattrs(t, tempWorkspace(t)))) return;
  const attacks = xattrAttacks();
  t.ok(attacks.length >= 15, `${attacks.length} generated attribute attacks`);
  for (const attack of attacks) {
    for (const mode of MODES) expectRefused(t, await attacked(t, mode, [attack], true), attack, `${mode}: ${attack.id}`);
  }
});

t.test('attribute changes after seal fail verify, though police allows them', async (t) => {
  if (!(await requireXattrs(t, tempWorkspace(t)))) return;
  for (const attack of xattrChanges()) {
    const ws = tempWorkspace(t);
    populate(ws);
    await sealedXattrs(ws);
    const sealed = await guard(ws).seal();
    t.equal(sealed.violations, 0, `${attack.id}: seals with user attributes`);
    await attack.plant(ws, ws);
    const police = await guard(ws).police();
    t.equal(police.violations, 0, `${attack.id}: police does not refuse the attribute itself`);
    const verify = await guard(ws, { expectedDigest: sealed.manifestDigest! }).verify();
    expectRefused(t, verify, attack, `verify: ${attack.id}`);
    t.same(verify.findings.map((f) => f.rule), ['xattrs-changed'], `${attack.id}: nothing else`);
  }
});

t.test('SELinux labels are neither sealed nor policed: a relabelled volume verifies clean', async (t) => {
  const ws = tempWorkspace(t);
  if (!(await requireXattrs(t, ws))) return;
  populate(ws);
  const label = (level: string) => Buffer.from(`system_u:object_r:container_file_t:s0:${level}`);
  for (const path of ['.', 'src', 'src/main.ts', 'build.sh']) await setXattr(join(ws, path), 'security.selinux', label('c1,c2'));
  await setXattr(join(ws, 'entry'), 'security.selinux', label('c1,c2'), { onLink: true });
  const sealed = await guard(ws).seal();
  t.equal(sealed.violations, 0, JSON.stringify(sealed.findings.slice(0, 3)));
  // The next pod gets another MCS level, and the runtime relabels the volume.
  for (const path of ['.', 'src', 'src/main.ts', 'build.sh']) await setXattr(join(ws, path), 'security.selinux', label('c7,c9'));
  const verify = await guard(ws, { expectedDigest: sealed.manifestDigest! }).verify();
  t.equal(verify.violations, 0, JSON.stringify(verify.findings.slice(0, 3)));
});

t.test('strict mode: an mtime-only change fails verify; without it, it passes', async (t) => {
  for (const attack of mtimeChanges()) {
    for (const strict of [true, false]) {
      const ws = tempWorkspace(t);
      populate(ws);
      const sealed = await guard(ws, { mtimes: strict }).seal();
      t.equal(sealed.violations, 0);
      await attack.plant(ws, ws);
      const verify = await guard(ws, { mtimes: strict, expectedDigest: sealed.manifestDigest! }).verify();
      if (strict) {
        expectRefused(t, verify, attack, `strict: ${attack.id}`);
        t.same(verify.findings.map((f) => f.rule), ['mtime-changed'], `${attack.id}: nothing else changed`);
      } else {
        t.equal(verify.violations, 0, `not strict: ${attack.id} passes, as documented`);
      }
    }
  }
});

t.test('strict mode: the sealed choice binds verify, folders are not timed', async (t) => {
  const ws = tempWorkspace(t);
  populate(ws);
  const strict = await guard(ws, { mtimes: true }).seal();
  await execa('touch', ['-d', '2001-01-01', join(ws, 'src/main.ts'), join(ws, 'src')]);
  const lax = await guard(ws, { expectedDigest: strict.manifestDigest! }).verify();
  t.same(lax.findings.map((f) => `${f.rule}:${f.path}`), ['mtime-changed:src/main.ts'], 'a strict manifest is verified strictly; the folder mtime is not compared');
  const ws2 = tempWorkspace(t);
  populate(ws2);
  const plain = await guard(ws2).seal();
  const asked = await guard(ws2, { mtimes: true, expectedDigest: plain.manifestDigest! }).verify();
  t.same(asked.findings.map((f) => f.rule), ['mtimes-not-sealed'], 'strict verify of a manifest sealed without mtimes fails');
});
