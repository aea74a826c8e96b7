import { CatalogError } from '../errors.ts';
import { formatResultLimits, formatSharedResultLimit, RESULT_LIMITS_ENV, RESULT_PATHS_ENV, RESULT_SHARED_ENV } from '../step/results.ts';
import { formatTaskInputs, TASK_INPUTS_ENV } from '../step/task-inputs.ts';
import { findSubstitutions, classify } from '../tekton/substitution.ts';
import type { StepDefinition, TaskDefinition } from './definition.ts';
import { assertHardened, hardenedSecurityContext, TMP_MOUNT, TMP_VOLUME } from './hardening.ts';
import { assertResultsFit, type ResultsBudget } from './results-budget.ts';
import { listingAnnotations, paramSpecs, type ResolvedStepImage } from './task-emitter.ts';

/**
 * Every step program of a catalog Task, published as a Tekton StepAction
 * (catalog/stepaction/<program>/<version>/), so pipeline authors can run our
 * steps inside their own Tasks. A StepAction is derived from its Task's
 * step and nothing else: the same image (reference and tag: the Task's
 * version), the same command, args and env, the same hardened
 * securityContext, the Task's params and results. Its version is the Task's
 * version, and it is released with it.
 *
 * What a StepAction cannot carry, and how it is bridged:
 * - workspaces: a StepAction has none; each workspace path the step reads
 *   becomes a param `<workspace>-path` the composing Task passes as
 *   `$(workspaces.<name>.path)` (empty for an optional one left unbound);
 * - volumes: a volumeMount's name must be a single param reference
 *   (tektoncd/pipeline stepaction_validation.go validateVolumeMounts), so the
 *   writable /tmp the read-only root needs is mounted from the volume named
 *   by the `tmp-volume` param (default "tmp"), which the Task declares;
 * - computeResources: not a StepAction field; the composing step sets them
 *   (the README gives the Task's values);
 * - results: written as step results, each to its own
 *   `$(step.results.<name>.path)` (TEKTON_CATALOG_RESULT_PATHS), and read by
 *   the Task as `$(steps.<step>.results.<name>)`.
 *
 * The securityContext of a StepAction overrides the one of the step that
 * references it (tektoncd/pipeline docs/stepactions.md), so a composing Task
 * cannot weaken the hardening.
 */

/** StepActions are served as v1beta1 (TEP-0142 beta) from Tekton Pipelines 0.60 on; there is no v1 yet. */
export const STEPACTION_API_VERSION = 'tekton.dev/v1beta1';

/**
 * Tekton Pipelines 0.60 is the first release serving `tekton.dev/v1beta1`
 * StepActions (tektoncd/pipeline#7805, #7920). They stay behind the
 * `enable-step-actions: "true"` feature flag until 0.68, where they are
 * enabled by default (tektoncd/pipeline#8485, #8546).
 */
export const STEPACTION_MIN_PIPELINES_VERSION = '0.60.0';
export const STEPACTION_DEFAULT_ON_VERSION = '0.68.0';

/**
 * The pod a StepAction's results are budgeted for: a Task of two steps (the
 * StepAction and one more), with Tekton's init container and two injected
 * containers. Every container has its own termination message, of at most
 * 12288 bytes / containers; more steps leave each less.
 */
export const STEPACTION_BUDGET_STEPS = 2;

/** The param naming the volume mounted at /tmp. */
export const TMP_VOLUME_PARAM = 'tmp-volume';

/** The annotation naming the Task version whose step image a StepAction runs. */
export const STEPACTION_TASK_ANNOTATION = 'hardened-tekton.github.io/task';

/** A result's name, type and (for an object) properties, as a Task or StepAction declares it. */
function resultShape(result: TaskDefinition['results'][number]) {
  return {
    name: result.name,
    type: result.type,
    ...(result.properties ? { properties: Object.fromEntries(result.properties.map((key) => [key, { type: 'string' }])) } : {}),
  };
}

export function workspacePathParam(workspace: string): string {
  return `${workspace}-path`;
}

/**
 * A Task's results budget as a StepAction of it sees it: in a pod of
 * STEPACTION_BUDGET_STEPS steps, or of fewer when the Task's results could
 * not fit there (down to one step, where they fit as in the Task itself).
 * `steps` says which; the README tells the composing author.
 */
export function stepActionBudget(definition: TaskDefinition): ResultsBudget & { steps: number } {
  for (let count = Math.max(STEPACTION_BUDGET_STEPS, definition.steps.length); ; count--) {
    const steps = Array.from({ length: count }, () => definition.steps[0]!);
    try {
      return { ...assertResultsFit({ ...definition, steps }), steps: count };
    } catch (error) {
      if (count <= definition.steps.length) throw error;
    }
  }
}

function problem(definition: TaskDefinition, step: StepDefinition, message: string): CatalogError {
  return new CatalogError('BUILD_STEPACTION', `StepAction ${step.program} (Task ${definition.name}, step ${step.name}): ${message}`, {
    hint: 'a StepAction can read workspace paths and context values only as the generator bridges them (see src/build/stepactions.ts)',
  });
}

/** `$(workspaces.<ws>.path)` becomes `$(params.<ws>-path)`; every other workspace variable is refused. */
function bridgeWorkspaces(text: string, definition: TaskDefinition, step: StepDefinition): string {
  let out = text;
  for (const found of findSubstitutions(text)) {
    const reference = classify(found);
    if (reference.kind !== 'workspace') continue;
    if (reference.property !== 'path') throw problem(definition, step, `${found.raw} has no StepAction equivalent`);
    out = out.split(found.raw).join(`$(params.${workspacePathParam(reference.name)})`);
  }
  return out;
}

