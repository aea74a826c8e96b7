import type { RunContext } from '../config.ts';
import { send, SendFailure } from '../http/send.ts';
import type { Violation } from '../violations.ts';
import { structuredMessages } from './envelope.ts';

/** Events in flight at once: enough to finish 32 events quickly, few enough for any sink. */
const CONCURRENCY = 4;

export interface SendOutcome {
  ok: boolean;
  detail: string;
}

/** POSTs one structured CloudEvent per violation; all of them or the outcome says how many were not accepted and why. */
export async function sendViolations(sink: URL, violations: readonly Violation[], run: RunContext, program: string, signal: AbortSignal): Promise<SendOutcome> {
  const messages = structuredMessages(violations, run, program);
  const { Agent } = sink.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const reasons = await Promise.all(
      messages.map(async (message) => {
        try {
          const answer = await send(sink, { method: 'POST', headers: message.headers, body: message.body, signal, agent });
          return answer.status >= 200 && answer.status < 300 ? undefined : `HTTP ${answer.status}${answer.detail ? `: ${answer.detail}` : ''}`;
        } catch (error) {
          if (error instanceof SendFailure) return error.reason;
          throw error;
        }
      }),
    );
    const failed = reasons.filter((reason): reason is string => reason !== undefined);
    if (failed.length === 0) return { ok: true, detail: `sent ${messages.length} event(s)` };
    return { ok: false, detail: `${failed.length} of ${messages.length} event(s) not accepted (${[...new Set(failed)].slice(0, 3).join('; ')})` };
  } finally {
    agent.destroy();
  }
}
