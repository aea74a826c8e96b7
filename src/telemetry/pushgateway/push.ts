import type { RunContext } from '../config.ts';
import { send, SendFailure } from '../http/send.ts';

/**
 * Pushes the seed's counters of one step run to a Prometheus Pushgateway
 * through its HTTP API: PUT of the text exposition format to
 * /metrics/job/<job>/<label>/<value>..., which replaces the group named by
 * that grouping key. The Pushgateway is a cache, not an aggregator: two
 * pushes to one group keep only the last. So the grouping key is one step
 * run: the TaskRun's uid, its attempt (a retried TaskRun keeps its uid) and
 * the step program (two of our steps can run in one TaskRun). Concurrent
 * TaskRuns never overwrite each other, and a query sums over groups:
 * `sum by (task, param) (tekton_param_validation_failures_total)`.
 * Namespace and TaskRun name are in the key too, for people.
 */
export const PUSHGATEWAY_JOB = 'tekton-catalog';

/** The grouping labels, in URL order; none is a label of the pushed metrics (the Pushgateway would overwrite it). */
export const GROUPING_LABELS = ['namespace', 'taskrun', 'taskrun_uid', 'retry', 'step'] as const;

export function groupingKey(run: RunContext, program: string): [name: (typeof GROUPING_LABELS)[number], value: string][] {
  return [
    ['namespace', run.namespace],
    ['taskrun', run.taskRunName],
    ['taskrun_uid', run.uid],
    ['retry', run.retry],
    ['step', program],
  ];
}

/**
 * Every value is sent as `<label>@base64/<base64url>` (RFC 4648 URL and
 * filename safe alphabet, as the Pushgateway reads it): a "/" or "%" or any
 * other byte in a value can then never change the path, whatever it holds.
 * An empty value is "=", the Pushgateway's spelling of the empty string.
 */
export function groupingPath(job: string, key: readonly (readonly [string, string])[]): string {
  const encode = (value: string) => (value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url'));
  return `/metrics/job@base64/${encode(job)}${key.map(([name, value]) => `/${name}@base64/${encode(value)}`).join('')}`;
}

/** The push URL under the configured base, keeping a path prefix (a Pushgateway behind a proxy path). */
export function pushUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

export interface PushOutcome {
  ok: boolean;
  /** "pushed 3 sample(s)" or why not. */
  detail: string;
}

export async function pushToGateway(base: URL, run: RunContext, program: string, body: string, signal: AbortSignal): Promise<PushOutcome> {
  const url = pushUrl(base, groupingPath(PUSHGATEWAY_JOB, groupingKey(run, program)));
  const samples = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  try {
    const answer = await send(url, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      body,
      signal,
    });
    if (answer.status >= 200 && answer.status < 300) return { ok: true, detail: samples === 0 ? 'pushed an empty group (the run counted nothing)' : `pushed ${samples} sample(s)` };
    return { ok: false, detail: `HTTP ${answer.status}${answer.detail ? `: ${answer.detail}` : ''}` };
  } catch (error) {
    if (error instanceof SendFailure) return { ok: false, detail: error.reason };
    throw error;
  }
}
