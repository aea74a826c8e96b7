// The kit's PrometheusRule, checked by Prometheus' own promtool: `check
// rules` parses every expression, and `test rules` evaluates each alert on
// generated series, the way Prometheus would: counts scraped from a
// long-lived exporter that grow, counts pushed to a Pushgateway under a
// grouping key per TaskRun (a new series each time), counts that stay the
// same (no alert), a TaskRun p99 that jumps, and production runs inside and
// outside the approved hours.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { planPrometheusRule, SEED_COUNTERS } from '../../src/kit/observability/observability.ts';
import { requireTool } from '../harness/shared.ts';
import { config } from './fixtures.ts';

type Rule = { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> };

t.test('the alerts use exactly the seed counters and labels', async (t) => {
  t.same(
    Object.values(SEED_COUNTERS).map((counter) => `${counter.name}{${counter.labels.join(',')}}`),
    ['tekton_param_validation_failures_total{task,param}', 'tekton_workspace_access_violations_total{task,workspace}', 'tekton_taskrun_image_pull_errors_total{task,image}'],
  );
  const rules = (planPrometheusRule(config()).toJSON() as { spec: { groups: { rules: Rule[] }[] } }).spec.groups[0]!.rules;
  for (const counter of Object.values(SEED_COUNTERS)) {
    const rule = rules.find((r) => r.expr.includes(counter.name));
    t.ok(rule, `an alert reads ${counter.name}`);
    t.ok(rule?.expr.includes(`sum by (${counter.labels.join(', ')})`), `${counter.name}: grouped by ${counter.labels.join(', ')}`);
  }
});

