import { CatalogError } from '../errors.ts';
import type { TaskDefinition } from './definition.ts';
import { assertHardened, hardenedSecurityContext, TMP_MOUNT, TMP_VOLUME } from './hardening.ts';

export const TEKTON_PLATFORMS = 'linux/amd64,linux/arm64';

/** With `tekton.dev/deprecated: "true"` (tektoncd/catalog, Artifact Hub): what to use instead. */
export const REPLACEMENT_ANNOTATION = 'hardened-tekton.github.io/replacement';

/** Maps a step program to its pinned image reference (`<prefix>/steps/<program>@sha256:…`). */
export type ImageResolver = (program: string) => string;

/**
 * Turns a definition into a Tekton v1 Task, in the key order the
 * tektoncd/catalog uses, with every step hardened and pinned by digest.
 */
export function emitTask(definition: TaskDefinition, resolveImage: ImageResolver) {
  for (const step of definition.steps) {
    if (step.script !== undefined && step.script.includes('$(')) {
      throw new CatalogError(
        'BUILD_SCRIPT_SUBSTITUTION',
        `Task ${definition.name}, step ${step.name}: script holds a $(...) substitution`,
        { hint: 'Tekton pastes substitutions into the script as code; pass the value through env or args instead' },
      );
    }
  }
  const steps = definition.steps.map((step) => ({
    name: step.name,
    image: resolveImage(step.program),
    ...(step.args.length > 0 ? { args: step.args } : {}),
    ...(step.env.length > 0 ? { env: step.env } : {}),
    ...(step.script !== undefined ? { script: step.script } : {}),
    computeResources: step.computeResources,
    securityContext: hardenedSecurityContext(),
    volumeMounts: [TMP_MOUNT],
    ...(step.onError ? { onError: step.onError } : {}),
  }));
  assertHardened(definition.name, steps);

  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: {
      name: definition.name,
      labels: { 'app.kubernetes.io/version': definition.version },
      annotations: {
        'tekton.dev/pipelines.minVersion': definition.minPipelinesVersion,
        'tekton.dev/categories': definition.categories.join(', '),
        'tekton.dev/tags': definition.tags.join(', '),
        'tekton.dev/displayName': definition.displayName,
        'tekton.dev/platforms': TEKTON_PLATFORMS,
        ...(definition.deprecated ? { 'tekton.dev/deprecated': 'true', [REPLACEMENT_ANNOTATION]: definition.deprecated.replacement } : {}),
      },
    },
    spec: {
      description: `${definition.summary}\n\n${definition.description.trim()}\n`,
      ...(definition.params.length > 0
        ? {
            params: definition.params.map((param) => ({
              name: param.name,
              type: param.type,
              description: param.description,
              ...(param.default !== undefined ? { default: param.default } : {}),
            })),
          }
        : {}),
      ...(definition.workspaces.length > 0
        ? {
            workspaces: definition.workspaces.map((workspace) => ({
              name: workspace.name,
              description: workspace.description,
              ...(workspace.optional ? { optional: true } : {}),
              ...(workspace.readOnly ? { readOnly: true } : {}),
              ...(workspace.mountPath ? { mountPath: workspace.mountPath } : {}),
            })),
          }
        : {}),
      ...(definition.results.length > 0
        ? {
            results: definition.results.map((result) => ({
              name: result.name,
              type: result.type,
              description: result.description,
            })),
          }
        : {}),
      volumes: [TMP_VOLUME],
      steps,
    },
  };
}

export type EmittedTask = ReturnType<typeof emitTask>;
