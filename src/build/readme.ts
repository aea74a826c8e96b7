import type { TaskDefinition } from './definition.ts';
import type { CatalogIndex, VersionRecord } from './catalog-index.ts';
import { projectMetadata, releaseTag, type ProjectMetadata } from './annotations.ts';
import { ARTIFACT_HUB_REPOSITORY } from './catalog-metadata.ts';
import { describeBound, resultsBudget } from './results-budget.ts';
import { compareVersions } from './semver.ts';

/** Markdown table cells may not hold pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function ruleText(rule: TaskDefinition['params'][number]['rule']): string {
  const { type, ...options } = rule;
  const extra = Object.entries(options)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(', ');
  return extra ? `\`${type}\` (${extra})` : `\`${type}\``;
}

/**
 * Notes are written with their own `##` sections; under the README's
 * `## Notes` they become `###` subsections (and so on down), so the notes
 * render as one section. Lines inside fenced code blocks are left alone.
 */
export function nestHeadings(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (marker !== undefined) {
        if (fence === undefined) fence = marker;
        else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
        return line;
      }
      return fence === undefined && /^#{1,5} /.test(line) ? `#${line}` : line;
    })
    .join('\n');
}

/**
 * The README that sits beside each Task version: how to reference it (by
 * bundle digest first, as TEP-0110 recommends), its interface, the pinned
 * images, and the hardening every step gets.
 */
