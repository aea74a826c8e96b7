import { quoteUntrusted } from '../../errors.ts';
import { parseReference } from '../../oci/registry/reference.ts';
import { classify, findSubstitutions } from '../../tekton/substitution.ts';
import type { Path } from '../input/source.ts';
import type { ContainerSite } from '../model/audit-model.ts';
import { dependsOn, isVerifyImageTask } from './pipeline-graph.ts';
import type { Check, RuleMeta } from './rule.ts';

/**
 * Adversary 3: step images that can change under the pipeline. A tag is
 * a pointer the registry's owner (or whoever compromises it) can move; only
 * a digest names fixed content.
 */

const PIN_HELP = `Pin the image by digest (a tag may stay beside it for readers), and let Renovate or Dependabot update the digest:

\`\`\`yaml
image: registry.example.com/build-tools:1.4.2@sha256:<64 hex digits>
\`\`\`

Find the digest with \`skopeo inspect --format '{{.Digest}}' docker://registry.example.com/build-tools:1.4.2\` or \`crane digest\`.`;

export const imageLatest: RuleMeta = {
  id: 'TA301',
  name: 'image-latest',
  severity: 'error',
  securitySeverity: 8.0,
  adversary: 3,
  group: 'images',
  summary: 'A step image is tagged `:latest` or has no tag, so every run may pull different code.',
  help: `\`:latest\` (which is what an image without a tag means) moves whenever anyone pushes; a compromised registry makes the next run execute its backdoor with the pipeline's service account.\n\n${PIN_HELP}`,
};

export const imageNotPinned: RuleMeta = {
  id: 'TA302',
  name: 'image-not-pinned',
  severity: 'warning',
  securitySeverity: 6.5,
  adversary: 3,
  group: 'images',
  summary: 'A step image is referenced by a tag, not by a digest.',
  help: `A tag can be moved to different content at any time.\n\n${PIN_HELP}`,
};

export const pipelineImageUnverified: RuleMeta = {
  id: 'TA303',
  name: 'pipeline-image-unverified',
  severity: 'warning',
  securitySeverity: 7.0,
  adversary: 3,
  group: 'images',
  summary: 'A Pipeline chooses a step image from a param or a tag, and no verify-image task checks it first.',
  help: `The Task runs whatever image this value names. Verify its signature before the task that runs it, with the catalog's verify-image Task, and make the task run after the check:

\`\`\`yaml
tasks:
  - name: verify
    taskRef:
      name: verify-image
    params:
      - name: images
        value: ["$(params.builder-image)"]
      - name: certificate-identity
        value: https://github.com/my-org/builder/.github/workflows/release.yaml@refs/heads/main
      - name: certificate-oidc-issuer
        value: https://token.actions.githubusercontent.com
  - name: build
    runAfter: ["verify"]
    taskRef:
      name: build
    params:
      - name: builder-image
        value: $(params.builder-image)
\`\`\``,
};

export const imageFromParam: RuleMeta = {
  id: 'TA304',
  name: 'image-from-param',
  severity: 'note',
  securitySeverity: 3.0,
  adversary: 3,
  group: 'images',
  summary: 'A step image comes from a param: the run decides what code the step executes.',
  help: `Whoever starts the run (or the Pipeline that passes the param) picks the image. Give the param a default pinned by digest, and gate Pipelines that pass it with the verify-image Task (see rule TA303):\n\n\`\`\`yaml\nparams:\n  - name: builder-image\n    default: registry.example.com/builder:1.4.2@sha256:<digest>\n\`\`\``,
};

export type Pinning = 'digest' | 'latest' | 'untagged' | 'tag' | 'substituted';

/** How an image reference is pinned. */
export function imagePinning(image: string): Pinning {
  if (image.includes('$(')) return 'substituted';
  try {
    const ref = parseReference(image);
    if (ref.digest) return 'digest';
    if (ref.tag === undefined) return 'untagged';
    return ref.tag === 'latest' ? 'latest' : 'tag';
  } catch {
    // Not a reference parseReference accepts (e.g. a sha512 digest): judge by shape.
    if (/@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Fa-f0-9]{32,}$/.test(image)) return 'digest';
    const last = image.slice(image.lastIndexOf('/') + 1);
    if (!last.includes(':')) return 'untagged';
    return last.endsWith(':latest') ? 'latest' : 'tag';
  }
}

/** The param an image is exactly `$(params.x)` of, if it is. */
export function imageParamName(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const subs = findSubstitutions(image);
  if (subs.length !== 1 || subs[0]!.raw !== image.trim()) return undefined;
  const ref = classify(subs[0]!);
  return ref.kind === 'param' ? ref.name : undefined;
}

