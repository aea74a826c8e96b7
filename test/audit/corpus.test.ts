import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Auditor, loadConfig } from '../../src/audit/index.ts';
import { loadTaskDefinitions } from '../../src/build/load-definitions.ts';
import { CATALOG_DEFINITIONS } from '../../steps/audit/catalog-definitions.ts';
import { repoRoot, sharedPath } from '../harness/shared.ts';
import { repoCatalog } from './harness.ts';

t.test('the tektoncd/catalog corpus parses and audits without a crash', async (t) => {
  const corpus = sharedPath(t, 'corpus/tektoncd-catalog');
  if (!corpus) return;
  const report = await new Auditor({ catalog: await repoCatalog() }).auditPaths(['.'], { cwd: corpus });
  const yamlFiles = readdirSync(corpus, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).length;
  t.equal(report.summary.files, yamlFiles, `every YAML file is read (${yamlFiles})`);
  t.notOk(report.summary.inputFailed, 'no file fails to parse');
  t.ok(report.summary.documents >= 330, `${report.summary.documents} documents audited`);
  const byRule = new Map<string, number>();
  for (const f of report.findings) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
  t.comment(JSON.stringify(Object.fromEntries([...byRule].sort())));
  t.equal(byRule.get('TA002') ?? 0, 0, 'every Tekton and RBAC document fits its model (Tekton reads unquoted numbers as text)');
  // What the issue measured: most steps paste substitutions into scripts, few are non-root.
  t.ok((byRule.get('TA401') ?? 0) > 500, 'finds params pasted into scripts');
  t.ok((byRule.get('TA602') ?? 0) > 300, 'finds steps that may run as root');
  t.ok((byRule.get('TA101') ?? 0) >= 1 && (byRule.get('TA102') ?? 0) >= 1, 'finds the cluster-admin bindings and secret readers in support/ folders');
  // Pipelines in the corpus reference Tasks of the corpus; none of those references is a false interface finding.
  for (const id of ['TL101', 'TL102', 'TL103', 'TL104', 'TL105', 'TL106']) t.equal(byRule.get(id) ?? 0, 0, `${id}: no interface finding between corpus Pipelines and their Tasks`);
  for (const f of report.findings) {
    if (f.location.line < 1 || /\n/.test(f.message)) t.fail(`${f.ruleId} ${f.location.file}: bad location or message`);
  }
});

t.test('our own catalog audits clean', async (t) => {
  const auditor = new Auditor({ catalog: await repoCatalog(), config: loadConfig(undefined, repoRoot) });
  const tasks = await auditor.auditPaths(['catalog/task/*/*/*.yaml'], { cwd: repoRoot });
  t.ok(tasks.summary.documents >= 5, `${tasks.summary.documents} catalog Tasks`);
  t.same(tasks.findings.map((f) => `${f.ruleId} ${f.location.file}:${f.location.line} ${f.message}`), [], 'no finding at all in the Task YAML');
  const samples = await auditor.auditPaths(['catalog/task/*/*/samples/*.yaml'], { cwd: repoRoot });
  const serious = samples.findings.filter((f) => !f.suppression && f.severity !== 'note');
  t.same(serious.map((f) => `${f.ruleId} ${f.location.file}:${f.location.line} ${f.message}`), [], 'no error or warning in the samples (advice notes allowed)');
});

t.test('the audit step bundles every catalog Task definition', async (t) => {
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  t.same(CATALOG_DEFINITIONS.map((d) => `${d.name}@${d.version}`).sort(), definitions.map((d) => `${d.name}@${d.version}`).sort(), 'steps/audit/catalog-definitions.ts lists tasks/*');
});
