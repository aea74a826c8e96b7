import type { StepActionEntry, StepActionVersionRecord } from './catalog-index.ts';
import type { StepDefinition, TaskDefinition } from './definition.ts';
import { describeBound } from './results-budget.ts';
import { compareVersions } from './semver.ts';
import {
  STEPACTION_BUDGET_STEPS,
  STEPACTION_DEFAULT_ON_VERSION,
  STEPACTION_MIN_PIPELINES_VERSION,
  TMP_VOLUME_PARAM,
  workspacePathParam,
  type EmittedStepAction,
} from './stepactions.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The README beside each StepAction version. */
export function renderStepActionReadme(definition: TaskDefinition, step: StepDefinition, emitted: EmittedStepAction, record: StepActionVersionRecord, sampleFile: string): string {
  const { name, version } = emitted;
  const lines: string[] = [];
  lines.push(`# ${definition.displayName} (StepAction)`, '');
  lines.push(definition.summary, '');
  lines.push(
    `The step of the [${definition.name} Task ${version}](../../../task/${definition.name}/${version}/README.md) as a Tekton StepAction, for your own Tasks: the same image, command, arguments, environment and hardening. Its behaviour, params and results are the Task's; read the Task's README for what they mean.`,
    '',
    `Version \`${version}\` (the Task's; released with it) · \`tekton.dev/v1beta1\` · requires Tekton Pipelines ≥ ${STEPACTION_MIN_PIPELINES_VERSION} with the \`enable-step-actions: "true"\` feature flag (on by default from ${STEPACTION_DEFAULT_ON_VERSION}) · platforms linux/amd64, linux/arm64`,
    '',
    '## Use it',
    '',
    `Apply it (\`kubectl apply -f catalog/stepaction/${name}/${version}/${name}.yaml\`) and reference it from a step; [samples/${sampleFile}](samples/${sampleFile}) is the whole Task rebuilt this way:`,
    '',
    '```yaml',
    'volumes:',
    '  - name: tmp            # the writable /tmp the read-only root needs',
    '    emptyDir: {sizeLimit: 64Mi}',
    'steps:',
    `  - name: ${step.name}`,
    '    ref:',
    `      name: ${name}`,
    '    params:',
    ...definition.workspaces.slice(0, 2).flatMap((workspace) => [`      - name: ${workspacePathParam(workspace.name)}`, `        value: $(workspaces.${workspace.name}.path)`]),
    ...definition.params.filter((param) => param.default === undefined).slice(0, 2).flatMap((param) => [`      - name: ${param.name}`, `        value: $(params.${param.name}${param.type === 'array' ? '[*]' : ''})`]),
    '    computeResources:',
    `      requests: {cpu: ${step.computeResources.requests.cpu}, memory: ${step.computeResources.requests.memory}}`,
    `      limits: {cpu: ${step.computeResources.limits.cpu}, memory: ${step.computeResources.limits.memory}}`,
    '```',
    '',
    'A StepAction has no workspaces, volumes or resources of its own, so your Task provides them:',
    '',
    ...(definition.workspaces.length > 0
      ? [`- **workspaces**: pass each path as a param (\`${definition.workspaces.map((w) => workspacePathParam(w.name)).join('`, `')}\`), \`$(workspaces.<name>.path)\` of a workspace your Task declares${definition.workspaces.some((w) => w.readOnly) ? `; declare ${definition.workspaces.filter((w) => w.readOnly).map((w) => `\`${w.name}\``).join(', ')} \`readOnly: true\` as the Task does` : ''};`]
      : []),
    `- **/tmp**: declare an emptyDir volume named \`tmp\` (or name yours in the \`${TMP_VOLUME_PARAM}\` param): the step runs with a read-only root;`,
    `- **computeResources**: set them on the step (a StepAction cannot): the Task uses the requests and limits above.`,
    '',
    `The StepAction's \`securityContext\` (uid/gid 65532, non-root, read-only root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp) overrides the step's, so a Task cannot weaken it. The image is \`${record.image}\`, pinned by digest and tagged with the Task version it was built for; each StepAction version runs exactly the image of its Task version.`,
    '',
  );
  if (definition.params.length > 0 || definition.workspaces.length > 0) {
    lines.push('## Parameters', '', '| name | type | default | description |', '| --- | --- | --- | --- |');
    for (const param of definition.params) {
      lines.push(`| \`${param.name}\` | ${param.type} | ${param.default === undefined ? '(required)' : `\`${cell(JSON.stringify(param.default))}\``} | ${cell(param.description)} |`);
    }
    for (const workspace of definition.workspaces) {
      lines.push(`| \`${workspacePathParam(workspace.name)}\` | string | ${workspace.optional ? '`""`' : '(required)'} | Path of the ${workspace.name} workspace (\`$(workspaces.<name>.path)\`). ${cell(workspace.description)} |`);
    }
    lines.push(`| \`${TMP_VOLUME_PARAM}\` | string | \`"tmp"\` | The emptyDir volume of your Task mounted at /tmp. |`, '');
  }
  if (definition.results.length > 0) {
    lines.push('## Results', '', 'Step results, read as `$(steps.<step>.results.<name>)`; the step writes each to its `$(step.results.<name>.path)`.', '', '| name | type | at most (bytes) | description |', '| --- | --- | --- | --- |');
    for (const result of definition.results) {
      const bytes = emitted.budget.results.find((sized) => sized.name === result.name)!.maxBytes;
      lines.push(`| \`${result.name}\` | ${result.type} | ${bytes} | ${cell(result.description)} (${cell(describeBound(result.bound))}) |`);
    }
    lines.push(
      '',
      `A step's results travel in its container's termination message. The bounds above are for a Task of up to ${emitted.budget.steps} step${emitted.budget.steps === 1 ? '' : 's'}${emitted.budget.steps < STEPACTION_BUDGET_STEPS ? ` (at their largest, this step's results fill a container's share of a pod of ${STEPACTION_BUDGET_STEPS} steps; the values a run writes are usually far smaller)` : ''}: the kubelet keeps 12288 bytes per pod, shared by ${emitted.budget.containers} containers (the steps, Tekton's init container and two a service mesh may inject), which leaves ${emitted.budget.limit} bytes for each; this step's message takes at most ${emitted.budget.worstCase}. In a Task with more steps each container gets less (12288 / containers): keep such a Task's step count so that ${emitted.budget.worstCase} bytes still fit, or the kubelet truncates the message and the TaskRun fails. The step refuses any value above its bound.`,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** catalog/stepaction/README.md: every StepAction the index records, and the composed sample. */
export function renderStepActionsIndex(entries: Record<string, StepActionEntry>, composed: readonly { file: string; description: string }[]): string {
  const lines = [
    '# StepActions',
    '',
    'Generated by `npm run build` from `../index.json`; do not edit.',
    `Every step program of the catalog's Tasks as a Tekton StepAction (\`tekton.dev/v1beta1\`, Tekton Pipelines ≥ ${STEPACTION_MIN_PIPELINES_VERSION}; below ${STEPACTION_DEFAULT_ON_VERSION} set \`enable-step-actions: "true"\` in the \`feature-flags\` ConfigMap). Each runs the image of its Task version and carries that version.`,
    '',
    'Each StepAction version is released with its Task version (see the Task\'s CHANGELOG.md; `index.json` has the status).',
    '',
    '| StepAction | latest | versions | Task | image |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const name of Object.keys(entries).sort()) {
    const entry = entries[name]!;
    const record = entry.versions[entry.latest]!;
    const versions = Object.keys(entry.versions).sort(compareVersions).join(', ');
    lines.push(`| [${name}](${name}/${entry.latest}/README.md) | ${entry.latest} | ${versions} | ${record.task} | \`${record.image}\` |`);
  }
  if (composed.length > 0) {
    lines.push('', '## Composed', '');
    for (const sample of composed) lines.push(`- [samples/${sample.file}](samples/${sample.file}): ${sample.description}`);
  }
  return `${lines.join('\n')}\n`;
}
