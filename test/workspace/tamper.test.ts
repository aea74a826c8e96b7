import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { RESERVED_DIR, MARKER_NAME } from '../../src/workspace/marker.ts';
import { requireRoot } from '../harness/shared.ts';
import { RUN_A, RUN_B, guard, rulesAt, tempWorkspace } from './fixtures.ts';

/** A small tree a trusted task might leave behind. */
function populate(ws: string): void {
  mkdirSync(join(ws, 'src/lib'), { recursive: true });
  mkdirSync(join(ws, 'dist'));
  writeFileSync(join(ws, 'src/main.ts'), 'export const x = 1;\n');
  writeFileSync(join(ws, 'src/lib/util.ts'), 'export const y = 2;\n');
  writeFileSync(join(ws, 'build.sh'), '#!/bin/sh\necho build\n');
  chmodSync(join(ws, 'build.sh'), 0o755);
  symlinkSync('src/main.ts', join(ws, 'entry'));
  writeFileSync(join(ws, 'dist/app.js'), 'console.log(1)\n');
}

async function sealed(t: Test, manifestOutside = false) {
  const ws = tempWorkspace(t);
  populate(ws);
  let manifestPath: string | undefined;
  if (manifestOutside) {
    const state = mkdtempSync(join(tmpdir(), 'wsg-state-'));
    t.teardown(() => execa('rm', ['-rf', state]));
    manifestPath = join(state, 'manifest.ndjson');
  }
  const report = await guard(ws, manifestPath ? { manifestPath } : {}).seal();
  t.equal(report.violations, 0, 'seals clean');
  t.match(report.manifestDigest, /^sha256:[0-9a-f]{64}$/);
  const verify = (options = {}) =>
    guard(ws, { expectedDigest: report.manifestDigest!, ...(manifestPath ? { manifestPath } : {}), ...options }).verify();
  return { ws, digest: report.manifestDigest!, manifestPath: manifestPath ?? join(ws, RESERVED_DIR, 'manifest.ndjson'), verify };
}

t.test('an untouched workspace verifies clean, and sealing is deterministic', async (t) => {
  const { ws, digest, verify } = await sealed(t);
  const report = await verify();
  t.equal(report.violations, 0);
  t.same(report.findings, []);
  const again = await guard(ws).seal();
  t.equal(again.manifestDigest, digest, 're-sealing the same tree gives the same digest');
});

const tampers: [string, (ws: string) => void | Promise<void>, string, string][] = [
  ['content', (ws) => appendFileSync(join(ws, 'src/main.ts'), '// backdoor\n'), 'src/main.ts', 'modified'],
  ['mode', (ws) => chmodSync(join(ws, 'src/main.ts'), 0o700), 'src/main.ts', 'mode-changed'],
  ['added', (ws) => writeFileSync(join(ws, 'src/planted'), 'payload'), 'src/planted', 'added'],
  ['removed', (ws) => unlinkSync(join(ws, 'src/lib/util.ts')), 'src/lib/util.ts', 'removed'],
  ['symlink retarget', (ws) => (unlinkSync(join(ws, 'entry')), symlinkSync('src/lib/util.ts', join(ws, 'entry'))), 'entry', 'symlink-retargeted'],
  ['type change', (ws) => (unlinkSync(join(ws, 'build.sh')), mkdirSync(join(ws, 'build.sh'), { mode: 0o755 })), 'build.sh', 'type-changed'],
  ['uid change', (ws) => chownSync(join(ws, 'src/main.ts'), 1000, 0), 'src/main.ts', 'owner-changed'],
];

for (const [name, tamper, path, rule] of tampers) {
  t.test(`seal -> ${name} -> verify fails`, async (t) => {
    const { ws, verify } = await sealed(t);
    await tamper(ws);
    const report = await verify();
    t.ok(report.violations > 0);
    t.ok(rulesAt(report, path).includes(rule), `${rule} at ${path}: ${JSON.stringify(report.findings)}`);
  });
}

t.test('seal -> rename -> verify reports both names', async (t) => {
  const { ws, verify } = await sealed(t);
  renameSync(join(ws, 'src/lib/util.ts'), join(ws, 'src/lib/util2.ts'));
  const report = await verify();
  t.same(rulesAt(report, 'src/lib/util.ts'), ['removed']);
  t.same(rulesAt(report, 'src/lib/util2.ts'), ['added']);
});

t.test('changes under allow globs pass; others still fail', async (t) => {
  const { ws, verify } = await sealed(t);
  writeFileSync(join(ws, 'dist/app.js'), 'rebuilt');
  mkdirSync(join(ws, 'dist/chunks'));
  writeFileSync(join(ws, 'dist/chunks/1.js'), 'x');
  const allowed = await verify({ allowGlobs: ['dist/**'] });
  t.equal(allowed.violations, 0);
  t.equal(allowed.allowedChanges, 3);
  writeFileSync(join(ws, 'src/new.ts'), 'x');
  const mixed = await verify({ allowGlobs: ['dist/**'] });
  t.same(mixed.findings.map((f) => `${f.rule}:${f.path}`), ['added:src/new.ts']);
});

t.test('an allow glob does not excuse a police violation', async (t) => {
  const { ws, verify } = await sealed(t);
  symlinkSync('/var/run/secrets', join(ws, 'dist/secrets'));
  const report = await verify({ allowGlobs: ['dist/**'] });
  t.same(rulesAt(report, 'dist/secrets'), ['symlink-escape']);
});

