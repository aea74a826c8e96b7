import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Rule';
import { ConfigMap } from 'kubernetes-models/v1';
import { Metrics } from '../../telemetry/metrics.ts';
import type { CommentedConfigMap } from '../chains/chains-config.ts';
import type { KitConfig } from '../config/kit-config.ts';

/**
 * The seed's steps 7 and 8: Tekton's own metrics in Prometheus form
 * (`config-observability`), and alerts on them and on the catalog's security
 * counters (a PrometheusRule for the Prometheus Operator).
 */

/**
 * The seed's security counters with their labels, as the catalog's steps
 * count them (src/telemetry/metrics.ts) and push them to a collector.
 */
export const SEED_COUNTERS = {
  paramValidationFailures: { name: Metrics.paramValidationFailures, labels: ['task', 'param'] },
  workspaceAccessViolations: { name: Metrics.workspaceAccessViolations, labels: ['task', 'workspace'] },
  imagePullErrors: { name: Metrics.imagePullErrors, labels: ['task', 'image'] },
} as const;

/**
 * Tekton Pipelines' controller metrics the alerts read (docs/metrics.md): the
 * duration of TaskRuns of PipelineRuns and of TaskRuns on their own are two
 * histograms (one regex selector over both would give rate() series with
 * the same labels, which Prometheus refuses, so each has its alert).
 */
export const TEKTON_METRICS = {
  pipelineTaskRunDurationBuckets: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_bucket',
  taskRunDurationBuckets: 'tekton_pipelines_controller_taskrun_duration_seconds_bucket',
  pipelineTaskRunDurationCount: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_count',
  taskRunDurationCount: 'tekton_pipelines_controller_taskrun_duration_seconds_count',
  pipelineRunDurationCount: 'tekton_pipelines_controller_pipelinerun_duration_seconds_count',
} as const;

function durationSpike(buckets: string, factor: number): string {
  const p99 = (range: string) => `histogram_quantile(0.99, sum by (le, task) (rate(${buckets}${range})))`;
  return `${p99('[1h]')} > ${factor} * ${p99('[7d] offset 1h')}`;
}

export const CONFIG_OBSERVABILITY_NAME = 'config-observability';

export function planConfigObservability(config: KitConfig): CommentedConfigMap {
  const entries: [string, string, string][] = [
    ['metrics.backend-destination', 'prometheus', "Expose the controller's metrics for Prometheus to scrape (the controller service, port 9090)."],
    ['metrics.taskrun.level', 'task', 'Label TaskRun metrics with the Task name (not every TaskRun: that would make a new series per run), so the duration alert compares a Task with its own history.'],
    ['metrics.taskrun.duration-type', 'histogram', 'Histograms, so the alerts can compute the p99 duration (a lastvalue gauge cannot).'],
    ['metrics.pipelinerun.level', 'pipeline', 'Label PipelineRun metrics with the Pipeline name: the off-hours alert matches production Pipelines by it.'],
    ['metrics.pipelinerun.duration-type', 'histogram', 'Histograms for PipelineRun durations too.'],
    ['metrics.count.enable-reason', 'true', 'Count runs by failure reason as well, so a burst of failed verifications or validations shows as such.'],
  ];
  const configMap = new ConfigMap({
    metadata: { name: CONFIG_OBSERVABILITY_NAME, namespace: config.observability.tektonNamespace, labels: { 'app.kubernetes.io/part-of': 'tekton-pipelines', 'app.kubernetes.io/instance': 'default' } },
    data: Object.fromEntries(entries.map(([key, value]) => [key, value])),
  });
  return { configMap, comments: Object.fromEntries(entries.map(([key, , comment]) => [key, comment])) };
}

/** Window within which a new or grown counter fires its alert. */
export const ALERT_WINDOW = '15m';

/**
 * A counter that grew, or a series that appeared, in the window: catches
 * counts scraped from a long-lived exporter (increase) and counts pushed to
 * a Pushgateway under a grouping key of their own per TaskRun (a new series
 * whose first sample increase() cannot see).
 */
function newCounts(metric: string, by: readonly string[]): string {
  const labels = by.join(', ');
  return `(sum by (${labels}) (increase(${metric}[${ALERT_WINDOW}])) > 0) or (sum by (${labels}) (${metric} unless (${metric} offset ${ALERT_WINDOW})) > 0)`;
}

export const PROMETHEUS_RULE_NAME = 'tekton-catalog-security';

