/**
 * The seed's counters, in Prometheus text exposition format. Steps record
 * into a registry; `flush` hands the lines to the telemetry hook: a file
 * named by TEKTON_CATALOG_METRICS_FILE (appended, for a sidecar or a later
 * step to ship) and, always, one `metrics:` line per sample on stderr so the
 * counts are in the step log even without a collector.
 */
export type Labels = Record<string, string>;

export const METRICS_FILE_ENV = 'TEKTON_CATALOG_METRICS_FILE';

export class MetricsRegistry {
  private readonly counters = new Map<string, { name: string; labels: Labels; value: number }>();

  increment(name: string, labels: Labels, by = 1): void {
    const key = `${name}${renderLabels(labels)}`;
    const current = this.counters.get(key);
    if (current) current.value += by;
    else this.counters.set(key, { name, labels: { ...labels }, value: by });
  }

  /** Samples sorted by rendered key, so output is stable. */
  samples(): { name: string; labels: Labels; value: number }[] {
    return [...this.counters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, sample]) => sample);
  }

  exposition(): string {
    return this.samples()
      .map((s) => `${s.name}${renderLabels(s.labels)} ${s.value}\n`)
      .join('');
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

/** Label values are escaped per the exposition format; keys are sorted for stable output. */
export function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const body = keys
    .map((key) => `${key}="${labels[key]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
  return `{${body}}`;
}

/** Metric names from the seed document. */
export const Metrics = {
  paramValidationFailures: 'tekton_param_validation_failures_total',
  workspaceAccessViolations: 'tekton_workspace_access_violations_total',
  imageVerifications: 'tekton_image_verifications_total',
  credentialInjections: 'tekton_credential_injections_total',
} as const;
