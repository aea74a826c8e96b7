import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/shared.ts';
import { FIXTURES, task } from './fixtures.ts';

/** The audit and lint commands as a user runs them: exit codes, formats, stdin, suppressions, config. */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cwd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(repoRoot, 'src/cli/main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

const CLEAN = task('clean', '');

t.test('exit codes: 0 clean, 1 findings at --fail-on, 2 usage and parse errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'clean.yaml'), CLEAN);
  await writeFile(join(dir, 'injection.yaml'), FIXTURES.TA401!.positive);
  await writeFile(join(dir, 'notes.yaml'), FIXTURES.TA901!.positive);
  await writeFile(join(dir, 'broken.yaml'), FIXTURES.TA001!.positive);

  t.equal((await run(dir, ['audit', 'clean.yaml'])).code, 0, 'clean');
  const injection = await run(dir, ['audit', 'injection.yaml']);
  t.equal(injection.code, 1, 'an error finding');
  t.match(injection.stdout, /injection\.yaml\n\s+13:22\s+error\s+TA401/);
  t.match(injection.stdout, /How to fix\n[\s\S]*TA401 script-injection/);
  t.equal((await run(dir, ['audit', '--fail-on', 'none', 'injection.yaml'])).code, 0, '--fail-on none');
  t.equal((await run(dir, ['audit', 'notes.yaml'])).code, 0, 'notes do not fail by default');
  t.equal((await run(dir, ['audit', '--fail-on', 'note', 'notes.yaml'])).code, 1, 'notes fail with --fail-on note');

  const broken = await run(dir, ['audit', 'broken.yaml', 'injection.yaml']);
  t.equal(broken.code, 2, 'a parse error exits 2');
  t.match(broken.stdout, /broken\.yaml\n\s+3:1\s+error\s+TA001\s+YAML error/, 'with file, line and column');
  t.match(broken.stdout, /injection\.yaml\n\s+13:22\s+error\s+TA401/, 'and the other file is still audited');

  for (const args of [['audit'], ['audit', '--format', 'xml', 'clean.yaml'], ['audit', '--fail-on', 'bad', 'clean.yaml'], ['audit', 'missing.yaml'], ['lint', '--bogus', 'x']]) {
    const result = await run(dir, args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, /^tekton-catalog: error \[USAGE_AUDIT/);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack');
  }
  const help = await run(dir, ['lint', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: tekton-catalog lint/);
  const rules = await run(dir, ['audit', '--list-rules']);
  t.match(rules.stdout, /^TA001 {2}error/m);
  t.match(rules.stdout, /^TL101 {2}error/m);
});

t.test('stdin, JSON and the lint command', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await run(dir, ['lint', '--format', 'json', '--stdin-filename', 'pipeline.yaml', '-'], FIXTURES.TL101!.positive);
  t.equal(result.code, 1);
  const report = JSON.parse(result.stdout) as { findings: { ruleId: string; location: { file: string; line: number }; message: string }[]; mode: string };
  t.equal(report.mode, 'lint');
  t.same(report.findings.map((f) => [f.ruleId, f.location.file, f.location.line]), [['TL101', 'pipeline.yaml', 12]]);
  t.match(report.findings[0]!.message, /did you mean "certificate-oidc-issuer"/);
});

t.test('inline suppressions need a reason; config ignores and severities apply', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const withReason = FIXTURES.TA401!.positive.replace('    - name: run\n', '    # tekton-audit-ignore TA401: BUILD_ARGS is checked by validate-params first\n    - name: run\n');
  const withoutReason = FIXTURES.TA401!.positive.replace('    - name: run\n', '    # tekton-audit-ignore TA401\n    - name: run\n');
  await writeFile(join(dir, 'reason.yaml'), withReason);
  await writeFile(join(dir, 'noreason.yaml'), withoutReason);
  const ok = await run(dir, ['audit', '--format', 'json', 'reason.yaml']);
  t.equal(ok.code, 0, 'suppressed with a reason');
  const report = JSON.parse(ok.stdout) as { findings: { ruleId: string; suppression?: { reason: string } }[] };
  t.match(report.findings.find((f) => f.ruleId === 'TA401')?.suppression, { kind: 'inSource', reason: /validate-params/ });
  const bad = await run(dir, ['audit', 'noreason.yaml']);
  t.equal(bad.code, 1);
  t.match(bad.stdout, /TA003/);
  t.match(bad.stdout, /TA401/, 'and the finding stays');

  await writeFile(join(dir, 'config.yaml'), 'rules:\n  TA401: note\nignore:\n  - rules: [TA602]\n    reason: the base image runs as a fixed non-root user\n');
  const configured = JSON.parse((await run(dir, ['audit', '--config', 'config.yaml', '--format', 'json', 'noreason.yaml'])).stdout) as { findings: { ruleId: string; severity: string; suppression?: { kind: string } }[] };
  t.equal(configured.findings.find((f) => f.ruleId === 'TA401')?.severity, 'note', 'TA401 lowered to note');
  await writeFile(join(dir, 'ignore.yaml'), 'ignore:\n  - rules: [TA401]\n    paths: ["no*.yaml"]\n    reason: legacy Task, replaced in ticket 12\n');
  const ignored = JSON.parse((await run(dir, ['audit', '--config', 'ignore.yaml', '--format', 'json', 'noreason.yaml'])).stdout) as { findings: { ruleId: string; suppression?: { kind: string } }[] };
  t.match(ignored.findings.find((f) => f.ruleId === 'TA401')?.suppression, { kind: 'config' }, 'an ignore with a reason suppresses');
  t.notOk(ignored.findings.find((f) => f.ruleId === 'TA003')?.suppression, 'findings about the input are never suppressed');
  await writeFile(join(dir, 'input-config.yaml'), 'ignore:\n  - rules: [TA003]\n    reason: old comments are cleaned up in ticket 12\n');
  t.equal((await run(dir, ['audit', '--config', 'input-config.yaml', 'reason.yaml'])).code, 2, 'input rules cannot be configured');
  await writeFile(join(dir, 'bad-config.yaml'), 'rules:\n  TA9999: off\n');
  const badConfig = await run(dir, ['audit', '--config', 'bad-config.yaml', 'reason.yaml']);
  t.equal(badConfig.code, 2);
  t.match(badConfig.stderr, /CONFIG_AUDIT.*\n.*TA9999: is not a rule id/);
  await writeFile(join(dir, 'no-reason-config.yaml'), 'ignore:\n  - rules: [TA401]\n');
  t.equal((await run(dir, ['audit', '--config', 'no-reason-config.yaml', 'reason.yaml'])).code, 2, 'a config ignore needs a reason');
});

t.test('folders are walked without following symlinks', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'repo', '.tekton'), { recursive: true });
  await writeFile(join(dir, 'secret.yaml'), 'token: hunter2-secret-value\nkind: [\n');
  await writeFile(join(dir, 'repo', '.tekton', 'run.yaml'), FIXTURES.TA405!.positive);
  await symlink(join(dir, 'secret.yaml'), join(dir, 'repo', 'leak.yaml'));
  const result = await run(join(dir, 'repo'), ['audit', '.']);
  t.equal(result.code, 1);
  t.match(result.stdout, /\.tekton\/run\.yaml\n[\s\S]*TA405/);
  t.notMatch(result.stdout, /hunter2/, 'the symlinked file is not read');
  t.match(result.stdout, /1 path\(s\) skipped/);
  const direct = await run(join(dir, 'repo'), ['audit', 'leak.yaml']);
  t.equal(direct.code, 2, 'a symlink named directly is refused');
  t.notMatch(direct.stdout, /hunter2/);
});