export interface EmittedStepAction {
  name: string;
  version: string;
  document: Record<string, unknown>;
  budget: ResultsBudget & { steps: number };
}

/** The StepAction of one step of a Task version. */
export function emitStepAction(definition: TaskDefinition, step: StepDefinition, image: ResolvedStepImage): EmittedStepAction {
  if (step.script !== undefined) throw problem(definition, step, 'a step with a script cannot become a StepAction of this catalog (Tekton forbids params in its script)');
  const budget = stepActionBudget(definition);
  const taken = new Set(definition.params.map((param) => param.name));
  for (const name of [...definition.workspaces.map((workspace) => workspacePathParam(workspace.name)), TMP_VOLUME_PARAM]) {
    if (taken.has(name)) throw problem(definition, step, `the param ${name} it would add is already a param of the Task`);
  }
  const bridged = step.env.map((variable) => ({ name: variable.name, value: bridgeWorkspaces(variable.value, definition, step) }));
  const args = step.args.map((arg) => bridgeWorkspaces(arg, definition, step));
  // Which StepAction param feeds each env var and flag, so the step's messages name what the Task author wrote.
  const inputs = formatTaskInputs({ env: bridged, args });
  const env = [
    ...bridged,
    ...(inputs === '' ? [] : [{ name: TASK_INPUTS_ENV, value: inputs }]),
    ...(budget.results.length > 0
      ? [
          { name: RESULT_LIMITS_ENV, value: formatResultLimits(budget.results) },
          ...(budget.shared ? [{ name: RESULT_SHARED_ENV, value: formatSharedResultLimit(budget.shared) }] : []),
          { name: RESULT_PATHS_ENV, value: definition.results.map((result) => `${result.name}=$(step.results.${result.name}.path)`).join(',') },
        ]
      : []),
  ];
  const spec = {
    description: `${definition.summary}\n\nThe step of the ${definition.name} Task ${definition.version}, for your own Tasks: same image, command and hardening.\n`,
    params: [
      ...paramSpecs(definition.params),
      ...definition.workspaces.map((workspace) => ({
        name: workspacePathParam(workspace.name),
        type: 'string',
        description: `Path of the ${workspace.name} workspace: pass $(workspaces.<name>.path) of a workspace your Task declares${workspace.optional ? ' (empty: none, as when the optional workspace is unbound)' : ''}. ${workspace.description}`,
        ...(workspace.optional ? { default: '' } : {}),
      })),
      { name: TMP_VOLUME_PARAM, type: 'string', description: 'The volume your Task declares for the writable /tmp the read-only root needs (an emptyDir).', default: TMP_VOLUME.name },
    ],
    ...(definition.results.length > 0 ? { results: definition.results.map((result) => ({ ...resultShape(result), description: result.description })) } : {}),
    image: image.reference,
    command: image.command,
    ...(args.length > 0 ? { args } : {}),
    ...(env.length > 0 ? { env } : {}),
    securityContext: hardenedSecurityContext(),
    volumeMounts: [{ name: `$(params.${TMP_VOLUME_PARAM})`, mountPath: TMP_MOUNT.mountPath }],
  };
  // The computeResources the composing step sets are the Task's: the hardening check wants them, the StepAction cannot hold them.
  assertHardened(`StepAction ${step.program}`, [{ name: step.program, image: image.reference, command: image.command, securityContext: spec.securityContext, computeResources: step.computeResources }]);
  const document = {
    apiVersion: STEPACTION_API_VERSION,
    kind: 'StepAction',
    metadata: {
      name: step.program,
      labels: { 'app.kubernetes.io/version': definition.version },
      annotations: {
        ...listingAnnotations({ ...definition, displayName: `${definition.displayName} (StepAction)` }, STEPACTION_MIN_PIPELINES_VERSION),
        [STEPACTION_TASK_ANNOTATION]: `${definition.name}@${definition.version}`,
      },
    },
    spec,
  };
  return { name: step.program, version: definition.version, document, budget };
}

/**
 * A Task that runs the StepAction as its one step, with the Task's params,
 * workspaces and results passed through: what the catalog Task does, built
 * from the StepAction (the sample beside each StepAction).
 */
export function stepActionTask(definition: TaskDefinition, step: StepDefinition): Record<string, unknown> {
  const stepName = step.name;
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: { name: `${definition.name}-from-stepaction` },
    spec: {
      description: `The ${definition.name} Task rebuilt from the ${step.program} StepAction.`,
      ...(definition.params.length > 0
        ? { params: definition.params.map((param) => ({ name: param.name, type: param.type, ...(param.default !== undefined ? { default: param.default } : {}) })) }
        : {}),
      ...(definition.workspaces.length > 0
        ? {
            workspaces: definition.workspaces.map((workspace) => ({
              name: workspace.name,
              ...(workspace.optional ? { optional: true } : {}),
              ...(workspace.readOnly ? { readOnly: true } : {}),
            })),
          }
        : {}),
      ...(definition.results.length > 0 ? { results: definition.results.map((result) => ({ ...resultShape(result), value: `$(steps.${stepName}.results.${result.name})` })) } : {}),
      volumes: [TMP_VOLUME],
      steps: [
        {
          name: stepName,
          ref: { name: step.program },
          params: [
            ...definition.params.map((param) => ({ name: param.name, value: param.type === 'array' ? `$(params.${param.name}[*])` : `$(params.${param.name})` })),
            ...definition.workspaces.map((workspace) => ({ name: workspacePathParam(workspace.name), value: `$(workspaces.${workspace.name}.path)` })),
          ],
          computeResources: step.computeResources,
        },
      ],
    },
  };
}
