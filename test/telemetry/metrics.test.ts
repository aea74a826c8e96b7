import t from 'tap';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { MAX_SERIES_PER_METRIC, Metrics, MetricsRegistry, METRICS_FILE_ENV, OTHER_LABEL_VALUE, PUSHED_METRICS, renderLabels } from '../../src/telemetry/metrics.ts';

t.test('counters accumulate per label set and render in exposition format', async (t) => {
  const registry = new MetricsRegistry();
  registry.increment(Metrics.paramValidationFailures, { task: 'build', param: 'b' });
  registry.increment(Metrics.paramValidationFailures, { param: 'a', task: 'build' });
  registry.increment(Metrics.paramValidationFailures, { task: 'build', param: 'a' }, 2);
  t.equal(
    registry.exposition(),
    'tekton_param_validation_failures_total{param="a",task="build"} 3\n' +
      'tekton_param_validation_failures_total{param="b",task="build"} 1\n',
  );
});

t.test('label values are escaped so they cannot forge samples', async (t) => {
  t.equal(renderLabels({ param: 'x"} 999\nevil{a="' }), '{param="x\\"} 999\\nevil{a=\\""}');
});

t.test('flush writes stderr lines and appends to the metrics file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'metrics-'));
  const file = join(dir, 'metrics.prom');
  const registry = new MetricsRegistry();
  registry.increment(Metrics.workspaceAccessViolations, { task: 't', workspace: 'source' });
  const stderr = new PassThrough();
  let written = '';
  stderr.on('data', (chunk: Buffer) => (written += chunk.toString()));
  await registry.flush({ [METRICS_FILE_ENV]: file }, stderr);
  await registry.flush({ [METRICS_FILE_ENV]: file }, stderr);
  t.equal(written.split('\n').filter(Boolean).length, 2);
  t.match(written, /^metrics: tekton_workspace_access_violations_total\{task="t",workspace="source"\} 1$/m);
  const text = await readFile(file, 'utf8');
  t.equal(text.split('\n').filter(Boolean).length, 2, 'appended, not overwritten');
});

t.test('an empty registry writes nothing', async (t) => {
  const stderr = new PassThrough();
  let written = '';
  stderr.on('data', (chunk: Buffer) => (written += chunk.toString()));
  await new MetricsRegistry().flush({}, stderr);
  t.equal(written, '');
});

t.test('attacker-chosen label values reach every output as bounded printable ASCII', async (t) => {
  const registry = new MetricsRegistry();
  const hostile = ['x"} 999\nevil{a="', '\u202egnp.exe', 'a\\b', 'p'.repeat(500), '\r\u0000\u001b[31m'];
  for (const param of hostile) registry.increment(Metrics.paramValidationFailures, { task: 'build', param });
  const samples = registry.samples();
  t.equal(samples.length, hostile.length, 'distinct values stay distinct');
  for (const sample of samples) {
    t.match(sample.labels.param!, /^[\x20-\x7e]{1,128}$/, sample.labels.param!);
  }
  const text = registry.exposition();
  t.equal(text.split('\n').filter(Boolean).length, hostile.length, 'one line per sample: no value can add a line');
});

t.test('label sets past the per-metric bound are counted under "(other)", task kept', async (t) => {
  const registry = new MetricsRegistry();
  for (let i = 0; i < 100; i++) registry.increment(Metrics.paramValidationFailures, { task: 'build', param: `p${i}` });
  registry.increment(Metrics.paramValidationFailures, { task: 'build', param: 'p0' }, 5);
  const samples = registry.samples();
  t.equal(samples.length, MAX_SERIES_PER_METRIC + 1);
  const other = samples.find((s) => s.labels.param === OTHER_LABEL_VALUE);
  t.same(other, { name: Metrics.paramValidationFailures, labels: { task: 'build', param: OTHER_LABEL_VALUE }, value: 100 - MAX_SERIES_PER_METRIC });
  t.equal(samples.find((s) => s.labels.param === 'p0')?.value, 6, 'a known series keeps counting');
  t.equal(samples.reduce((sum, s) => sum + s.value, 0), 105, 'nothing is lost');
});

t.test('the push body holds the seed counters only, each with HELP and TYPE', async (t) => {
  const registry = new MetricsRegistry();
  registry.increment(Metrics.imageVerifications, { task: 'v', outcome: 'verified', reason: 'ok' });
  t.equal(registry.pushBody(), '', 'verifications are not pushed');
  registry.increment(Metrics.imagePullErrors, { task: 'v', image: 'registry.example.com/app:1' });
  registry.increment(Metrics.workspaceAccessViolations, { task: 'g', workspace: 'source' }, 3);
  t.equal(
    registry.pushBody(),
    `# HELP tekton_taskrun_image_pull_errors_total ${PUSHED_METRICS[Metrics.imagePullErrors]}\n# TYPE tekton_taskrun_image_pull_errors_total counter\n` +
      'tekton_taskrun_image_pull_errors_total{image="registry.example.com/app:1",task="v"} 1\n' +
      `# HELP tekton_workspace_access_violations_total ${PUSHED_METRICS[Metrics.workspaceAccessViolations]}\n# TYPE tekton_workspace_access_violations_total counter\n` +
      'tekton_workspace_access_violations_total{task="g",workspace="source"} 3\n',
  );
});
