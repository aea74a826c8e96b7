import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { freePort, stopChild } from './registry.ts';

/**
 * Starts Debian's `prometheus-pushgateway` on 127.0.0.1 on a free port, in
 * memory only (no persistence file), so tests push to and read back from the
 * real thing. `/metrics` is parsed by parse-prometheus-text-format, a parser
 * we did not write, so our escaping is checked by two independent readers
 * (the Pushgateway's and this one). `stop()` kills it and removes its folder.
 */
export const PUSHGATEWAY_BINARY = '/usr/bin/prometheus-pushgateway';

export interface PushedSample {
  labels: Record<string, string>;
  value: number;
}

export interface TestPushgateway {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every sample of `name` the Pushgateway exposes, with the grouping labels it added. */
  samples(name: string): Promise<PushedSample[]>;
  /** The groups the Pushgateway holds, with their grouping labels (its JSON API). */
  groups(): Promise<Record<string, string>[]>;
  /** Empties the Pushgateway (admin API), so one test's pushes do not leak into the next. */
  wipe(): Promise<void>;
  stop(): Promise<void>;
}

export function missingPushgateway(): string | undefined {
  return existsSync(PUSHGATEWAY_BINARY) ? undefined : `${PUSHGATEWAY_BINARY} (apt-get install prometheus-pushgateway)`;
}

/** True when the Pushgateway is installed; otherwise skips naming it (fails under CI=true). */
export function requirePushgateway(t: { fail(message: string): unknown; skip(message: string, fn: () => void): unknown }): boolean {
  const missing = missingPushgateway();
  if (missing === undefined) return true;
  if (process.env.CI === 'true') t.fail(`missing ${missing}; CI=true requires it`);
  else t.skip(`missing ${missing}`, () => {});
  return false;
}

export async function startPushgateway(): Promise<TestPushgateway> {
  const missing = missingPushgateway();
  if (missing !== undefined) throw new Error(`cannot start the test Pushgateway: missing ${missing}`);
  const dir = await mkdtemp(join(tmpdir(), 'test-pushgateway-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The log goes to a file, not a pipe (see registry.ts: a pipe can fill while a test waits).
  const logPath = join(dir, 'pushgateway.log');
  const log = await open(logPath, 'w');
  const child = spawn(
    PUSHGATEWAY_BINARY,
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--web.enable-admin-api', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', log.fd] },
  );
  await log.close();
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  const logText = () => {
    try {
      return readFileSync(logPath, 'utf8').slice(0, 4000);
    } catch {
      return '';
    }
  };
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus-pushgateway exited with ${child.exitCode}: ${logText()}`);
      try {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus-pushgateway did not get ready on ${url} within 15 s: ${logText()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    async samples(name) {
      const response = await fetch(`${url}/metrics`);
      if (!response.ok) throw new Error(`GET /metrics: HTTP ${response.status}`);
      const families = parsePrometheusTextFormat(await response.text());
      const family = families.find((f) => f.name === name);
      return (family?.metrics ?? []).map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));
    },
    async groups() {
      const response = await fetch(`${url}/api/v1/metrics`);
      const body = (await response.json()) as { data: { labels: Record<string, string> }[] };
      return body.data.map((group) => group.labels);
    },
    async wipe() {
      const response = await fetch(`${url}/api/v1/admin/wipe`, { method: 'PUT' });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`wipe: HTTP ${response.status}`);
    },
    stop,
  };
}
