// The reference Pipeline secure-build as committed: it passes our own audit
// with zero findings together with its PipelineRun sample and its kit, and
// the audit catches the ways it could go wrong (so the check can fail); it
// validates against Tekton's Pipeline and PipelineRun CRDs; it pins exactly
// the catalog Task bundles the index records; and its workspaces are bound
// as the design says (credentials to inject, push and cleanup only).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { auditDocuments, TaskCatalog } from '../../src/audit/index.ts';
import { chainsTypeHint } from '../../src/chains/type-hints.ts';
import type { CatalogIndex } from '../../src/build/catalog-index.ts';
import { formatDiagnostics, validateAgainstCrds, validateTektonDocument } from '../../src/tekton/validate.ts';
import { repoRoot, sharedPath } from '../harness/shared.ts';
import { referencePipeline, taskDefinitions } from './fixtures.ts';

type Doc = Record<string, any>;

async function committed() {
  const { dir } = await referencePipeline();
  const pipelineText = await readFile(join(dir, 'secure-build.yaml'), 'utf8');
  const runText = await readFile(join(dir, 'samples', 'pipelinerun.yaml'), 'utf8');
  const kitText = await readFile(join(dir, 'kit', 'all.yaml'), 'utf8');
  return { dir, pipelineText, runText, kitText, pipeline: parse(pipelineText) as Doc, run: parse(runText) as Doc };
}

async function audit(inputs: { name: string; text?: string; document?: unknown }[]) {
  const definitions = await taskDefinitions();
  const catalog = await TaskCatalog.fromDirectory(join(repoRoot, 'catalog'), definitions);
  return auditDocuments(inputs, { catalog, loadDefinitions: async () => definitions });
}

t.test('the Pipeline, its PipelineRun and its kit pass our own audit with zero findings', async (t) => {
  const { pipelineText, runText, kitText } = await committed();
  const report = await audit([
    { name: 'secure-build.yaml', text: pipelineText },
    { name: 'pipelinerun.yaml', text: runText },
    { name: 'kit/all.yaml', text: kitText },
  ]);
  t.same(report.findings.map((f) => `${f.ruleId} ${f.location.file}:${f.location.line} ${f.message}`), [], 'no finding of any severity');
  t.equal(report.summary.unresolvedReferences, 3, "only the team's own clone, build and push (bundles from params) are not linted");
  t.ok(report.summary.documents >= 7, `${report.summary.documents} documents audited`);
});

t.test('the audit catches what would break the design', async (t) => {
  const { pipeline, run, kitText } = await committed();
  const variants: [string, (pipeline: Doc, run: Doc) => void, string][] = [
    ['the build also gets the credentials', (p) => p.spec.tasks.find((x: Doc) => x.name === 'build').workspaces.push({ name: 'cache', workspace: 'credentials' }), 'TA201'],
    ['no validate-params task', (p) => {
      p.spec.tasks = p.spec.tasks.filter((x: Doc) => x.name !== 'validate');
      for (const x of p.spec.tasks) if (x.runAfter) x.runAfter = x.runAfter.filter((n: string) => n !== 'validate');
    }, 'TA901'],
    ['a misspelt param of a catalog Task', (p) => (p.spec.tasks.find((x: Doc) => x.name === 'inject-credentials').params[0].name = 'secret-sourse'), 'TL101'],
    ['a literal that breaks its rule', (p) => (p.spec.tasks.find((x: Doc) => x.name === 'inject-credentials').params.find((x: Doc) => x.name === 'expires').value = 'forever'), 'TL107'],
    ['the run binds a shared claim', (_p, r) => (r.spec.workspaces[0] = { name: 'source', persistentVolumeClaim: { claimName: 'shared-source' } }), 'TA502'],
    ['the runs use the default service account bound to edit', (_p, r) => delete r.spec.taskRunTemplate.serviceAccountName, 'TA101'],
  ];
  for (const [label, change, ruleId] of variants) {
    const p = structuredClone(pipeline);
    const r = structuredClone(run);
    change(p, r);
    const extra = ruleId === 'TA101' ? [{ name: 'edit.yaml', document: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'default-edit', namespace: 'ci' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'ci' }], roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' } } }] : [];
    const report = await audit([{ name: 'secure-build.yaml', document: p }, { name: 'pipelinerun.yaml', document: r }, { name: 'kit.yaml', text: kitText }, ...extra]);
    t.ok(report.findings.some((f) => f.ruleId === ruleId), `${label}: ${ruleId}`, { found: report.findings.map((f) => f.ruleId) });
  }
});

