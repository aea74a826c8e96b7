import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { Auditor, AUDIT_TOOL, renderSarif } from '../../src/audit/index.ts';
import { sharedPath } from '../harness/shared.ts';
import { FIXTURES } from './fixtures.ts';
import { repoCatalog } from './harness.ts';

/**
 * The SARIF output against Microsoft's own validator (@microsoft/sarif-multitool,
 * `validate`, offline), with its SARIF and GitHub code scanning rule kinds:
 * no error or warning may come back.
 */

const multitool = createRequire(import.meta.url)('@microsoft/sarif-multitool-linux') as string;

interface SarifLog {
  runs: {
    tool: { driver: { name: string; rules: { id: string; name: string; help: { markdown: string }; properties: Record<string, unknown> }[] } };
    results: { ruleId: string; ruleIndex: number; level: string; partialFingerprints: Record<string, string>; suppressions?: { justification: string }[]; locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn: number; endLine: number; endColumn: number } } }[] }[];
  }[];
}

async function validate(t: Test, sarif: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sarif-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const input = join(dir, `${name}.sarif`);
  const output = join(dir, `${name}.validation.sarif`);
  await writeFile(input, sarif);
  const { stdout } = await promisify(execFile)(multitool, ['validate', input, '-o', output, '--rule-kind', 'Sarif;Gh', '--level', 'Error;Warning', '--log', 'ForceOverwrite'], {
    encoding: 'utf8',
    env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
  });
  t.match(stdout, /Analysis completed successfully/, `${name}: the validator ran`);
  const validation = JSON.parse(await readFile(output, 'utf8')) as { runs: { results?: { ruleId: string; message: { text?: string; arguments?: string[] } }[] }[] };
  const problems = validation.runs[0]!.results ?? [];
  t.same(problems.map((p) => `${p.ruleId}: ${p.message.text ?? (p.message.arguments ?? []).join(' ')}`), [], `${name}: no SARIF or GitHub errors or warnings`);
}

t.test('every rule and a suppressed finding, in SARIF that validates', async (t) => {
  const files = Object.entries(FIXTURES).map(([id, f]) => ({ name: `fixtures/${id.toLowerCase()}.yaml`, text: f.positive }));
  files.push({ name: 'fixtures/suppressed.yaml', text: FIXTURES.TA401!.positive.replace('    - name: run\n', '    # tekton-audit-ignore TA401: checked by validate-params first\n    - name: run\n') });
  const report = await new Auditor({ catalog: await repoCatalog() }).auditFiles(files);
  const sarif = renderSarif(report, AUDIT_TOOL, { baseDir: '/work/repo' });
  const log = JSON.parse(sarif) as SarifLog;
  const run = log.runs[0]!;
  t.equal(run.tool.driver.name, AUDIT_TOOL.name);
  t.ok(run.tool.driver.rules.length >= 36, 'every rule is in tool.driver.rules');
  for (const rule of run.tool.driver.rules) {
    t.match(rule.name, /^[A-Z][A-Za-z0-9]+$/, `${rule.id} has a Pascal-case name`);
    t.ok(rule.help.markdown.length > 0, `${rule.id} has help`);
    if (rule.id.startsWith('TA') && Number(rule.id.slice(2)) >= 100) t.match(rule.properties['security-severity'], /^\d+\.\d$/, `${rule.id} has a security-severity`);
  }
  const fired = new Set(run.results.map((r) => r.ruleId));
  t.same(Object.keys(FIXTURES).filter((id) => !fired.has(id)), [], 'every rule has a result');
  for (const result of run.results) {
    t.equal(run.tool.driver.rules[result.ruleIndex]!.id, result.ruleId, 'ruleIndex points at the rule');
    t.match(result.partialFingerprints['tektonAudit/v1'], /^[0-9a-f]{32}$/);
    const location = result.locations[0]!.physicalLocation;
    t.equal(location.artifactLocation.uriBaseId, '%SRCROOT%');
    t.ok(location.region.startLine >= 1 && location.region.startColumn >= 1, 'region is 1-based');
  }
  t.ok(run.results.some((r) => r.suppressions?.[0]?.justification === 'checked by validate-params first'), 'suppression with its justification');
  await validate(t, sarif, 'fixtures');
});

t.test('the corpus report validates', async (t) => {
  const corpus = sharedPath(t, 'corpus/tektoncd-catalog');
  if (!corpus) return;
  const report = await new Auditor({ catalog: await repoCatalog() }).auditPaths([corpus], { cwd: corpus });
  t.ok(report.findings.length > 1000, `${report.findings.length} findings`);
  await validate(t, renderSarif(report, AUDIT_TOOL, { baseDir: corpus }), 'corpus');
});
