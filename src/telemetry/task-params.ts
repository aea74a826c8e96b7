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
const SINK_URL_RULE = {
  type: 'regex',
  pattern: "https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:/-]*)?",
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
