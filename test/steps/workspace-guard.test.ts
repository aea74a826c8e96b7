import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import { bundleStep } from '../../src/build/bundle-step.ts';
import { formatTaskInputs, TASK_INPUTS_ENV } from '../../src/step/task-inputs.ts';
import { repoRoot } from '../harness/shared.ts';
import { RUN_A, RUN_B, requireXattrs, tempWorkspace } from '../workspace/fixtures.ts';

// The real program as the image runs it: one esbuild bundle, run by node, worker threads included.
const work = mkdtempSync(join(tmpdir(), 'wsg-step-'));
t.teardown(() => execa('rm', ['-rf', work]));
const bundle = await bundleStep(repoRoot, 'workspace-guard');
const program = join(work, 'workspace-guard.mjs');
writeFileSync(program, bundle.code);

async function run(env: Record<string, string>, args: string[] = []) {
  const results = mkdtempSync(join(work, 'results-'));
  const metrics = join(results, 'metrics.prom');
  const child = await execa(process.execPath, [program, ...args], {
    env: { TEKTON_RESULTS_DIR: results, TEKTON_CATALOG_METRICS_FILE: metrics, ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  const result = (name: string) => readFileSync(join(results, name), 'utf8');
  return { ...child, result, metrics: () => readFileSync(metrics, 'utf8') };
}

t.test('--help explains modes and exit codes', async (t) => {
  const child = await run({}, ['--help']);
  t.equal(child.exitCode, 0);
  t.match(child.stdout, /seal.*verify.*police.*scrub/s);
  t.match(child.stdout, /exit codes: 0 clean, 1 violations found, 2 usage error, 3 failure/);
});

t.test('usage errors exit 2 without a stack trace', async (t) => {
  const ws = tempWorkspace(t);
  for (const [env, code] of [
    [{ MODE: 'explode', TARGET: ws }, /USAGE/],
    [{ MODE: 'verify', TARGET: ws, RUN_UID: RUN_A }, /USAGE_EXPECTED_DIGEST/],
    [{ MODE: 'seal', TARGET: ws }, /USAGE_RUN_UID_MISSING/],
    [{ MODE: 'police', TARGET: join(ws, 'nope'), RUN_UID: RUN_A }, /USAGE_TARGET_NOT_DIRECTORY/],
  ] as const) {
    const child = await run(env);
    t.equal(child.exitCode, 2, JSON.stringify(env.MODE));
    t.match(child.stderr, code);
    t.notMatch(child.stderr, /\n\s+at /, 'no stack trace');
  }
});

t.test('inside the Task, usage errors name the Task params and workspaces, never the program\'s flags or env vars', async (t) => {
  const ws = tempWorkspace(t);
  const definition = (await import('../../tasks/workspace-guard/task.ts')).default;
  const inputs = formatTaskInputs(definition.steps[0]!);
  for (const [env, named] of [
    [{ MODE: 'explode', TARGET: ws }, 'param "mode"'],
    [{ MODE: 'police', TARGET: '', RUN_UID: RUN_A }, 'workspace "target"'],
    [{ MODE: 'police', TARGET: ws, RUN_UID: RUN_A, ALLOWED_UIDS: 'root' }, 'param "allowed-uids"'],
  ] as const) {
    const child = await run({ ...env, [TASK_INPUTS_ENV]: inputs });
    t.equal(child.exitCode, 2, named);
    t.match(child.stderr, named, `the message names ${named}`);
    t.notMatch(child.stderr, /--(mode|target|allowed-uids)\b|\b(MODE|TARGET|ALLOWED_UIDS)\b|--help/, 'and no flag, env var or --help');
  }
  const seal = await run({ MODE: 'seal', TARGET: ws, [TASK_INPUTS_ENV]: inputs });
  t.match(seal.stderr, /USAGE_RUN_UID_MISSING.*\n.*hint: pass the run-uid param/, 'a missing run uid names the run-uid param');
});

t.test('seal, then verify in the next task, with results, report and metrics', async (t) => {
  const ws = tempWorkspace(t);
  const state = tempWorkspace(t, 'wsg-state-');
  const reports = tempWorkspace(t, 'wsg-report-');
  mkdirSync(join(ws, 'src'));
  writeFileSync(join(ws, 'src/main.ts'), 'export {}\n');
  const seal = await run({ MODE: 'seal', TARGET: ws, RUN_UID: RUN_A, MANIFEST_DIR: state, REPORT_DIR: reports });
  t.equal(seal.exitCode, 0, seal.stderr);
  const digest = seal.result('manifest-digest');
  t.match(digest, /^sha256:[0-9a-f]{64}$/);
  t.equal(seal.result('violations'), '0');
  t.same(JSON.parse(seal.result('summary')), { mode: 'seal', entries: 3, files: 1, bytes: 10, violations: 0, byRule: {} });
  t.equal(JSON.parse(readFileSync(join(reports, 'workspace-guard-seal-report.json'), 'utf8')).manifestDigest, digest);

  const clean = await run({ MODE: 'verify', TARGET: ws, RUN_UID: RUN_A, MANIFEST_DIR: state, EXPECTED_DIGEST: digest });
  t.equal(clean.exitCode, 0, clean.stderr);

  writeFileSync(join(ws, 'src/evil\nname.ts'), 'x');
  symlinkSync('/var/run/secrets', join(ws, 'secrets'));
  mkdirSync(join(ws, 'dist'));
  writeFileSync(join(ws, 'dist/out.js'), 'x');
  const dirty = await run(
    { MODE: 'verify', TARGET: ws, RUN_UID: RUN_A, MANIFEST_DIR: state, EXPECTED_DIGEST: digest, TASK_LABEL: 'verify-source', WORKSPACE_LABEL: 'source' },
    ['--', 'dist/**'],
  );
  t.equal(dirty.exitCode, 1);
  t.match(dirty.stderr, /symlink-escape: "secrets"/);
  t.match(dirty.stderr, /control-character-name: "src\/evil\\nname\.ts"/, 'the newline is shown escaped');
  t.notMatch(dirty.stderr, /dist\/out\.js/, 'allowed changes are not violations');
  const summary = JSON.parse(dirty.result('summary'));
  t.equal(summary.violations, 4);
  t.same(summary.byRule, { added: 2, 'control-character-name': 1, 'symlink-escape': 1 });
  t.ok(Buffer.byteLength(dirty.result('summary')) < 1024);
  t.equal(dirty.metrics(), 'tekton_workspace_access_violations_total{task="verify-source",workspace="source"} 4\n');
});

t.test('run B fails on run A\'s workspace', async (t) => {
  const ws = tempWorkspace(t);
  writeFileSync(join(ws, 'file'), 'x');
  t.equal((await run({ MODE: 'seal', TARGET: ws, RUN_UID: RUN_A })).exitCode, 0);
  const other = await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_B });
  t.equal(other.exitCode, 1);
  t.match(other.stderr, /foreign-run-marker/);
});

t.test('scrub removes credential files and names them by kind only', async (t) => {
  const ws = tempWorkspace(t);
  mkdirSync(join(ws, '.docker'));
  const secret = 'Ym90OnRvcC1zZWNyZXQ=';
  writeFileSync(join(ws, '.docker/config.json'), `{"auths":{"r.example.com":{"auth":"${secret}"}}}`);
  writeFileSync(join(ws, 'keep.txt'), 'harmless');
  const police = await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_A });
  t.equal(police.exitCode, 1);
  t.match(police.stderr, /credential docker-config-auths: "\.docker\/config\.json"/);
  const scrub = await run({ MODE: 'scrub', TARGET: ws });
  t.equal(scrub.exitCode, 0, scrub.stderr);
  t.match(scrub.stderr, /scrubbed docker-config-auths: "\.docker\/config\.json"/);
  t.notMatch(scrub.stderr + scrub.stdout, secret);
  t.throws(() => readFileSync(join(ws, '.docker/config.json')), { code: 'ENOENT' });
  t.equal(readFileSync(join(ws, 'keep.txt'), 'utf8'), 'harmless');
  t.equal((await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_A })).exitCode, 0, 'clean after scrub');
});

