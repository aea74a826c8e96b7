import type { RunContext } from '../config.ts';
import type { Violation } from '../violations.ts';

/**
 * CloudEvents 1.0 in structured content mode over the HTTP binding: one
 * JSON document per event (the spec's JSON event format), sent with
 * `Content-Type: application/cloudevents+json; charset=utf-8`.
 *
 * Written here rather than with the `cloudevents` SDK: every step program
 * is one bundled file, so even a lazily imported SDK is in every step's
 * bundle and parsed at every start. Measured with esbuild's metafile and the
 * cold-start bench (README, "Telemetry"): the SDK adds 69 KiB to each step
 * bundle and about 2 ms of CPU to every start of an unconfigured step, for
 * what is here a JSON object with six fixed attributes. The tests use the
 * SDK as the receiver (HTTP.toEvent), which validates every event we send
 * against the spec's schema.
 *
 * id: a random UUID. time: when the step reported (RFC 3339).
 * source: the TaskRun as a Kubernetes API path
 *   (/apis/tekton.dev/v1/namespaces/<ns>/taskruns/<name>); outside Tekton,
 *   /hardened-tekton/steps/<program>.
 * subject: what was violated (param, workspace or image), bounded and escaped.
 * data: the violation's fields plus `step` (the program) and `taskRun`
 *   {namespace, name, uid, retry}; no secret and no raw value, every string
 *   bounded (violations.ts), so an event stays under a few KiB.
 */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** An event above this is a bug in a step's fields, never sent. */
export const MAX_EVENT_BYTES = 8192;

export interface StructuredMessage {
  headers: Record<string, string>;
  body: string;
}

export function eventSource(run: RunContext, program: string): string {
  return run.namespace !== '' && run.taskRunName !== ''
    ? `/apis/tekton.dev/v1/namespaces/${run.namespace}/taskruns/${run.taskRunName}`
    : `/hardened-tekton/steps/${program}`;
}

export function structuredMessages(violations: readonly Violation[], run: RunContext, program: string, now = new Date()): StructuredMessage[] {
  const source = eventSource(run, program);
  const time = now.toISOString();
  return violations.map((violation) => {
    const body = JSON.stringify({
      specversion: '1.0',
      id: globalThis.crypto.randomUUID(),
      source,
      type: violation.type,
      subject: violation.subject,
      time,
      datacontenttype: 'application/json',
      data: { ...violation.data, step: program, taskRun: { namespace: run.namespace, name: run.taskRunName, uid: run.uid, retry: Number(run.retry) } },
    });
    if (Buffer.byteLength(body) > MAX_EVENT_BYTES) throw new Error(`a ${violation.type} event is larger than ${MAX_EVENT_BYTES} bytes`);
    return { headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE }, body };
  });
}
