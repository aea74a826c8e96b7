import { TelemetryEnv, TelemetryParam } from './config.ts';

/**
 * The telemetry params and env entries every Task whose step counts
 * something declares, spelled once so the name, description and rule are
 * the same on every Task (a test checks). Plain data: tasks/*.ts spread
 * them into their definitions.
 */

/**
 * What validate-params and lint accept for a sink URL: http(s), host, port
 * and path, no user info, no query, no fragment. The step checks the URL
 * again, fully (config.ts), before it does anything else.
 */
export const SINK_URL_RULE = {
  type: 'regex',
  pattern: "https?://[A-Za-z0-9.:\\[\\]-]+(/[A-Za-z0-9._~%!$&'()*+,;=:/-]*)?",
  maxLength: 2048,
  optional: true,
} as const;

export const TELEMETRY_PARAMS = [
  {
    name: TelemetryParam.pushgatewayUrl,
    description:
      'Prometheus Pushgateway to push the security counters to, e.g. http://pushgateway.monitoring.svc:9091 (https:// unless you write http://; no user info or query). Empty: the counts go to the step log only.',
    default: '',
    rule: SINK_URL_RULE,
  },
  {
    name: TelemetryParam.cloudEventsSink,
    description:
      'URL that receives one CloudEvent (structured JSON over HTTP POST) per security violation, e.g. a Knative Broker or a SIEM collector (https:// unless you write http://; no user info or query). Empty: no events.',
    default: '',
    rule: SINK_URL_RULE,
  },
  {
    name: TelemetryParam.failClosed,
    description:
      '"false": a sink that is down, refuses or does not answer within 2 s costs one line in the log and the step goes on. "true": it fails the step (exit 3), and every run pushes to the Pushgateway even with nothing counted.',
    default: 'false',
    rule: { type: 'bool' },
  },
] as const;

/** The env entries that carry the params and the TaskRun's identity to the step. */
export const TELEMETRY_ENV = [
  { name: TelemetryEnv.pushgatewayUrl, value: `$(params.${TelemetryParam.pushgatewayUrl})` },
  { name: TelemetryEnv.cloudEventsSink, value: `$(params.${TelemetryParam.cloudEventsSink})` },
  { name: TelemetryEnv.failClosed, value: `$(params.${TelemetryParam.failClosed})` },
  { name: TelemetryEnv.taskRunName, value: '$(context.taskRun.name)' },
  { name: TelemetryEnv.taskRunNamespace, value: '$(context.taskRun.namespace)' },
  { name: TelemetryEnv.taskRunUid, value: '$(context.taskRun.uid)' },
  { name: TelemetryEnv.retryCount, value: '$(context.task.retry-count)' },
] as const;

/**
 * The README section every reporting Task carries; `pushes` and `sends` say
 * what this Task's step counts and which events it sends.
 */
export function telemetryNotes(pushes: string, sends: string): string {
  return `## Telemetry to a Pushgateway and a CloudEvents sink
With \`pushgateway-url\` set, the step pushes ${pushes} to that Prometheus Pushgateway; with \`cloudevents-sink\` set, it POSTs ${sends}, as CloudEvents 1.0 in structured JSON, at most 32 per run. Both are empty by default: the counts are then only \`metrics:\` lines in the step log, and the step loads none of the network code.

Each step run pushes to a group of its own, \`/metrics/job/tekton-catalog\` with \`namespace\`, \`taskrun\`, \`taskrun_uid\`, \`retry\` and \`step\` (sent base64-encoded), so concurrent TaskRuns never overwrite each other: sum over the groups, \`sum by (task) (...)\`. Only a run that counted something pushes, unless \`telemetry-fail-closed\` is \`"true"\`.

A sink that refuses, fails or does not answer within 2 s (both sinks together) costs one line, \`telemetry not delivered, the step goes on\`, and the step keeps its exit code. With \`telemetry-fail-closed: "true"\` it fails the step with exit 3 (\`TELEMETRY_UNDELIVERED\`), whatever the step found, and every run pushes (an empty group when it counted nothing), so a Pushgateway that is down stops clean runs too. URLs are \`https://\` unless you write \`http://\`; user info and queries are refused (credentials never go in a param) and redirects are not followed. Label values and event fields are printable ASCII, escaped and bounded. The catalog README ("Telemetry") has the scrape config, PromQL and the event format.`;
}