export function planPrometheusRule(config: KitConfig): PrometheusRule {
  const { observability } = config;
  const counters = SEED_COUNTERS;
  const rules: IRule[] = [
    {
      alert: 'TektonParamValidationFailures',
      expr: newCounts(counters.paramValidationFailures.name, counters.paramValidationFailures.labels),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'validate-params refused param {{ $labels.param }} in Task {{ $labels.task }}',
        description:
          'A pipeline param broke its validate-params rule: a typo, or an injection attempt (the seed\'s adversary 4). The TaskRun failed before any step used the value. Check who started the run and the value in the step log (shown escaped).',
      },
    },
    {
      alert: 'TektonWorkspaceAccessViolation',
      expr: newCounts(counters.workspaceAccessViolations.name, counters.workspaceAccessViolations.labels),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'workspace-guard or inject-credentials found a violation in workspace {{ $labels.workspace }} (Task {{ $labels.task }})',
        description:
          'A workspace changed after it was sealed, holds credential material, links out of itself, carries another run\'s marker, or credentials outlived their expiry (adversaries 2 and 5). The run stopped. Keep the PVC for investigation; do not deploy its artefacts.',
      },
    },
    {
      alert: 'TektonImagePullErrors',
      expr: newCounts(counters.imagePullErrors.name, counters.imagePullErrors.labels),
      labels: { severity: 'warning' },
      annotations: {
        summary: 'verify-image could not pull {{ $labels.image }} (Task {{ $labels.task }})',
        description: 'The registry was unreachable or refused the image or its signatures, so nothing was verified and the run stopped. A registry outage, or an image that moved to an unapproved registry.',
      },
    },
    {
      // tekton_image_verifications_total stays in the step log (it counts every run, so it is not pushed):
      // a failed verify-image TaskRun is what Tekton's own metrics show.
      alert: 'TektonImageVerificationFailed',
      expr: [TEKTON_METRICS.pipelineTaskRunDurationCount, TEKTON_METRICS.taskRunDurationCount]
        .map((metric) => `(sum by (task) (increase(${metric}{task="verify-image",status="failed"}[${ALERT_WINDOW}])) > 0)`)
        .join(' or '),
      labels: { severity: 'critical' },
      annotations: {
        summary: 'A verify-image TaskRun failed: an image or Task bundle was rejected or could not be checked',
        description: 'No signature satisfied the policy (adversary 3: a compromised registry or tag), or the registry could not be read. The run stopped; do not deploy anything built from it. The step log names each image and its reason code.',
      },
    },
    ...(
      [
        ['TektonPipelineTaskRunDurationSpike', TEKTON_METRICS.pipelineTaskRunDurationBuckets, 'TaskRuns of PipelineRuns'],
        ['TektonTaskRunDurationSpike', TEKTON_METRICS.taskRunDurationBuckets, 'TaskRuns on their own'],
      ] as const
    ).map(([alert, buckets, which]) => ({
      alert,
      expr: durationSpike(buckets, observability.durationSpikeFactor),
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Task {{ $labels.task }} runs far slower than usual (p99 of the last hour, ${which})`,
        description: `The p99 duration of the last hour is more than ${observability.durationSpikeFactor} times the p99 of the week before: possible exfiltration, mining, or a stuck step. Compare the slow runs' logs and egress.`,
      },
    })),
  ];
  if (observability.production) {
    const { pipelines, approvedHoursUtc } = observability.production;
    rules.push({
      alert: 'TektonProductionRunOutsideApprovedHours',
      expr: `(sum by (pipeline) (increase(${TEKTON_METRICS.pipelineRunDurationCount}{pipeline=~${JSON.stringify(pipelines)}}[10m])) > 0) and on() (hour() < ${approvedHoursUtc.from} or hour() >= ${approvedHoursUtc.to})`,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Pipeline {{ $labels.pipeline }} ran outside the approved hours',
        description: `A production pipeline finished a run outside ${approvedHoursUtc.from}:00-${approvedHoursUtc.to}:00 UTC: possibly an unauthorised deployment. Check who created the PipelineRun.`,
      },
    });
  }
  const labels = { 'app.kubernetes.io/managed-by': 'tekton-catalog-kit', ...observability.ruleLabels };
  return new PrometheusRule({
    metadata: { name: PROMETHEUS_RULE_NAME, namespace: observability.ruleNamespace, labels },
    spec: { groups: [{ name: 'tekton-catalog-security', rules }] },
  });
}
