import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/shared.ts';
import { FIXTURES } from '../audit/fixtures.ts';

/** The audit step program with the env and args its Task passes. */

function runStep(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'steps/audit/main.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

t.test('audits a workspace, writes small results and the full reports', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-step-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = join(dir, 'source');
  await mkdir(join(source, '.tekton'), { recursive: true });
  await writeFile(join(source, '.tekton', 'pipeline.yaml'), FIXTURES.TL101!.positive);
  await writeFile(join(source, '.tekton', 'task.yaml'), FIXTURES.TA401!.positive);
  const env = { SOURCE: source, MODE: 'audit', FAIL_ON: 'error', CONFIG: '', REPORT_DIR: join(dir, 'report'), TEKTON_RESULTS_DIR: join(dir, 'results') };
  const result = await runStep(env, ['--', '.tekton']);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stdout, /TL101.*did you mean "certificate-oidc-issuer"/, 'lints against the bundled catalog definitions');
  t.match(result.stdout, /TA401/);
  t.equal(await readFile(join(dir, 'results', 'findings'), 'utf8'), '2');
  const summary = JSON.parse(await readFile(join(dir, 'results', 'summary'), 'utf8')) as { errors: number; byRule: Record<string, number> };
  t.equal(summary.errors, 2);
  t.same(summary.byRule, { TA401: 1, TL101: 1 });
  const sarif = JSON.parse(await readFile(join(dir, 'report', 'audit-report.sarif'), 'utf8')) as { version: string; runs: { results: unknown[] }[] };
  t.equal(sarif.version, '2.1.0');
  t.equal(sarif.runs[0]!.results.length, 2);
  t.ok((await readFile(join(dir, 'report', 'audit-report.json'), 'utf8')).includes('"TL101"'));

  t.equal((await runStep({ ...env, FAIL_ON: 'none' }, ['--', '.tekton'])).code, 0, 'fail-on none');
  const escape = await runStep(env, ['--', '../']);
  t.equal(escape.code, 2, 'a path climbing out of the source is refused');
  t.match(escape.stderr, /paths entry "\.\.\/" must be a path or glob inside the source workspace/);
  const badMode = await runStep({ ...env, MODE: 'scan' }, []);
  t.equal(badMode.code, 2);
});
