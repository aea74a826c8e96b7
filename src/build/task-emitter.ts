import { CatalogError } from '../errors.ts';
import { formatResultLimits, formatSharedResultLimit, RESULT_LIMITS_ENV, RESULT_SHARED_ENV } from '../step/results.ts';
import { formatTaskInputs, TASK_INPUTS_ENV } from '../step/task-inputs.ts';
import type { ParamDefinition, TaskDefinition } from './definition.ts';
import { assertHardened, hardenedSecurityContext, TMP_MOUNT, TMP_VOLUME } from './hardening.ts';
import { stepEntrypoint } from './image/entrypoint.ts';
import { assertResultsFit } from './results-budget.ts';

export const TEKTON_PLATFORMS = 'linux/amd64,linux/arm64';

/** With `tekton.dev/deprecated: "true"` (tektoncd/catalog, Artifact Hub): what to use instead. */
export const REPLACEMENT_ANNOTATION = 'hardened-tekton.github.io/replacement';

/** A built step image: its pinned reference and the Entrypoint read from its config (the same on every platform). */
export interface ResolvedStepImage {
  reference: string;
  command: string[];
}

/**
 * Maps a step program to its pinned image (`<prefix>/steps/<program>@sha256:…`).
 * The catalog build returns the command read back from the built image; a
 * bare reference (unit tests that emit without building) gets the
 * Entrypoint buildStepImage writes into every step image.
 */
export type ImageResolver = (program: string) => ResolvedStepImage | string;

/**
 * Turns a definition into a Tekton v1 Task, in the key order the
 * tektoncd/catalog uses, with every step hardened and pinned by digest.
 *
 * Every step sets `command` to its image's Entrypoint. Tekton's entrypoint
 * wrapper must know the command before the pod starts; without one in the
 * YAML the controller fetches the image config from the registry, which
 * needs pull credentials the controller can read and fails outright in an
 * air-gapped cluster (tektoncd/pipeline docs/container-contract.md: "we
 * highly recommend that you always specify a command value").
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
    for (const reserved of [RESULT_LIMITS_ENV, RESULT_SHARED_ENV, TASK_INPUTS_ENV]) {
      if (step.env.some((variable) => variable.name === reserved)) {
        throw new CatalogError('BUILD_RESERVED_ENV', `Task ${definition.name}, step ${step.name}: ${reserved} is set by the generator`, {
          hint: reserved === TASK_INPUTS_ENV ? 'it is derived from the step\'s env and args' : 'declare each result with its bound instead',
        });
      }
    }
  }
  const budget = assertResultsFit(definition);
  // Every step's termination message carries all results written so far, so every step checks against every bound.
  const limitsEnv = [
    ...(budget.results.length > 0 ? [{ name: RESULT_LIMITS_ENV, value: formatResultLimits(budget.results) }] : []),
    ...(budget.shared ? [{ name: RESULT_SHARED_ENV, value: formatSharedResultLimit(budget.shared) }] : []),
  ];
  const steps = definition.steps.map((step) => {
    const resolved = resolveImage(step.program);
    const image = typeof resolved === 'string' ? { reference: resolved, command: stepEntrypoint(step.program) } : resolved;
    // Which Task param or workspace feeds each env var and flag, so the step's messages name what the pipeline author wrote.
    const inputs = formatTaskInputs(step);
    const env = [...step.env, ...limitsEnv, ...(inputs === '' ? [] : [{ name: TASK_INPUTS_ENV, value: inputs }])];
    return {
      name: step.name,
      image: image.reference,
      // Tekton refuses command together with script: a script is the command.
      ...(step.script === undefined ? { command: image.command } : {}),
      ...(step.args.length > 0 ? { args: step.args } : {}),
      ...(env.length > 0 ? { env } : {}),
      ...(step.script !== undefined ? { script: step.script } : {}),
      computeResources: step.computeResources,
      securityContext: hardenedSecurityContext(),
      volumeMounts: [TMP_MOUNT],
      ...(step.onError ? { onError: step.onError } : {}),
    };
  });
  assertHardened(definition.name, steps);

  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: {
      name: definition.name,
      labels: { 'app.kubernetes.io/version': definition.version },
      annotations: {
        ...listingAnnotations(definition, definition.minPipelinesVersion),
        ...(definition.deprecated ? { 'tekton.dev/deprecated': 'true', [REPLACEMENT_ANNOTATION]: definition.deprecated.replacement } : {}),
      },
    },
    spec: {
      description: `${definition.summary}\n\n${definition.description.trim()}\n`,
      ...(definition.params.length > 0 ? { params: paramSpecs(definition.params) } : {}),
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
              ...(result.properties ? { properties: Object.fromEntries(result.properties.map((key) => [key, { type: 'string' }])) } : {}),
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

/** Params as a Task or Pipeline declares them: name, type, description, default. */
export function paramSpecs(params: readonly ParamDefinition[]) {
  return params.map((param) => ({
    name: param.name,
    type: param.type,
    description: param.description,
    ...(param.default !== undefined ? { default: param.default } : {}),
  }));
}

/** The tektoncd/catalog annotations every catalog resource carries (Tasks, StepActions, Pipelines), in that catalog's order. */
export function listingAnnotations(listing: { categories: readonly string[]; tags: readonly string[]; displayName: string }, minPipelinesVersion: string): Record<string, string> {
  return {
    'tekton.dev/pipelines.minVersion': minPipelinesVersion,
    'tekton.dev/categories': listing.categories.join(', '),
    'tekton.dev/tags': listing.tags.join(', '),
    'tekton.dev/displayName': listing.displayName,
    'tekton.dev/platforms': TEKTON_PLATFORMS,
  };
}
