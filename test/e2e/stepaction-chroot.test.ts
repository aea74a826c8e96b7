// The catalog's StepActions, run from their real images under chroot inside
// Tasks that reference them, as Tekton resolves `ref` steps
// (test/harness/tekton-stepactions.ts): the composed sample (validate-params,
// then workspace-guard seal and verify, the verify step reading the seal's
// digest as a step result), and each StepAction's own sample Task, which
// must behave as the catalog Task does.
import t from 'tap';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtCatalog } from '../harness/catalog-build.ts';
import { requireRoot } from '../harness/shared.ts';
import { loadCatalogStepActions, loadTasks } from '../harness/stepaction-loader.ts';
import { ImageCache, runTaskRun, type TaskRunOutcome } from '../harness/task-run.ts';

const RUN_UID = '6d1c0a4e-2b3f-4c5d-8e9f-0a1b2c3d4e5f';
const NONROOT = 65532;

async function sourceWorkspace(root: string): Promise<string> {
  const source = join(root, `source-${Math.random().toString(16).slice(2, 8)}`);
  await mkdir(join(source, 'src'), { recursive: true });
  await writeFile(join(source, 'src', 'main.go'), 'package main\n');
  await writeFile(join(source, 'go.mod'), 'module example.com/app\n');
  for (const path of [source, join(source, 'src'), join(source, 'src', 'main.go'), join(source, 'go.mod')]) await chown(path, NONROOT, NONROOT);
  return source;
}

function failures(outcome: TaskRunOutcome): string {
  return outcome.steps.map((step) => `${step.name}: ${step.code} ${step.stderr.slice(0, 400)}`).join('\n');
}

t.test('StepActions run in Tasks of your own as Tekton resolves them', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const images = ImageCache.forCatalog(built.layoutDir, built.index);
  const stepActions = await loadCatalogStepActions(built);
  const work = await mkdtemp(join(tmpdir(), 'stepaction-chroot-'));
  t.teardown(async () => {
    await images.cleanup();
    await rm(work, { recursive: true, force: true });
  });
  t.same([...stepActions.keys()].sort(), Object.keys(built.index.tasks).sort(), 'one StepAction per step program of the catalog');

  const composed = (await loadTasks(join(built.catalogDir, 'stepaction', 'samples', 'validated-seal.yaml'))).get('validated-seal')!;
  t.ok(composed, 'the composed sample is in the catalog');

  await t.test('validate, seal, verify: the verify step gets the seal digest as a step result', async (t) => {
    const outcome = await runTaskRun({
      taskName: 'validated-seal',
      spec: composed,
      params: { 'run-uid': RUN_UID },
      workspaces: { source: { source: await sourceWorkspace(work) } },
      context: { taskRunName: 'validated-seal-run' },
      images,
      stepActions,
      network: 'none',
    });
    t.ok(outcome.succeeded, 'the TaskRun succeeds', { failures: failures(outcome) });
    t.same(outcome.steps.map((step) => step.code), [0, 0, 0]);
    for (const step of outcome.steps) t.equal(step.terminationError, undefined, `${step.name}: the termination message fits a 3-step pod`);
    t.match(outcome.results.PARAMS_DIGEST, /^sha256:[0-9a-f]{64}$/, 'a Task result taken from the validate step');
    t.match(outcome.results['manifest-digest'], /^sha256:[0-9a-f]{64}$/, 'and one from the verify step');
    t.match(outcome.steps[1]!.terminationMessage, /"key":"manifest-digest","value":"sha256:[0-9a-f]{64}","type":4/, 'the seal step reports its step result (type 4)');
    t.ok(outcome.steps[2]!.terminationMessage.includes(`"value":"${outcome.results['manifest-digest']}"`), 'verify checked the digest seal wrote');
  });

  await t.test('a bad param stops the Task at the validate step', async (t) => {
    const outcome = await runTaskRun({
      taskName: 'validated-seal',
      spec: composed,
      params: { 'run-uid': 'x; rm -rf /' },
      workspaces: { source: { source: await sourceWorkspace(work) } },
      context: { taskRunName: 'validated-seal-bad' },
      images,
      stepActions,
      network: 'none',
    });
    t.notOk(outcome.succeeded);
    t.same(outcome.steps.map((step) => step.code), [1, undefined, undefined], 'seal and verify never start');
    t.match(outcome.steps[0]!.stderr, /run-uid/, 'the message names the param');
  });

  await t.test('the verify step checks the digest it is given: a wrong one fails the Task', async (t) => {
    const wrong = structuredClone(composed);
    const verify = wrong.steps.find((step) => step.name === 'verify')!;
    verify.params = verify.params!.map((param) => (param.name === 'expected-digest' ? { ...param, value: `sha256:${'0'.repeat(64)}` } : param));
    const outcome = await runTaskRun({
      taskName: 'validated-seal',
      spec: wrong,
      params: { 'run-uid': RUN_UID },
      workspaces: { source: { source: await sourceWorkspace(work) } },
      context: { taskRunName: 'validated-seal-wrong' },
      images,
      stepActions,
      network: 'none',
    });
    t.same(outcome.steps.map((step) => step.code), [0, 0, 1], 'only verify fails');
  });

  await t.test("each StepAction's sample Task runs as the catalog Task", async (t) => {
    const validate = (await loadTasks(join(built.catalogDir, 'stepaction', 'validate-params', built.index.stepActions['validate-params']!.latest, 'samples', 'task.yaml'))).get('validate-params-from-stepaction')!;
    const ok = await runTaskRun({
      taskName: 'validate-params-from-stepaction',
      spec: validate,
      params: { rules: '{"git-revision": {"type": "git-sha"}}', values: [`git-revision=${'a'.repeat(40)}`] },
      workspaces: {},
      context: { taskRunName: 'validate-from-stepaction' },
      images,
      stepActions,
      network: 'none',
    });
    t.ok(ok.succeeded, failures(ok));
    t.equal(ok.results.VALIDATED, 'true');
    const refused = await runTaskRun({
      taskName: 'validate-params-from-stepaction',
      spec: validate,
      params: { rules: '{"git-revision": {"type": "git-sha"}}', values: ['git-revision=main; curl evil'] },
      workspaces: {},
      context: { taskRunName: 'validate-from-stepaction-bad' },
      images,
      stepActions,
      network: 'none',
    });
    t.notOk(refused.succeeded, 'an injection attempt fails as it does in the Task');

    const guard = (await loadTasks(join(built.catalogDir, 'stepaction', 'workspace-guard', built.index.stepActions['workspace-guard']!.latest, 'samples', 'task.yaml'))).get('workspace-guard-from-stepaction')!;
    const police = await runTaskRun({
      taskName: 'workspace-guard-from-stepaction',
      spec: guard,
      params: { mode: 'police', 'run-uid': RUN_UID },
      workspaces: { target: { source: await sourceWorkspace(work) } },
      context: { taskRunName: 'guard-from-stepaction' },
      images,
      stepActions,
      network: 'none',
    });
    t.ok(police.succeeded, failures(police));
    t.equal(police.results.violations, '0', 'the optional manifest and report workspaces left unbound: their path params are empty');
  });
});
