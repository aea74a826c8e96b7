// The telemetry's network code is loaded only when a sink is configured: a
// module hook in a child process logs every module the step resolves, once
// for the step's source and once for its real bundle (where the delivery
// code is inlined but only evaluated on demand, so its node:http import is
// what shows it ran).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleStep } from '../../src/build/bundle-step.ts';
import { TelemetryEnv } from '../../src/telemetry/config.ts';
import { freePort } from '../harness/registry.ts';
import { repoRoot } from '../harness/shared.ts';

/** Modules that are the delivery half: telemetry's network code, node's HTTP clients, the CloudEvents SDK. */
const DELIVERY = /\/src\/telemetry\/(delivery|http\/|pushgateway\/|cloudevents\/)|^node:https?$|\/node_modules\/cloudevents\//;

const HOOK = `import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
registerHooks({ resolve(specifier, context, next) { const resolved = next(specifier, context); if (${DELIVERY}.test(resolved.url)) writeSync(1, 'LOADED ' + resolved.url + '\\n'); return resolved; } });`;

async function runWithHook(program: string, args: string[], env: Record<string, string>): Promise<{ loaded: string[]; status: number | null; stderr: string }> {
  const work = await mkdtemp(join(tmpdir(), 'telemetry-lazy-'));
  try {
    const hook = join(work, 'hook.mjs');
    await writeFile(hook, HOOK);
    const child = spawnSync(process.execPath, ['--import', hook, program, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', TEKTON_RESULTS_DIR: join(work, 'results'), ...env },
    });
    const loaded = child.stdout.split('\n').filter((line) => line.startsWith('LOADED ')).map((line) => line.slice('LOADED '.length));
    return { loaded, status: child.status, stderr: child.stderr };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const RULES = JSON.stringify({ tag: { type: 'image-tag' } });
const BAD = ['tag=$(id)'];

t.test('validate-params from source: a rejected value loads no delivery code without a sink, and does with one', async (t) => {
  const main = join(repoRoot, 'steps', 'validate-params', 'main.ts');
  const without = await runWithHook(main, BAD, { RULES, TASK_NAME: 'validate' });
  t.equal(without.status, 1, without.stderr);
  t.match(without.stderr, /metrics: tekton_param_validation_failures_total/, 'the counter is in the log');
  t.same(without.loaded, [], 'no sink: nothing of the delivery code was resolved');

  const closedPort = await freePort();
  const withSink = await runWithHook(main, BAD, { RULES, TASK_NAME: 'validate', [TelemetryEnv.pushgatewayUrl]: `http://127.0.0.1:${closedPort}` });
  t.equal(withSink.status, 1, 'a sink that is down does not change the verdict');
  t.match(withSink.stderr, /telemetry not delivered, the step goes on/);
  t.ok(withSink.loaded.some((url) => url.endsWith('/src/telemetry/delivery.ts')), 'with a sink, delivery.ts is loaded');
  t.ok(withSink.loaded.includes('node:http'), 'and node:http');
});

for (const program of ['validate-params', 'workspace-guard'] as const) {
  t.test(`${program}'s bundle: node's HTTP client is loaded only with a sink`, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'telemetry-bundle-'));
    t.teardown(() => rm(work, { recursive: true, force: true }));
    const file = join(work, `${program}.mjs`);
    await writeFile(file, (await bundleStep(repoRoot, program)).code);
    let args: string[];
    let env: Record<string, string>;
    if (program === 'validate-params') {
      args = BAD;
      env = { RULES, TASK_NAME: 'validate' };
    } else {
      const target = join(work, 'target');
      await mkdir(target);
      await writeFile(join(target, 'open.sh'), '#!/bin/sh\n');
      await chmod(join(target, 'open.sh'), 0o777); // world-writable: a police violation
      args = ['--mode', 'police', '--target', target, '--run-uid', '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f'];
      env = {};
    }
    const without = await runWithHook(file, args, env);
    t.equal(without.status, 1, `a violation: ${without.stderr.slice(0, 300)}`);
    t.same(without.loaded, [], 'no sink: node:http and node:https are never resolved');
    const closedPort = await freePort();
    const withSink = await runWithHook(file, args, { ...env, [TelemetryEnv.cloudEventsSink]: `http://127.0.0.1:${closedPort}/` });
    t.equal(withSink.status, 1);
    t.same([...new Set(withSink.loaded)], ['node:http'], 'with a plain-http sink: node:http, and nothing else');
    t.match(withSink.stderr, /CloudEvents sink "http:\/\/127\.0\.0\.1:\d+\/": \d+ of \d+ event\(s\) not accepted \(connection refused\)/);
  });
}