t.test('the Pipeline and its run validate against the CRDs and our reference checks', async (t) => {
  const crdDir = sharedPath(t, 'tekton/crds');
  const { pipeline, run } = await committed();
  for (const doc of [pipeline, run]) {
    t.same(validateTektonDocument(doc), [], `${doc.kind}: model and references`, { diagnostics: formatDiagnostics(validateTektonDocument(doc)) });
    if (crdDir) t.same(validateAgainstCrds(doc, crdDir), [], `${doc.kind}: CRD schema`, { diagnostics: formatDiagnostics(validateAgainstCrds(doc, crdDir)) });
  }
});

t.test('it pins the catalog Task bundles the index records, and binds each workspace only where the design says', async (t) => {
  const { pipeline, run } = await committed();
  const index = JSON.parse(await readFile(join(repoRoot, 'catalog', 'index.json'), 'utf8')) as CatalogIndex;
  const record = index.pipelines['secure-build']!.versions[pipeline.metadata.labels['app.kubernetes.io/version']]!;
  const tasks: Doc[] = [...pipeline.spec.tasks, ...pipeline.spec.finally];
  const pinned = new Set<string>();
  for (const task of tasks) {
    const params = Object.fromEntries((task.taskRef.params ?? []).map((p: Doc) => [p.name, p.value]));
    t.equal(task.taskRef.resolver, 'bundles', `${task.name}: from a bundle`);
    if (String(params.bundle).startsWith('$(params.')) continue;
    const entry = index.tasks[params.name]!;
    t.equal(params.bundle, entry.versions[entry.latest]!.bundle.reference, `${task.name}: the bundle of ${params.name} ${entry.latest}, pinned by digest`);
    pinned.add(`${params.name}@${entry.latest}`);
  }
  t.same([...pinned].sort(), record.tasks, 'the index records exactly the Task versions it pins');
  const bound = (workspace: string) => tasks.filter((task) => (task.workspaces ?? []).some((w: Doc) => w.workspace === workspace)).map((task) => task.name).sort();
  t.same(bound('credentials'), ['cleanup-credentials', 'inject-credentials', 'push']);
  t.same(bound('source'), ['build', 'clone', 'scrub-source', 'seal-source', 'verify-source']);
  t.same(bound('output'), ['build', 'push', 'scrub-output', 'seal-output', 'verify-output']);
  t.same(pipeline.spec.tasks[0].name, 'validate', 'validate-params first');
  for (const task of pipeline.spec.tasks.slice(1)) {
    const deps = new Set([...(task.runAfter ?? []), ...JSON.stringify(task.params ?? []).matchAll(/\$\(tasks\.([a-z0-9-]+)\./g)].map((m) => (typeof m === 'string' ? m : m[1])));
    t.ok(deps.size > 0, `${task.name} runs after another task`);
  }
  t.same(pipeline.spec.finally.map((task: Doc) => task.name), ['cleanup-credentials', 'scrub-source', 'scrub-output']);
  for (const workspace of run.spec.workspaces) {
    t.same(workspace.volumeClaimTemplate?.spec?.accessModes, ['ReadWriteOnce'], `${workspace.name}: a fresh ReadWriteOnce claim per run`);
  }
  t.same(run.spec.taskRunSpecs, [{ pipelineTaskName: 'inject-credentials', serviceAccountName: 'secure-build-api-reader' }]);
  t.equal(run.spec.taskRunTemplate.serviceAccountName, 'secure-build-runner');
  const kit = parseAllDocuments(await readFile(join((await referencePipeline()).dir, 'kit', 'all.yaml'), 'utf8')).map((d) => d.toJS() as Doc);
  t.ok(kit.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'secure-build-runner' && o.automountServiceAccountToken === false), 'the runner account of the kit has no token');
  t.same(pipeline.spec.results.map((r: Doc) => r.name), ['IMAGE_URL', 'IMAGE_DIGEST'], "the push task's Chains outputs surface as Pipeline results");
  // Chains pairs *IMAGE_URL and *IMAGE_DIGEST results by the prefix before the suffix (extractTargetFromResults): here both have none.
  t.same(pipeline.spec.results.map((r: Doc) => chainsTypeHint(r.name)), ['IMAGE_URL', 'IMAGE_DIGEST'], 'both are output type hints');
  t.same(pipeline.spec.results.map((r: Doc) => r.name.slice(0, -String(chainsTypeHint(r.name)).length)), ['', ''], 'with the same prefix, so Chains reads them as one image');
  t.same(pipeline.spec.results.map((r: Doc) => r.value), ['$(tasks.push.results.IMAGE_URL)', '$(tasks.push.results.IMAGE_DIGEST)'], 'from the push task only');
});