t.test('a changed manifest is caught by its digest, wherever it is kept', async (t) => {
  for (const outside of [false, true]) {
    const { manifestPath, verify } = await sealed(t, outside);
    const text = readFileSync(manifestPath, 'utf8');
    writeFileSync(manifestPath, text.replace(/"size":\d+/, '"size":999'));
    const report = await verify();
    t.same(report.findings.map((f) => f.rule), ['manifest-digest-mismatch'], `manifest ${outside ? 'outside' : 'inside'}`);
    writeFileSync(manifestPath, 'garbage\n');
    t.same((await verify()).findings.map((f) => f.rule), ['manifest-digest-mismatch']);
  }
});

t.test('verify refuses to run without a digest or manifest', async (t) => {
  const { ws, manifestPath } = await sealed(t);
  await t.rejects(guard(ws).verify(), { code: 'USAGE_EXPECTED_DIGEST' });
  rmSync(manifestPath);
  await t.rejects(guard(ws, { expectedDigest: `sha256:${'0'.repeat(64)}` }).verify(), { code: 'USAGE_MANIFEST_MISSING' });
  await t.rejects(guard(ws, { runUid: undefined }).seal(), { code: 'USAGE_RUN_UID_MISSING' });
});

t.test('two runs share a volume: run B is failed by run A\'s traces', async (t) => {
  const { ws, digest } = await sealed(t);
  t.equal(readFileSync(join(ws, RESERVED_DIR, MARKER_NAME), 'utf8').trim(), RUN_A, 'seal marks the workspace with run A');
  // Run A plants a binary after sealing; run B arrives on the same volume.
  writeFileSync(join(ws, 'tool'), '#!/bin/sh\ncurl attacker\n', { mode: 0o755 });
  const police = await guard(ws, { runUid: RUN_B }).police();
  t.ok(rulesAt(police, RESERVED_DIR).includes('foreign-run-marker'), 'police in run B sees run A\'s marker');
  t.equal(police.violations, 1);
  const verify = await guard(ws, { runUid: RUN_B, expectedDigest: digest }).verify();
  t.ok(rulesAt(verify, RESERVED_DIR).includes('foreign-run-marker'));
  t.ok(rulesAt(verify, '.').includes('manifest-run-mismatch'), 'the manifest was sealed by another run');
  t.ok(rulesAt(verify, 'tool').includes('added'));
  const seal = await guard(ws, { runUid: RUN_B }).seal();
  t.equal(seal.manifestDigest, undefined, 'run B cannot seal over run A\'s workspace');
  t.equal(readFileSync(join(ws, RESERVED_DIR, MARKER_NAME), 'utf8').trim(), RUN_A, 'and does not overwrite its marker');
});

t.test('a deleted marker fails verify', async (t) => {
  const { ws, verify } = await sealed(t);
  unlinkSync(join(ws, RESERVED_DIR, MARKER_NAME));
  t.ok(rulesAt(await verify(), RESERVED_DIR).includes('marker-missing'));
});

t.test('what the guard writes may not be part of the target', async (t) => {
  const ws = tempWorkspace(t);
  populate(ws);
  t.throws(() => guard(ws, { manifestPath: join(ws, 'state', 'manifest.ndjson') }), { code: 'USAGE_MANIFEST_INSIDE_TARGET' });
  t.throws(() => guard(ws, { manifestPath: join(ws, RESERVED_DIR, 'other.ndjson') }), { code: 'USAGE_MANIFEST_INSIDE_TARGET' }, 'only the default name in the reserved folder');
  t.throws(() => guard(ws, { outputDirs: [join(ws, 'reports')] }), { code: 'USAGE_OUTPUT_INSIDE_TARGET' });
  t.throws(() => guard(ws, { outputDirs: [ws] }), { code: 'USAGE_OUTPUT_INSIDE_TARGET' });
});

t.test('the manifest or report workspace bound inside the target is found by inode', async (t) => {
  if (!requireRoot(t, 'bind mounts')) return;
  const ws = tempWorkspace(t);
  populate(ws);
  const state = tempWorkspace(t, 'wsg-state-');
  const reports = tempWorkspace(t, 'wsg-report-');
  for (const [name, source] of [['guard-state', state], ['guard-reports', reports]] as const) {
    mkdirSync(join(ws, name));
    await execa('mount', ['--bind', source, join(ws, name)]);
    t.teardown(() => execa('umount', [join(ws, name)]));
  }
  const report = await guard(ws, { manifestPath: join(state, 'manifest.ndjson'), outputDirs: [reports] }).seal();
  t.match(report.findings.find((f) => f.path === 'guard-state'), { rule: 'guard-state-in-target', detail: /manifest workspace/ });
  t.match(report.findings.find((f) => f.path === 'guard-reports'), { rule: 'guard-state-in-target', detail: /report workspace/ });
  t.equal(report.manifestDigest, undefined);
});

t.test('seal writes through the reserved folder, never through a link in its place', async (t) => {
  const ws = tempWorkspace(t);
  populate(ws);
  const elsewhere = tempWorkspace(t, 'wsg-elsewhere-');
  symlinkSync(elsewhere, join(ws, RESERVED_DIR));
  const report = await guard(ws).seal();
  t.ok(rulesAt(report, RESERVED_DIR).includes('reserved-folder'));
  t.ok(report.counts.entries > 5, 'the rest of the tree was still walked and reported');
  t.same(readdirSync(elsewhere), [], 'nothing was written where the link points');
});
