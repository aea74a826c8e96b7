/**
 * Resolves the steps of a Task that reference StepActions (`ref: {name}`)
 * the way Tekton's controller does before it builds the pod, so the chroot
 * harness runs what a cluster would. Sources (tektoncd/pipeline):
 *
 * - docs/stepactions.md: a step with `ref` may not set image, command, args,
 *   script, env or volumeMounts (the webhook refuses them); it may set
 *   params, computeResources, securityContext, onError, timeout, workspaces.
 *   The StepAction's securityContext overrides the step's.
 * - pkg/reconciler/taskrun/resources/taskspec.go (GetStepActionsData,
 *   updateStepWithStepActionSpec): image, command, args, script, env,
 *   volumeMounts, workingDir, securityContext and results come from the
 *   StepAction.
 * - pkg/reconciler/taskrun/resources/apply.go applyStepActionParameters: the
 *   step's param values first get the TaskRun's params (Task defaults, then
 *   the run's values; `$(params.x[*])` of an array as a whole value becomes
 *   the array); then the StepAction's params are the step's values over the
 *   StepAction's defaults, and replace `$(params.…)` in the StepAction's
 *   fields, arrays only as whole command/args elements; a value that is a
 *   step result reference (`$(steps.<step>.results.<name>)`) is pasted in as
 *   that reference, which the entrypoint resolves when the step starts.
 *
 * Later passes (context, `$(step.results.x.path)`, workspaces) run on the
 * resolved step as on any other (tekton-substitution.ts). What is not
 * emulated throws: remote resolvers, defaults that reference other params,
 * object params.
 */
import { applyArrayReplacements, applyReplacements, paramPass, type ParamDeclaration } from './tekton-substitution.ts';

export interface StepActionDocument {
  metadata: { name: string };
  spec: {
    params?: ParamDeclaration[];
    results?: { name: string; type?: string }[];
    image: string;
    command?: string[];
    args?: string[];
    env?: { name: string; value: string }[];
    script?: string;
    workingDir?: string;
    securityContext?: Record<string, unknown>;
    volumeMounts?: { name: string; mountPath: string }[];
  };
}

export interface StepWithRef {
  name: string;
  ref?: { name?: string; resolver?: string };
  params?: { name: string; value: string | string[] }[];
}

const OWNED_BY_STEPACTION = ['image', 'command', 'args', 'script', 'env', 'volumeMounts'];

/** The steps of a Task with every `ref` step replaced by the StepAction it runs. */
export function resolveStepActionRefs<Step extends StepWithRef>(
  spec: { params?: ParamDeclaration[]; steps: Step[] },
  runParams: Readonly<Record<string, string | string[]>>,
  stepActions: ReadonlyMap<string, StepActionDocument>,
): Step[] {
  const taskParams = paramPass(spec.params ?? [], runParams);
  return spec.steps.map((step) => {
    if (step.ref === undefined) return step;
    const where = `step ${step.name}`;
    if (step.ref.resolver !== undefined || step.ref.name === undefined) throw new Error(`${where}: the harness resolves StepActions by name only`);
    const owned = OWNED_BY_STEPACTION.filter((field) => (step as unknown as Record<string, unknown>)[field] !== undefined);
    if (owned.length > 0) throw new Error(`${where}: ${owned.join(', ')} cannot be used with ref (the webhook refuses it)`);
    const action = stepActions.get(step.ref.name);
    if (!action) throw new Error(`${where}: StepAction ${step.ref.name} is not in the namespace (the TaskRun would fail to resolve it)`);
    if (action.spec.script !== undefined) throw new Error(`${where}: StepActions with a script are not emulated`);

    // 1. The TaskRun's params in the step's param values; an array reference as the whole value becomes the array.
    const provided = new Map<string, string | string[]>();
    for (const param of step.params ?? []) {
      const value = Array.isArray(param.value)
        ? param.value.flatMap((item) => applyArrayReplacements(item, taskParams))
        : (() => {
            const expanded = applyArrayReplacements(param.value, taskParams);
            const whole = [...taskParams.arrays.keys()].some((key) => param.value === `$(${key})` || param.value === `$(${key}[*])`);
            return whole ? expanded : expanded[0]!;
          })();
      provided.set(param.name, value);
    }
    // 2. The StepAction's params: declared, typed, required ones given.
    const declared = action.spec.params ?? [];
    for (const name of provided.keys()) {
      if (!declared.some((param) => param.name === name)) throw new Error(`${where}: StepAction ${action.metadata.name} declares no param ${name}`);
    }
    for (const param of declared) {
      if (param.type === 'object') throw new Error(`${where}: object params are not emulated`);
      if (typeof param.default === 'string' && param.default.includes('$(params.')) throw new Error(`${where}: defaults that reference params are not emulated`);
      const value = provided.get(param.name);
      if (value === undefined && param.default === undefined) throw new Error(`${where}: StepAction ${action.metadata.name} needs param ${param.name}`);
      if (value !== undefined && Array.isArray(value) !== ((param.type ?? 'string') === 'array')) {
        throw new Error(`${where}: param ${param.name} is ${param.type ?? 'string'} but the step passes ${Array.isArray(value) ? 'an array' : 'a string'}`);
      }
    }
    const pass = paramPass(declared, Object.fromEntries(provided));
    const list = (items: string[] | undefined) => items?.flatMap((item) => applyArrayReplacements(item, pass));
    const text = (value: string) => applyReplacements(value, pass.strings);
    const { ref: _ref, params: _params, ...kept } = step;
    return {
      ...kept,
      image: text(action.spec.image),
      ...(action.spec.command ? { command: list(action.spec.command) } : {}),
      ...(action.spec.args ? { args: list(action.spec.args) } : {}),
      ...(action.spec.env ? { env: action.spec.env.map((variable) => ({ name: variable.name, value: text(variable.value) })) } : {}),
      ...(action.spec.workingDir !== undefined ? { workingDir: text(action.spec.workingDir) } : {}),
      ...(action.spec.volumeMounts ? { volumeMounts: action.spec.volumeMounts.map((mount) => ({ ...mount, name: text(mount.name) })) } : {}),
      ...(action.spec.securityContext ? { securityContext: action.spec.securityContext } : {}),
      ...(action.spec.results ? { results: action.spec.results } : {}),
    } as unknown as Step;
  });
}
