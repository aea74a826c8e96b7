import { boundedText, TextBounds } from './bounded-text.ts';

/**
 * The seed's counters, in Prometheus text exposition format. Steps record
 * into a registry; `flush` writes one `metrics:` line per sample on stderr,
 * so the counts are in the step log even without a collector, and appends
 * the samples to the file named by TEKTON_CATALOG_METRICS_FILE when it is
 * set. Pushing them to a Pushgateway is the Telemetry class's job
 * (telemetry.ts), which loads the network code only when one is configured.
 */
export type Labels = Record<string, string>;

export const METRICS_FILE_ENV = 'TEKTON_CATALOG_METRICS_FILE';

/** Metric names from the seed document, and two of the catalog's own. */
export const Metrics = {
  paramValidationFailures: 'tekton_param_validation_failures_total',
  workspaceAccessViolations: 'tekton_workspace_access_violations_total',
  imagePullErrors: 'tekton_taskrun_image_pull_errors_total',
  imageVerifications: 'tekton_image_verifications_total',
  credentialInjections: 'tekton_credential_injections_total',
} as const;

/**
 * The seed's counters: these are pushed to a Pushgateway. The catalog's own
 * (verifications, injections) count every run, success included, so pushing
 * them would leave a Pushgateway group behind for every TaskRun; they stay in
 * the step log. HELP texts are fixed: the Pushgateway refuses a push whose
 * HELP differs from what other groups hold for the same name.
 */
export const PUSHED_METRICS: Readonly<Record<string, string>> = {
  [Metrics.paramValidationFailures]: 'Param values validate-params rejected in one TaskRun, by task and param.',
  [Metrics.workspaceAccessViolations]: 'Workspace access violations found in one TaskRun, by task and workspace.',
  [Metrics.imagePullErrors]: 'Images whose registry pull failed in one TaskRun, by task and image.',
};

/** Distinct label sets one metric may hold in one run; the rest are counted under "(other)". */
export const MAX_SERIES_PER_METRIC = 32;
export const OTHER_LABEL_VALUE = '(other)';

/** Label values' length bounds, by label name; names not listed get TextBounds.task. */
const LABEL_BOUNDS: Readonly<Record<string, number>> = { param: TextBounds.param, image: TextBounds.image, workspace: TextBounds.workspace };

interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export class MetricsRegistry {
  private readonly counters = new Map<string, Sample>();
  private readonly seriesPerMetric = new Map<string, number>();

  /**
   * Label values become bounded printable ASCII (boundedText) before they are
   * stored, so every output (log line, file, push) carries the same safe
   * value. A metric's label sets beyond MAX_SERIES_PER_METRIC add to one
   * series whose labels other than `task` are "(other)".
   */
  increment(name: string, labels: Labels, by = 1): void {
    let bounded: Labels = Object.fromEntries(Object.entries(labels).map(([key, value]) => [key, boundedText(value, LABEL_BOUNDS[key] ?? TextBounds.task)]));
    let key = `${name}${renderLabels(bounded)}`;
    if (!this.counters.has(key) && (this.seriesPerMetric.get(name) ?? 0) >= MAX_SERIES_PER_METRIC) {
      bounded = Object.fromEntries(Object.entries(bounded).map(([label, value]) => [label, label === 'task' ? value : OTHER_LABEL_VALUE]));
      key = `${name}${renderLabels(bounded)}`;
    }
    const current = this.counters.get(key);
    if (current) {
      current.value += by;
      return;
    }
    this.counters.set(key, { name, labels: bounded, value: by });
    this.seriesPerMetric.set(name, (this.seriesPerMetric.get(name) ?? 0) + 1);
  }

  /** Samples sorted by rendered key, so output is stable. */
  samples(): Sample[] {
    return [...this.counters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, sample]) => sample);
  }

  exposition(): string {
    return this.samples()
      .map((s) => `${s.name}${renderLabels(s.labels)} ${s.value}\n`)
      .join('');
  }

  /** The seed's counters as a Pushgateway body: HELP and TYPE per metric, then its samples ("" when none). */
  pushBody(): string {
    const byName = new Map<string, Sample[]>();
    for (const sample of this.samples()) {
      if (!Object.hasOwn(PUSHED_METRICS, sample.name)) continue;
      byName.set(sample.name, [...(byName.get(sample.name) ?? []), sample]);
    }
    let body = '';
    for (const [name, samples] of byName) {
      body += `# HELP ${name} ${PUSHED_METRICS[name]}\n# TYPE ${name} counter\n`;
      for (const s of samples) body += `${name}${renderLabels(s.labels)} ${s.value}\n`;
    }
    return body;
  }

  async flush(env: NodeJS.ProcessEnv = process.env, stderr: NodeJS.WritableStream = process.stderr): Promise<void> {
    const text = this.exposition();
    if (text === '') return;
    for (const line of text.trimEnd().split('\n')) stderr.write(`metrics: ${line}\n`);
    const file = env[METRICS_FILE_ENV];
    if (!file) return;
    // Loaded only when there is a file to write: a static import would load
    // fs/promises (and the stream modules behind it) at every step's start.
    const { appendFile } = await import('node:fs/promises');
    await appendFile(file, text, { mode: 0o644 });
  }
}

/**
 * Label values escaped per the exposition format (backslash, double quote,
 * line feed); keys sorted for stable output.
 */
export function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const body = keys
    .map((key) => `${key}="${labels[key]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
  return `{${body}}`;
}