t.test('COMPARE_MTIMES: a touched file fails a strict verify and is named', async (t) => {
  const ws = tempWorkspace(t);
  const state = tempWorkspace(t, 'wsg-state-');
  writeFileSync(join(ws, 'out.js'), 'built\n');
  const seal = await run({ MODE: 'seal', TARGET: ws, RUN_UID: RUN_A, MANIFEST_DIR: state, COMPARE_MTIMES: 'true' });
  t.equal(seal.exitCode, 0, seal.stderr);
  utimesSync(join(ws, 'out.js'), new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
  const verify = await run({ MODE: 'verify', TARGET: ws, RUN_UID: RUN_A, MANIFEST_DIR: state, EXPECTED_DIGEST: seal.result('manifest-digest'), COMPARE_MTIMES: 'true' });
  t.equal(verify.exitCode, 1);
  t.match(verify.stderr, /mtime-changed: "out\.js" \(\d{4}-\d\d-\d\dT[\d:]+\.\d{9}Z -> 2030-01-01T00:00:00\.000000000Z\)/);
  const bad = await run({ MODE: 'seal', TARGET: ws, RUN_UID: RUN_A, COMPARE_MTIMES: 'yes' });
  t.equal(bad.exitCode, 2, 'only true or false');
  t.match(bad.stderr, /COMPARE_MTIMES: must be true or false/);
});

t.test('a hook planted in the reserved folder fails the step; a report folder inside the target is a usage error', async (t) => {
  const ws = tempWorkspace(t);
  writeFileSync(join(ws, 'file'), 'x');
  mkdirSync(join(ws, '.tekton-workspace-guard/hooks'), { recursive: true });
  writeFileSync(join(ws, '.tekton-workspace-guard/hooks/post-checkout'), '#!/bin/sh\n', { mode: 0o755 });
  const police = await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_A });
  t.equal(police.exitCode, 1);
  t.match(police.stderr, /reserved-folder: "\.tekton-workspace-guard\/hooks"/);
  t.match(police.stderr, /reserved-folder: "\.tekton-workspace-guard\/hooks\/post-checkout"/);
  const inside = await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_A, REPORT_DIR: join(ws, 'reports') });
  t.equal(inside.exitCode, 2);
  t.match(inside.stderr, /USAGE_OUTPUT_INSIDE_TARGET/);
});

t.test('a file capability fails the step by name', async (t) => {
  const ws = tempWorkspace(t);
  if (!(await requireXattrs(t, ws))) return;
  writeFileSync(join(ws, 'ping'), '\x7fELF');
  await execa('setcap', ['cap_net_raw+ep', join(ws, 'ping')]);
  const police = await run({ MODE: 'police', TARGET: ws, RUN_UID: RUN_A });
  t.equal(police.exitCode, 1);
  t.match(police.stderr, /file-capability: "ping" \(security\.capability grants privileges when the file runs\)/);
});
