import t from 'tap';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Metrics, MetricsRegistry, METRICS_FILE_ENV, renderLabels } from '../../src/telemetry/metrics.ts';

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
