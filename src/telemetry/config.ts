import { CatalogError, quoteUntrusted } from '../errors.ts';
import { boundedText } from './bounded-text.ts';

/**
 * Where a step's telemetry goes, read from the step's environment. This is
 * the only telemetry code every step loads at start: it checks a few strings
 * and builds no connection. Messages name the Task params, which is what a
 * pipeline author sets (telemetry/task-params.ts maps them to these variables).
 */
export const TelemetryEnv = {
  pushgatewayUrl: 'PUSHGATEWAY_URL',
  cloudEventsSink: 'CLOUDEVENTS_SINK',
  failClosed: 'TELEMETRY_FAIL_CLOSED',
  taskRunName: 'TEKTON_TASKRUN_NAME',
  taskRunNamespace: 'TEKTON_TASKRUN_NAMESPACE',
  taskRunUid: 'TEKTON_TASKRUN_UID',
  retryCount: 'TEKTON_TASK_RETRY_COUNT',
} as const;

export const TelemetryParam = {
  pushgatewayUrl: 'pushgateway-url',
  cloudEventsSink: 'cloudevents-sink',
  failClosed: 'telemetry-fail-closed',
} as const;

/** Longer URLs are refused: a sink address is short, and the value is printed in messages. */
export const MAX_SINK_URL_CHARS = 2048;

/** The TaskRun a step runs in, as Tekton's context variables give it. */
export interface RunContext {
  taskRunName: string;
  namespace: string;
  /** The TaskRun's uid; a random one outside Tekton, so two such runs never share a Pushgateway group. */
  uid: string;
  /** $(context.task.retry-count): a retried TaskRun keeps its uid, so the attempt is part of the grouping key. */
  retry: string;
}

export interface TelemetryConfig {
  pushgateway: URL | undefined;
  cloudEvents: URL | undefined;
  failClosed: boolean;
  run: RunContext;
}

/** True when a sink is configured: only then does a step load the delivery code. */
export function hasSink(config: TelemetryConfig): boolean {
  return config.pushgateway !== undefined || config.cloudEvents !== undefined;
}

export function readTelemetryConfig(env: NodeJS.ProcessEnv): TelemetryConfig {
  const failClosed = env[TelemetryEnv.failClosed] ?? '';
  if (failClosed !== '' && failClosed !== 'true' && failClosed !== 'false') {
    throw new CatalogError('CONFIG_TELEMETRY', `param ${TelemetryParam.failClosed} must be "true" or "false", not ${quoteUntrusted(failClosed)}`, {
      hint: '"false" (the default): a sink that is down costs one line in the log; "true": it fails the step',
    });
  }
  const pushgateway = parseSinkUrl(env[TelemetryEnv.pushgatewayUrl] ?? '', TelemetryParam.pushgatewayUrl);
  const cloudEvents = parseSinkUrl(env[TelemetryEnv.cloudEventsSink] ?? '', TelemetryParam.cloudEventsSink);
  const dnsName = (value: string | undefined) => (value && /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(value) ? value : '');
  const uid = env[TelemetryEnv.taskRunUid] ?? '';
  return {
    pushgateway,
    cloudEvents,
    failClosed: failClosed === 'true',
    run: {
      taskRunName: dnsName(env[TelemetryEnv.taskRunName]),
      namespace: dnsName(env[TelemetryEnv.taskRunNamespace]),
      // A random uid only when something will be sent: it would cost every unconfigured step the crypto module.
      uid: uid !== '' ? boundedText(uid, 64) : pushgateway || cloudEvents ? `local-${globalThis.crypto.randomUUID()}` : '',
      retry: /^\d{1,4}$/.test(env[TelemetryEnv.retryCount] ?? '') ? env[TelemetryEnv.retryCount]! : '0',
    },
  };
}

/**
 * A sink URL: https://, or http:// when that is what the param says (an
 * in-cluster Pushgateway usually speaks plain HTTP); nothing is ever
 * downgraded and redirects are not followed. No user info and no query:
 * both are where credentials hide, and a credential in a Task param is in
 * every TaskRun's YAML. Refused before the step does anything else, so a
 * typo fails the first run rather than silently losing every count.
 */
export function parseSinkUrl(value: string, param: string): URL | undefined {
  if (value === '') return undefined;
  // User info and queries are where credentials sit: the message shows the URL without them.
  const shown = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@').replace(/[?#].*$/s, (rest) => `${rest[0]}***`);
  const refuse = (rule: string) =>
    new CatalogError('CONFIG_TELEMETRY', `param ${param} ${quoteUntrusted(shown, 120)} ${rule}`, {
      hint: `give a URL such as https://collector.example.com:9091, or leave ${param} empty to keep the counts in the step log only`,
    });
  if (value.length > MAX_SINK_URL_CHARS) throw refuse(`is longer than ${MAX_SINK_URL_CHARS} characters`);
  if (!/^[\x21-\x7e]+$/.test(value)) throw refuse('must be printable ASCII without spaces');
  if (!/^https?:\/\/[^/]/i.test(value)) throw refuse('must start with https:// (or http:// for a sink reached without TLS)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '' || value.includes('@')) throw refuse('must not hold user info: credentials never go in a param');
  if (value.includes('?') || value.includes('#')) throw refuse('must not have a query or fragment: credentials never go in a param');
  return url;
}
