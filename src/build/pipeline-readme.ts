import type { PipelineEntry, PipelineVersionRecord } from './catalog-index.ts';
import type { PipelineDefinition } from './pipeline-definition.ts';
import { compareVersions } from './semver.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function ruleText(rule: PipelineDefinition['params'][number]['rule']): string {
  const { type, ...options } = rule;
  const extra = Object.entries(options)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(', ');
  return extra ? `\`${type}\` (${extra})` : `\`${type}\``;
}

/** The README beside each reference Pipeline version. */
export function renderPipelineReadme(definition: PipelineDefinition, record: PipelineVersionRecord, kitFiles: readonly string[]): string {
  const { name, version } = definition;
  const dir = `catalog/pipeline/${name}/${version}`;
  const lines: string[] = [];
  lines.push(`# ${definition.displayName}`, '', definition.summary, '', definition.description.trim(), '');
  lines.push(`Version \`${version}\` · requires Tekton Pipelines ≥ ${record.minPipelinesVersion} · runs ${record.tasks.map((task) => `\`${task}\``).join(', ')} · [changes](../CHANGELOG.md)`, '');
  lines.push('## Which task sees which workspace', '', '```text', definition.diagram.trimEnd(), '```', '');
  lines.push(definition.notes.trim(), '');
  if (definition.params.length > 0) {
    lines.push('## Parameters', '', 'The first task, `validate`, checks every one of them against its rule before anything else runs.', '', '| name | type | rule | default | description |', '| --- | --- | --- | --- | --- |');
    for (const param of definition.params) {
      const defaultText = param.default === undefined ? '(required)' : `\`${cell(JSON.stringify(param.default))}\``;
      lines.push(`| \`${param.name}\` | ${param.type} | ${cell(ruleText(param.rule))} | ${defaultText} | ${cell(param.description)} |`);
    }
    lines.push('');
  }
  lines.push('## Workspaces', '', '| name | optional | description |', '| --- | --- | --- |');
  for (const workspace of definition.workspaces) lines.push(`| \`${workspace.name}\` | ${workspace.optional ? 'yes' : 'no'} | ${cell(workspace.description)} |`);
  lines.push('');
  if (definition.results.length > 0) {
    lines.push('## Results', '', '| name | from | description |', '| --- | --- | --- |');
    for (const result of definition.results) lines.push(`| \`${result.name}\` | \`${result.value}\` | ${cell(result.description)} |`);
    lines.push('');
  }
  lines.push(
    '## Apply it with its kit',
    '',
    `[kit/](kit/) holds everything the Pipeline needs around it, generated from the Pipeline and [kit/kit.yaml](kit/kit.yaml) and checked against the schemas of their kinds. Generate your own from your kit.yaml (see the top README, "Harden a namespace with the kit"):`,
    '',
    '```sh',
    `npm run catalog -- kit generate --pipeline ${dir}/${name}.yaml --config kit.yaml --output-dir kit/`,
    'kubectl apply -k kit/cluster/      # once per cluster: chains-config, config-observability, PrometheusRule',
    'kubectl apply -k kit/namespace/    # per namespace: service accounts, Role, RoleBinding, egress NetworkPolicy',
    `kubectl -n <namespace> apply -f ${dir}/${name}.yaml`,
    `kubectl -n <namespace> create -f ${dir}/samples/pipelinerun.yaml`,
    '```',
    '',
    '| file | what |',
    '| --- | --- |',
    ...kitFiles.map((file) => `| [kit/${file}](kit/${file}) | ${kitFileDescription(file)} |`),
    '',
  );
  if (definition.samples.length > 0) {
    lines.push('## Samples', '');
    for (const sample of definition.samples) lines.push(`- [samples/${sample.file}](samples/${sample.file}): ${sample.description}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function kitFileDescription(file: string): string {
  if (file === 'kit.yaml') return 'the kit configuration these files were generated from';
  if (file === 'all.yaml') return 'every object below in one file (`kubectl apply -f`)';
  if (file.endsWith('kustomization.yaml')) return 'the kustomize base';
  if (file.includes('serviceaccount-runner')) return 'the service account every TaskRun runs as: no Role, no token';
  if (file.includes('serviceaccount-api-reader')) return 'the service account of the tasks that read Secrets from the API';
  if (file.endsWith('role.yaml')) return '`get` on the named Secrets, nothing else';
  if (file.endsWith('rolebinding.yaml')) return 'binds the Role to the api-reader service account only';
  if (file.endsWith('networkpolicy.yaml')) return 'egress allowlist of the namespace\'s TaskRun pods';
  if (file.endsWith('chains-config.yaml')) return 'Tekton Chains: SLSA provenance, signing, storage (every setting explained)';
  if (file.endsWith('config-observability.yaml')) return "Tekton's metrics for Prometheus";
  if (file.endsWith('prometheusrule.yaml')) return "the seed's alerts";
  return '';
}

/** catalog/pipeline/README.md. */
export function renderPipelinesIndex(entries: Record<string, PipelineEntry>): string {
  const lines = ['# Reference Pipelines', '', 'Generated by `npm run build` from `../index.json`; do not edit.', '', '| Pipeline | latest | versions | Tasks |', '| --- | --- | --- | --- |'];
  for (const name of Object.keys(entries).sort()) {
    const entry = entries[name]!;
    const record = entry.versions[entry.latest]!;
    lines.push(`| [${name}](${name}/${entry.latest}/README.md) | ${entry.latest} | ${Object.keys(entry.versions).sort(compareVersions).join(', ')} | ${record.tasks.join(', ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** catalog/pipeline/<name>/CHANGELOG.md, from the index alone (release rewrites it). */
export function renderPipelineChangelog(name: string, entry: PipelineEntry, changes: (version: string) => { kind: string; description: string }[]): string {
  const lines = [`# ${name} changelog`, '', 'Generated from `catalog/index.json` by `npm run build` and `npm run release`; do not edit.', ''];
  for (const version of Object.keys(entry.versions).sort(compareVersions).reverse()) {
    const record = entry.versions[version]!;
    lines.push(`## ${version} (${record.status === 'released' ? `released, git tag \`${name}-v${version}\`` : 'draft, not released yet'})`, '');
    lines.push(`Runs ${record.tasks.map((task) => `\`${task}\``).join(', ')}.`, '');
    for (const change of changes(version)) lines.push(`- **${change.kind}**: ${change.description}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