t.test('promtool parses the rules and fires each alert when it should, and only then', async (t) => {
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const rule = planPrometheusRule(config({ observability: { durationSpikeFactor: 3, production: { pipelines: 'secure-build|deploy-.*', approvedHoursUtc: { from: 7, to: 19 } } } } as never)).toJSON() as {
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
  const dir = await mkdtemp(join(tmpdir(), 'kit-promtool-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
  const check = await execa(promtool, ['check', 'rules', join(dir, 'rules.yaml')], { reject: false });
  t.equal(check.exitCode, 0, `promtool check rules: ${check.stdout} ${check.stderr}`);
  t.match(check.stdout, new RegExp(`SUCCESS: ${rule.spec.groups[0]!.rules.length} rules found`));

  const byName = new Map(rule.spec.groups[0]!.rules.map((r) => [r.alert, r]));
  /** What Prometheus renders for an alert with these labels (the templates use $labels only). */
  const expected = (alert: string, labels: Record<string, string>) => {
    const r = byName.get(alert)!;
    const render = (text: string) => text.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, key: string) => labels[key] ?? '');
    return { exp_labels: { ...r.labels, ...labels }, exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([key, value]) => [key, render(value)])) };
  };
  const counterTests = Object.entries({
    TektonParamValidationFailures: ['tekton_param_validation_failures_total', { task: 'validate', param: 'git-revision' }],
    TektonWorkspaceAccessViolation: ['tekton_workspace_access_violations_total', { task: 'verify-source', workspace: 'source' }],
    TektonImagePullErrors: ['tekton_taskrun_image_pull_errors_total', { task: 'verify-images', image: 'registry.example.com/base' }],
  } as const).flatMap(([alert, [metric, labels]]) => {
    const series = (more: string) => `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}${more}}`;
    return [
      {
        // A Pushgateway group per TaskRun: the series appears with its count; increase() alone would never see it.
        interval: '1m',
        input_series: [{ series: series(',job="pushgateway",taskrun="run-1"'), values: '_x5 1x40' }],
        alert_rule_test: [
          { eval_time: '3m', alertname: alert, exp_alerts: [] },
          { eval_time: '8m', alertname: alert, exp_alerts: [expected(alert, labels)] },
          { eval_time: '30m', alertname: alert, exp_alerts: [] },
        ],
      },
      {
        // A long-lived counter that grows once.
        interval: '1m',
        input_series: [{ series: series(',job="exporter"'), values: '0x20 1x40' }],
        alert_rule_test: [
          { eval_time: '15m', alertname: alert, exp_alerts: [] },
          { eval_time: '25m', alertname: alert, exp_alerts: [expected(alert, labels)] },
          { eval_time: '50m', alertname: alert, exp_alerts: [] },
        ],
      },
    ];
  });
  // Tekton's own counts of TaskRuns by Task and status: a failed verify-image run fires; a failed build or a passing verify-image does not.
  const verification = {
    interval: '1m',
    input_series: [
      { series: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_count{task="verify-image",status="failed",pipeline="secure-build",namespace="ci"}', values: '0x20 1x40' },
      { series: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_count{task="verify-image",status="success",pipeline="secure-build",namespace="ci"}', values: '0+1x60' },
      { series: 'tekton_pipelines_controller_taskrun_duration_seconds_count{task="build",status="failed",namespace="ci"}', values: '0+1x60' },
    ],
    alert_rule_test: [
      { eval_time: '15m', alertname: 'TektonImageVerificationFailed', exp_alerts: [] },
      { eval_time: '25m', alertname: 'TektonImageVerificationFailed', exp_alerts: [expected('TektonImageVerificationFailed', { task: 'verify-image' })] },
      { eval_time: '50m', alertname: 'TektonImageVerificationFailed', exp_alerts: [] },
    ],
  };
  // 7 days of TaskRuns that all take under 10 s, then runs that take up to 100 s.
  const week = 336; // 30-minute intervals
  const spike = {
    interval: '30m',
    input_series: [
      { series: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_bucket{task="build",le="10"}', values: `0+10x${week} ${week * 10}x12` },
      { series: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_bucket{task="build",le="100"}', values: `0+10x${week + 12}` },
      { series: 'tekton_pipelines_controller_pipelinerun_taskrun_duration_seconds_bucket{task="build",le="+Inf"}', values: `0+10x${week + 12}` },
      { series: 'tekton_pipelines_controller_taskrun_duration_seconds_bucket{task="build",le="10"}', values: `0+1x${week + 12}` },
      { series: 'tekton_pipelines_controller_taskrun_duration_seconds_bucket{task="build",le="+Inf"}', values: `0+1x${week + 12}` },
    ],
    alert_rule_test: [
      { eval_time: '167h', alertname: 'TektonPipelineTaskRunDurationSpike', exp_alerts: [] },
      { eval_time: `${7 * 24 + 1}h`, alertname: 'TektonPipelineTaskRunDurationSpike', exp_alerts: [expected('TektonPipelineTaskRunDurationSpike', { task: 'build' })] },
      { eval_time: `${7 * 24 + 1}h`, alertname: 'TektonTaskRunDurationSpike', exp_alerts: [] },
    ],
  };
  // Evaluation starts at 1970-01-01 00:00 UTC: 02:00 is outside 07-19, 09:00 inside.
  const production = (eval_time: string, firing: boolean) => ({
    interval: '1m',
    input_series: [
      { series: 'tekton_pipelines_controller_pipelinerun_duration_seconds_count{pipeline="deploy-prod",status="success"}', values: `0x${Number.parseInt(eval_time, 10) * 60 - 5} 1x20` },
      { series: 'tekton_pipelines_controller_pipelinerun_duration_seconds_count{pipeline="nightly-test",status="success"}', values: `0x${Number.parseInt(eval_time, 10) * 60 - 5} 1x20` },
    ],
    alert_rule_test: [{ eval_time, alertname: 'TektonProductionRunOutsideApprovedHours', exp_alerts: firing ? [expected('TektonProductionRunOutsideApprovedHours', { pipeline: 'deploy-prod' })] : [] }],
  });
  const tests = { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [...counterTests, verification, spike, production('2h', true), production('9h', false)] };
  await writeFile(join(dir, 'tests.yaml'), stringify(tests));
  const run = await execa(promtool, ['test', 'rules', join(dir, 'tests.yaml')], { reject: false, cwd: dir });
  t.equal(run.exitCode, 0, 'promtool test rules passes', { output: `${run.stdout}\n${run.stderr}`.slice(0, 4000) });
  t.match(run.stdout, /SUCCESS/);
  t.equal(tests.tests.length, 10, `${tests.tests.length} promtool cases`);

  // The test can fail: an alert expected where the rule does not fire is reported by promtool.
  const wrong = structuredClone(tests);
  wrong.tests = [{ ...counterTests[0]!, alert_rule_test: [{ eval_time: '30m', alertname: 'TektonParamValidationFailures', exp_alerts: [expected('TektonParamValidationFailures', { task: 'validate', param: 'git-revision' })] }] }];
  await writeFile(join(dir, 'wrong.yaml'), stringify(wrong));
  const failing = await execa(promtool, ['test', 'rules', join(dir, 'wrong.yaml')], { reject: false, cwd: dir });
  t.not(failing.exitCode, 0, 'promtool reports an alert that did not fire');
});