export function renderTaskReadme(definition: TaskDefinition, record: VersionRecord, project: ProjectMetadata = projectMetadata()): string {
  const { name, version } = definition;
  const lines: string[] = [];
  lines.push(`# ${definition.displayName}`, '');
  if (definition.deprecated) {
    const reason = definition.deprecated.reason ? ` ${definition.deprecated.reason}.` : '';
    lines.push(`> **Deprecated.**${reason} Use ${definition.deprecated.replacement} instead. This version is marked \`tekton.dev/deprecated: "true"\`.`, '');
  }
  lines.push(`${definition.summary}`, '', definition.description.trim(), '');
  lines.push(
    `Version \`${version}\` · requires Tekton Pipelines ≥ ${definition.minPipelinesVersion} · platforms linux/amd64, linux/arm64 · [changes](../CHANGELOG.md)`,
    '',
  );

  lines.push('## Use it', '', 'Reference the Task from its Tekton bundle, pinned by digest (recommended):', '');
  lines.push(
    '```yaml',
    'taskRef:',
    '  resolver: bundles',
    '  params:',
    '    - name: bundle',
    `      value: ${record.bundle.reference}`,
    '    - name: name',
    `      value: ${name}`,
    '    - name: kind',
    '      value: task',
    '```',
    '',
    'Or resolve it from [Artifact Hub](https://artifacthub.io) with the `hub` resolver, or from this repository with the `git` resolver:',
    '',
    '```yaml',
    'taskRef:',
    '  resolver: hub',
    '  params:',
    '    - name: type',
    '      value: artifact',
    '    - name: catalog',
    `      value: ${ARTIFACT_HUB_REPOSITORY}`,
    '    - name: kind',
    '      value: task',
    '    - name: name',
    `      value: ${name}`,
    '    - name: version',
    `      value: "${version}"`,
    '```',
    '',
    '```yaml',
    'taskRef:',
    '  resolver: git',
    '  params:',
    '    - name: url',
    `      value: ${project.source}.git`,
    '    - name: revision',
    `      value: ${releaseTag(name, version)}   # or the commit that tag points at`,
    '    - name: pathInRepo',
    `      value: catalog/task/${name}/${version}/${name}.yaml`,
    '```',
    '',
    'Both fetch the YAML without a digest pin: the hub resolver takes whatever Artifact Hub serves for that version and cannot pin',
    'its content, and the git resolver follows the tag unless `revision` is a full commit id. Neither checks a signature, and the',
    'hub resolver must be enabled (`enable-hub-resolver` in `resolvers-feature-flags`). The bundle reference above pins the exact',
    'bytes that were signed; prefer it.',
    '',
    'Or apply the YAML from a clone of this repository:',
    '',
    '```sh',
    `kubectl apply -f catalog/task/${name}/${version}/${name}.yaml`,
    '```',
    '',
  );

  if (definition.params.length > 0) {
    lines.push('## Parameters', '', '| name | type | rule | default | description |', '| --- | --- | --- | --- | --- |');
    for (const param of definition.params) {
      const defaultText = param.default === undefined ? '(required)' : `\`${cell(JSON.stringify(param.default))}\``;
      lines.push(`| \`${param.name}\` | ${param.type} | ${cell(ruleText(param.rule))} | ${defaultText} | ${cell(param.description)} |`);
    }
    lines.push('');
  }
  if (definition.workspaces.length > 0) {
    lines.push('## Workspaces', '', '| name | optional | read-only | description |', '| --- | --- | --- | --- |');
    for (const workspace of definition.workspaces) {
      lines.push(
        `| \`${workspace.name}\` | ${workspace.optional ? 'yes' : 'no'} | ${workspace.readOnly ? 'yes' : 'no'} | ${cell(workspace.description)} |`,
      );
    }
    lines.push('');
  }
  if (definition.results.length > 0) {
    const budget = resultsBudget(definition);
    lines.push('## Results', '', '| name | type | at most (bytes) | bound | description |', '| --- | --- | --- | --- | --- |');
    for (const result of definition.results) {
      const maxBytes = budget.results.find((sized) => sized.name === result.name)!.maxBytes;
      lines.push(`| \`${result.name}\` | ${result.type} | ${maxBytes} | ${cell(describeBound(result.bound))} | ${cell(result.description)} |`);
    }
    lines.push(
      '',
      `All results of a step travel in Tekton's termination message, with Tekton's own entries (\`StartedAt\`, \`Reason\`). ` +
        `Sizes are counted as written there, JSON-escaped. At these bounds the message takes at most ${budget.worstCase} of the ${budget.limit} bytes ` +
        `a step has: Tekton allows 4096 per container, and the kubelet keeps 12288 per pod, shared by its ${budget.containers} containers ` +
        "(the steps, Tekton's `prepare` init container, and two that a service mesh may inject). The build fails when a Task could exceed it, " +
        `and each step refuses to write a value above its bound (\`TEKTON_CATALOG_RESULT_LIMITS\` carries the bounds to the step).`,
      '',
    );
  }

  lines.push('## Step images', '', '| program | image (multi-arch index, tagged with the Task version it was built for) |', '| --- | --- |');
  for (const [program, image] of Object.entries(record.images)) lines.push(`| ${program} | \`${image.reference}\` |`);
  lines.push(
    '',
    'Each image is rebuilt byte for byte by `npm ci && npm run build` in this repository.',
    '',
    '## Security',
    '',
    'Every step runs as uid/gid 65532 with `runAsNonRoot`, a read-only root filesystem (a `/tmp` emptyDir is mounted),',
    'no privilege escalation, all capabilities dropped, the RuntimeDefault seccomp profile, and CPU and memory requests and limits.',
    'Params reach the step program only through `env` and `args`, never inside a script.',
    '',
  );
  if (definition.notes) lines.push('## Notes', '', nestHeadings(definition.notes.trim()), '');
  if (definition.samples.length > 0) {
    lines.push('## Samples', '');
    for (const sample of definition.samples) lines.push(`- [samples/${sample.file}](samples/${sample.file}): ${sample.description}`);
    lines.push('');
  }
  if (definition.tests !== undefined) {
    lines.push(
      '## Test on a cluster',
      '',
      `[tests/run.yaml](tests/run.yaml) exercises this version on a real cluster, in the tektoncd/catalog convention (TEP-0003): ${definition.tests.description}`,
      '',
      '```sh',
      `kubectl create namespace ${name}-test`,
      `kubectl -n ${name}-test apply -f catalog/task/${name}/${version}/${name}.yaml`,
      `kubectl -n ${name}-test create -f catalog/task/${name}/${version}/tests/run.yaml`,
      `kubectl -n ${name}-test get taskruns,pipelineruns -w   # every run must reach Succeeded`,
      '```',
      '',
      "The repository's tests run the same file in the chroot harness (see the top README's Testing section for what that does and does not prove).",
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * catalog/README.md: the Tasks, and every reference the index records
 * (Task bundles, step images, catalog bundles), each `tag@sha256:` so
 * Renovate can read both. Rendered from the index alone, so `release`
 * rewrites it exactly as the build would.
 */
export function renderCatalogReadme(index: CatalogIndex): string {
  const lines = [
    '# Catalog',
    '',
    'Generated by `npm run build` and `npm run release` from `index.json`; do not edit.',
    'Each Task version lives in `task/<name>/<version>/` with its README and samples; each Task has a `CHANGELOG.md`.',
    `Every reference below is under \`${index.registry}\` and pinned by digest.`,
    '',
    '| Task | latest | status | versions | summary |',
    '| --- | --- | --- | --- | --- |',
  ];
  const names = Object.keys(index.tasks).sort();
  for (const name of names) {
    const entry = index.tasks[name]!;
    const latest = entry.versions[entry.latest]!;
    const summary = latest.bundle.annotations['org.opencontainers.image.description'] ?? '';
    const versions = Object.keys(entry.versions).sort(compareVersions).join(', ');
    const status = latest.deprecated ? `${latest.status}, deprecated` : latest.status;
    lines.push(`| [${name}](task/${name}/${entry.latest}/README.md) | ${entry.latest} | ${status} | ${versions} | ${cell(summary)} |`);
  }
  lines.push('', '## Task bundles', '', '| Task | version | status | release tag | bundle |', '| --- | --- | --- | --- | --- |');
  for (const name of names) {
    const entry = index.tasks[name]!;
    for (const version of Object.keys(entry.versions).sort(compareVersions).reverse()) {
      const record = entry.versions[version]!;
      lines.push(`| ${name} | ${version} | ${record.status} | \`${releaseTag(name, version)}\` | \`${record.bundle.reference}\` |`);
    }
  }
  lines.push('', '## Step images', '', '| Task | version | program | image |', '| --- | --- | --- | --- |');
  for (const name of names) {
    const entry = index.tasks[name]!;
    for (const version of Object.keys(entry.versions).sort(compareVersions).reverse()) {
      for (const [program, image] of Object.entries(entry.versions[version]!.images)) {
        lines.push(`| ${name} | ${version} | ${program} | \`${image.reference}\` |`);
      }
    }
  }
  lines.push('', '## Catalog bundle', '', 'The newest version of every Task in one Tekton bundle (split in parts of 20), for browsing and `tkn bundle list`.', '', '| tag | Tasks | bundle |', '| --- | --- | --- |');
  for (const bundle of index.catalogBundles) lines.push(`| ${bundle.tag} | ${bundle.tasks.join(', ')} | \`${bundle.reference}\` |`);
  lines.push(...renderCompositionsSection(index));
  return `${lines.join('\n')}\n`;
}

/** The StepActions and reference Pipelines the index records (src/build/compositions.ts derives them). */
function renderCompositionsSection(index: CatalogIndex): string[] {
  const lines: string[] = [];
  const pipelines = Object.keys(index.pipelines).sort();
  if (pipelines.length > 0) {
    lines.push('', '## Reference Pipelines', '', 'Each with its hardening kit (RBAC, egress policy, Chains and observability config) in `kit/`; see [pipeline/README.md](pipeline/README.md).', '', '| Pipeline | version | status | Tasks |', '| --- | --- | --- | --- |');
    for (const name of pipelines) {
      const entry = index.pipelines[name]!;
      for (const version of Object.keys(entry.versions).sort(compareVersions).reverse()) {
        const record = entry.versions[version]!;
        lines.push(`| [${name}](pipeline/${name}/${version}/README.md) | ${version} | ${record.status} | ${record.tasks.join(', ')} |`);
      }
    }
  }
  const stepActions = Object.keys(index.stepActions).sort();
  if (stepActions.length > 0) {
    lines.push('', '## StepActions', '', 'Every step program as a StepAction for your own Tasks, released with its Task version; see [stepaction/README.md](stepaction/README.md).', '', '| StepAction | version | status | Task |', '| --- | --- | --- | --- |');
    for (const name of stepActions) {
      const entry = index.stepActions[name]!;
      for (const version of Object.keys(entry.versions).sort(compareVersions).reverse()) {
        const record = entry.versions[version]!;
        lines.push(`| [${name}](stepaction/${name}/${version}/README.md) | ${version} | ${record.status} | ${record.task} |`);
      }
    }
  }
  return lines;
}