const checkStepImages: Check = (context) => {
  const reported = new Set<string>();
  /** Params without a default that steps take their image from: one finding per param, naming the steps. */
  const fromParams = new Map<string, { site: ContainerSite; path: Path; param: string; steps: string[] }>();
  for (const site of context.model.containers) {
    if (site.stepAction !== 'none' || site.image === undefined) continue;
    const what = site.kind === 'StepAction' ? `StepAction ${quoteUntrusted(site.doc.name)}` : `${site.kind} ${quoteUntrusted(site.name)}`;
    let image = site.image;
    let path: Path = site.imagePath;
    let origin = '';
    const param = imageParamName(image);
    if (param !== undefined) {
      const params = site.kind === 'StepAction' && site.doc.kind === 'StepAction' ? site.doc.data.spec.params : site.task?.spec.params;
      const index = params?.findIndex((p) => p.name === param) ?? -1;
      const base = site.kind === 'StepAction' || !site.task ? [...site.path] : [...site.task.path];
      const fallback = index >= 0 ? params![index]!.default : undefined;
      if (typeof fallback !== 'string' || fallback === '') {
        const declared: Path = index >= 0 ? [...base, 'params', index] : path;
        const key = `${site.doc.source.file.name}\0${site.doc.source.index}\0${declared.join('.')}`;
        const entry = fromParams.get(key) ?? { site, path: declared, param, steps: [] };
        entry.steps.push(what);
        fromParams.set(key, entry);
        continue;
      }
      image = fallback;
      path = [...base, 'params', index, 'default'];
      origin = ` (the default of param ${quoteUntrusted(param)})`;
    }
    // A stepTemplate image or a param default shared by many steps is one finding.
    const key = `${site.doc.source.file.name}\0${site.doc.source.index}\0${path.join('.')}`;
    if (reported.has(key)) continue;
    reported.add(key);
    const pinning = imagePinning(image);
    const shown = quoteUntrusted(image, 120);
    if (pinning === 'latest' || pinning === 'untagged') {
      context.report(imageLatest, { doc: site.doc, path }, `${what} runs ${shown}${origin}, which ${pinning === 'latest' ? 'is tagged :latest' : 'has no tag (so :latest)'} and no digest`);
    } else if (pinning === 'tag') {
      context.report(imageNotPinned, { doc: site.doc, path }, `${what} runs ${shown}${origin} by tag, not by digest`);
    }
  }
  for (const { site, path, param, steps } of fromParams.values()) {
    const shownSteps = steps.length > 3 ? `${steps.slice(0, 3).join(', ')} and ${steps.length - 3} more` : steps.join(', ');
    context.report(imageFromParam, { doc: site.doc, path }, `param ${quoteUntrusted(param)} has no default and is the image of ${shownSteps}: the run decides what code runs`);
  }
};

/** Params of a Task that become a step image. */
function imageParams(spec: { steps?: { image?: string | undefined }[] | undefined; sidecars?: { image?: string | undefined }[] | undefined; stepTemplate?: { image?: string | undefined } | undefined }): Set<string> {
  const names = new Set<string>();
  for (const container of [...(spec.steps ?? []), ...(spec.sidecars ?? []), ...(spec.stepTemplate ? [spec.stepTemplate] : [])]) {
    const name = imageParamName(container.image);
    if (name) names.add(name);
  }
  return names;
}

const checkPipelineImages: Check = (context) => {
  if (!context.enabled(pipelineImageUnverified)) return;
  for (const site of context.model.pipelineTasks) {
    if (site.resolution.kind === 'unresolved' || site.resolution.kind === 'embedded') continue;
    const wanted = imageParams(site.resolution.spec);
    if (wanted.size === 0) continue;
    const siblings = context.model.pipelineTasks.filter((t) => t.pipeline === site.pipeline);
    const verified = siblings.some((other) => other !== site && isVerifyImageTask(other) && dependsOn(site.pipeline.spec, site.task.name, other.task.name));
    if (verified) continue;
    (site.task.params ?? []).forEach((binding, i) => {
      if (!wanted.has(binding.name) || typeof binding.value !== 'string') return;
      const value = binding.value;
      const pinning = imagePinning(value);
      if (pinning === 'digest') return;
      const from = pinning === 'substituted' ? `${quoteUntrusted(value, 80)}, chosen when the run starts,` : `${quoteUntrusted(value, 120)} (by ${pinning === 'tag' ? 'tag' : 'the moving :latest tag'})`;
      context.report(
        pipelineImageUnverified,
        { doc: site.pipeline.doc, path: [...site.path, 'params', i, 'value'] },
        `task ${quoteUntrusted(site.task.name)} runs the image ${from} as a step, and no verify-image task runs before it`,
      );
    });
  }
};

export const imageRules = {
  rules: [imageLatest, imageNotPinned, pipelineImageUnverified, imageFromParam],
  checks: [checkStepImages, checkPipelineImages],
};
