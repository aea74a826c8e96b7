// Every Task version's tests/run.yaml (TEP-0003), the file a maintainer
// applies on a real cluster, run as it is in the chroot harness: the real
// step images, Tekton's substitution, a read-only root, the pod's volumes
// and the termination message (test/harness/run-yaml.ts). A run.yaml that
// needs the internet says so with the annotation below; offline it must
// fail for that reason and no other, which proves everything up to the
// network.
import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { builtCatalog } from '../harness/catalog-build.ts';
import { runRunYaml } from '../harness/run-yaml.ts';
import { requireRoot } from '../harness/shared.ts';
import { ImageCache } from '../harness/task-run.ts';

const NEEDS_EGRESS = 'hardened-tekton.dev/test-needs-egress';

t.test('every tests/run.yaml runs in the harness as on a cluster', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const images = ImageCache.forCatalog(built.layoutDir, built.index);
  t.teardown(() => images.cleanup());
  let files = 0;
  for (const [name, entry] of Object.entries(built.index.tasks)) {
    const record = entry.versions[entry.latest]!;
    const file = join(built.catalogDir, dirname(record.path), 'tests', 'run.yaml');
    t.ok(existsSync(file), `${name} ${entry.latest} has tests/run.yaml`);
    if (!existsSync(file)) continue;
    files++;
    const documents = parseAllDocuments(await readFile(file, 'utf8')).map((doc) => doc.toJS() as { metadata?: { annotations?: Record<string, string> } });
    const egress = documents.map((doc) => doc.metadata?.annotations?.[NEEDS_EGRESS]).find((host) => host !== undefined);

    await t.test(`${name} ${entry.latest}`, async (t) => {
      const outcomes = await runRunYaml({ file, images, network: egress ? 'none' : 'host' });
      t.ok(outcomes.length > 0, 'the file holds runs');
      for (const outcome of outcomes) {
        for (const taskRun of outcome.taskRuns) {
          for (const step of taskRun.steps) t.equal(step.terminationError, undefined, `${taskRun.name}/${step.name}: the termination message fits`);
        }
        if (egress) {
          t.notOk(outcome.succeeded, `${outcome.name} cannot succeed offline`);
          const stderr = outcome.taskRuns.flatMap((taskRun) => taskRun.steps.map((step) => step.stderr)).join('\n');
          t.match(stderr, new RegExp(`\\[REGISTRY_UNREACHABLE\\].*registry ${egress.replace(/\./g, '\\.')}`), `it failed only because ${egress} is out of reach`);
          continue;
        }
        const failures = outcome.taskRuns.filter((taskRun) => !taskRun.succeeded).map((taskRun) => `${taskRun.name}: ${taskRun.steps.map((step) => step.stderr).join(' ')}`);
        t.ok(outcome.succeeded, `${outcome.kind} ${outcome.name} succeeded`, { failures });
      }
      const results = Object.fromEntries(outcomes.flatMap((outcome) => outcome.taskRuns.map((taskRun) => [taskRun.pipelineTask ?? taskRun.name, taskRun.results])));
      if (name === 'validate-params') {
        t.equal(results['validate-params-run']?.VALIDATED, 'true');
        t.match(results['validate-params-run']?.PARAMS_DIGEST, /^sha256:[0-9a-f]{64}$/);
      }
      if (name === 'workspace-guard') {
        t.match(results.seal?.['manifest-digest'], /^sha256:[0-9a-f]{64}$/);
        t.equal(results.verify?.['manifest-digest'], results.seal?.['manifest-digest'], 'verify checked the digest the seal returned');
        t.same(['seal', 'verify', 'police'].map((task) => results[task]?.violations), ['0', '0', '0']);
      }
      if (name === 'audit') {
        t.equal(results['audit-run']?.findings, '0', 'the hardened Task audits clean');
        t.match(results['audit-run']?.summary, /"errors":0,"warnings":0,"notes":0/);
      }
      if (name === 'inject-credentials') {
        t.same(Object.keys(JSON.parse(results['inject-credentials-run']?.fingerprints ?? '{}')), ['docker/config.json'], 'only the scoped docker config');
      }
    });
  }
  t.equal(files, Object.keys(built.index.tasks).length, 'every Task has one');
});
