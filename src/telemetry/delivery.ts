import type { RunContext } from './config.ts';
import { sendViolations } from './cloudevents/send.ts';
import { pushToGateway } from './pushgateway/push.ts';
import type { Violation } from './violations.ts';

/**
 * The network half of telemetry, imported by Telemetry.flush only when a
 * sink is configured: a step without one never evaluates this module, the
 * HTTP client or the CloudEvents SDK. Both sinks are served at once under
 * one deadline, so a sink that is down or hangs costs at most `timeoutMs`.
 */
export interface DeliveryRequest {
  program: string;
  run: RunContext;
  timeoutMs: number;
  pushgateway?: { url: URL; body: string };
  cloudEvents?: { url: URL; violations: readonly Violation[] };
}

export interface SinkOutcome {
  sink: 'Pushgateway' | 'CloudEvents sink';
  url: URL;
  ok: boolean;
  detail: string;
}

export async function deliver(request: DeliveryRequest): Promise<SinkOutcome[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(`no answer within ${request.timeoutMs / 1000} s`), request.timeoutMs);
  const { signal } = controller;
  try {
    const jobs: Promise<SinkOutcome>[] = [];
    if (request.pushgateway) {
      const { url, body } = request.pushgateway;
      jobs.push(pushToGateway(url, request.run, request.program, body, signal).then((outcome) => ({ sink: 'Pushgateway', url, ...outcome })));
    }
    if (request.cloudEvents) {
      const { url, violations } = request.cloudEvents;
      jobs.push(sendViolations(url, violations, request.run, request.program, signal).then((outcome) => ({ sink: 'CloudEvents sink', url, ...outcome })));
    }
    return await Promise.all(jobs);
  } finally {
    clearTimeout(timer);
    // Anything still open (an answer's body trickling in) ends here, not when the sink lets go.
    controller.abort('done');
  }
}
