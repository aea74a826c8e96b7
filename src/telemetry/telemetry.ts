import { CatalogError, quoteUntrusted } from '../errors.ts';
import { drain } from '../step/run.ts';
import { hasSink, readTelemetryConfig, TelemetryParam, type TelemetryConfig } from './config.ts';
import { MetricsRegistry, type Labels } from './metrics.ts';
import { MAX_EVENTS_PER_RUN, type Violation } from './violations.ts';

/** The most a step waits for its sinks, both together, before it goes on (or fails, when it fails closed). */
export const TELEMETRY_TIMEOUT_MS = 2000;

/**
 * What a step program reports about what it found: the seed's counters
 * (MetricsRegistry) and one violation per security finding. `flush`, which
 * runStep calls once the step is done, writes the counters to the step log
 * and, when the Task names a Pushgateway or a CloudEvents sink, loads the
 * delivery code (delivery.ts, by dynamic import) and sends them. Without a
 * sink no network code is evaluated.
 *
 * A sink that is down, refuses or hangs costs at most TELEMETRY_TIMEOUT_MS
 * and one line in the log; with telemetry-fail-closed "true" it fails the
 * step (exit 3, TELEMETRY_UNDELIVERED) whatever the step found, and every
 * run pushes its group, even with nothing counted, so a Pushgateway that is
 * down stops clean runs too.
 */
export class Telemetry {
  readonly metrics = new MetricsRegistry();
  private readonly violations: Violation[] = [];
  private unsent = 0;
  private config: TelemetryConfig | undefined;
  private env: NodeJS.ProcessEnv = process.env;

  readonly program: string;
  private readonly stderrStream: NodeJS.WritableStream | undefined;

  /** `stderr` defaults to process.stderr, looked up only when a line is written (it loads the stream machinery). */
  constructor(program: string, stderr?: NodeJS.WritableStream) {
    this.program = program;
    this.stderrStream = stderr;
  }

  /** Reads and checks the sink params; call it first in main, so a bad URL fails before the step does anything. */
  configure(env: NodeJS.ProcessEnv = process.env): void {
    this.config = readTelemetryConfig(env);
    this.env = env;
  }

  count(name: string, labels: Labels, by = 1): void {
    this.metrics.increment(name, labels, by);
  }

  record(violation: Violation): void {
    if (this.violations.length < MAX_EVENTS_PER_RUN) this.violations.push(violation);
    else this.unsent++;
  }

  async flush(): Promise<void> {
    const stderr = this.stderrStream ?? process.stderr;
    await this.metrics.flush(this.env, stderr);
    const config = this.config;
    if (config === undefined || !hasSink(config)) return;
    const body = this.metrics.pushBody();
    const pushgateway = config.pushgateway && (body !== '' || config.failClosed) ? { url: config.pushgateway, body } : undefined;
    const cloudEvents = config.cloudEvents && this.violations.length > 0 ? { url: config.cloudEvents, violations: this.violations } : undefined;
    if (!pushgateway && !cloudEvents) return;

    let described: string[];
    let failed: boolean;
    try {
      const { deliver } = await import('./delivery.ts');
      const outcomes = await deliver({
        program: this.program,
        run: config.run,
        timeoutMs: TELEMETRY_TIMEOUT_MS,
        ...(pushgateway ? { pushgateway } : {}),
        ...(cloudEvents ? { cloudEvents } : {}),
      });
      described = outcomes.map((o) => `${o.sink} ${quoteUntrusted(o.url.href, 200)}: ${o.detail}`);
      failed = outcomes.some((o) => !o.ok);
    } catch (error) {
      // A fault of our own (an event the SDK refuses, say) is a delivery failure like any other: it never fails an open step.
      described = [`internal error: ${quoteUntrusted(error instanceof Error ? error.message : String(error), 200)}`];
      failed = true;
    }
    if (this.unsent > 0) described.push(`${this.unsent} more violation(s) counted but not sent (at most ${MAX_EVENTS_PER_RUN} events per run)`);
    if (failed && config.failClosed) {
      throw new CatalogError('TELEMETRY_UNDELIVERED', `telemetry not delivered, and ${TelemetryParam.failClosed} is "true": ${described.join('; ')}`, {
        hint: `check that the sink runs and that this TaskRun's pod may reach it (egress NetworkPolicy, TLS trust); set ${TelemetryParam.failClosed} to "false" to let steps go on without it`,
      });
    }
    const verdict = failed ? `telemetry not delivered, the step goes on (${TelemetryParam.failClosed} is "false")` : 'telemetry';
    stderr.write(`${this.program}: ${verdict}: ${described.join('; ')}\n`);
    await drain(stderr);
  }
}
