/**
 * Tekton's variable substitution for a TaskRun's steps, done the way the
 * Pipelines controller does it, so the chroot harness hands a step exactly
 * what a cluster would. Sources (tektoncd/pipeline):
 *
 * - pkg/reconciler/taskrun/taskrun.go applyParamsContextsResultsAndWorkspaces:
 *   the passes run in this order, each over the output of the one before:
 *   params, context, task results, step exit-code paths, workspaces. So a
 *   param *value* holding `$(context.taskRun.name)` is expanded by the later
 *   context pass, while one holding `$(params.other)` stays as it is.
 * - pkg/substitution/substitution.go ApplyReplacements: every key of a pass
 *   is replaced in one pass with strings.NewReplacer, so a replacement is
 *   never scanned again by the same pass (TestNestedReplacements).
 *   ApplyArrayReplacements: a command/args element that is exactly
 *   `$(params.x)` or `$(params.x[*])` of an array param becomes the array's
 *   elements (none for an empty array); anything else gets string
 *   replacement.
 * - pkg/reconciler/taskrun/resources/apply.go: keys for params in the three
 *   spellings params.x, params["x"], params['x'], with params.x[i] for array
 *   elements; context.taskRun.{name,namespace,uid}, context.task.name and
 *   context.task.retry-count; workspaces.x.{path,bound,claim,volume}, where an
 *   optional workspace the run leaves unbound gives path "" and bound
 *   "false", and a bound one path /workspace/<name> unless the Task sets a
 *   mountPath; results.x.path is /tekton/results/x.
 *
 * What the webhook refuses before a run starts (an unknown variable, an
 * array param not isolated in its own args element, an array param in env)
 * throws here, so a test can never run a step that a cluster would reject,
 * nor one with a placeholder left in.
 */
import { classify, findSubstitutions } from '../../src/tekton/substitution.ts';

export interface ParamDeclaration {
  name: string;
  type?: 'string' | 'array' | 'object';
  default?: string | string[];
}

export interface WorkspaceDeclaration {
  name: string;
  optional?: boolean;
  mountPath?: string;
  readOnly?: boolean;
}

export interface StepTemplate {
  name?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  workingDir?: string;
  /** Step results (a StepAction's, once resolved). */
  results?: { name: string }[];
}

export interface ResolvedStep {
  command: string[];
  args: string[];
  env: Record<string, string>;
  workingDir?: string;
}

export interface ReplacementPass {
  strings: Map<string, string>;
  arrays: Map<string, string[]>;
}

/** pkg/apis/pipeline/paths.go: WorkspaceDir, DefaultResultPath and StepsDir. */
export const WORKSPACE_DIR = '/workspace';
export const RESULTS_DIR = '/tekton/results';
export const STEPS_DIR = '/tekton/steps';

/** pkg/pod StepName: the step's container name, also its folder under /tekton/steps. */
export function stepContainerName(name: string | undefined, index: number): string {
  return name ? `step-${name}` : `step-unnamed-${index}`;
}

/** Where a step writes its result `name` (apply.go getStepResultReplacements). */
export function stepResultPath(step: string | undefined, index: number, name: string): string {
  return `${STEPS_DIR}/${stepContainerName(step, index)}/results/${name}`;
}

/** `$(step.results.<r>.path)` of one step, in the three spellings. */
export function stepResultsPass(step: StepTemplate, index: number): ReplacementPass {
  const strings = new Map<string, string>();
  for (const { name } of step.results ?? []) {
    for (const key of [`step.results.${name}.path`, `step.results["${name}"].path`, `step.results['${name}'].path`]) strings.set(key, stepResultPath(step.name, index, name));
  }
  return { strings, arrays: new Map() };
}

/**
 * `$(steps.<step>.results.<r>)` is resolved by Tekton's entrypoint when the
 * step starts, from the earlier step's result file: the controller leaves it
 * in place (these keys replace it with itself), and task-run.ts fills it in.
 */
export function stepResultReferencesPass(steps: readonly StepTemplate[]): ReplacementPass {
  const strings = new Map<string, string>();
  for (const step of steps) {
    for (const { name } of step.results ?? []) {
      for (const prefix of step.name ? [`steps.${step.name}`, `steps.step-${step.name}`] : []) strings.set(`${prefix}.results.${name}`, `$(${prefix}.results.${name})`);
    }
  }
  return { strings, arrays: new Map() };
}

const PARAM_PATTERNS = [(name: string) => `params.${name}`, (name: string) => `params["${name}"]`, (name: string) => `params['${name}']`];

/** strings.NewReplacer(...).Replace: one left-to-right pass; replaced text is never looked at again. */
export function applyReplacements(text: string, strings: ReadonlyMap<string, string>): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$(', i)) {
      const close = text.indexOf(')', i + 2);
      if (close > 0) {
        const key = text.slice(i + 2, close);
        const value = strings.get(key);
        if (value !== undefined) {
          out += value;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i];
    i++;
  }
  return out;
}

/** ApplyArrayReplacements: an element that is exactly one array reference becomes the array; else string replacement. */
export function applyArrayReplacements(text: string, pass: ReplacementPass): string[] {
  for (const [key, values] of pass.arrays) {
    if (text === `$(${key})` || text === `$(${key}[*])`) return [...values];
  }
  return [applyReplacements(text, pass.strings)];
}

function applyStep(step: StepTemplate, pass: ReplacementPass): StepTemplate {
  const list = (items: string[] | undefined) => items?.flatMap((item) => applyArrayReplacements(item, pass));
  return {
    ...step,
    ...(step.command ? { command: list(step.command) } : {}),
    ...(step.args ? { args: list(step.args) } : {}),
    ...(step.env ? { env: step.env.map((variable) => ({ name: variable.name, value: applyReplacements(variable.value, pass.strings) })) } : {}),
    ...(step.workingDir !== undefined ? { workingDir: applyReplacements(step.workingDir, pass.strings) } : {}),
  };
}

/** ApplyParameters: Task defaults first, then the run's values over them. */
export function paramPass(declared: readonly ParamDeclaration[], given: Readonly<Record<string, string | string[]>>): ReplacementPass {
  const pass: ReplacementPass = { strings: new Map(), arrays: new Map() };
  const set = (name: string, value: string | string[]) => {
    for (const pattern of PARAM_PATTERNS) {
      if (Array.isArray(value)) {
        value.forEach((element, i) => pass.strings.set(`${pattern(name)}[${i}]`, element));
        pass.arrays.set(pattern(name), value);
      } else {
        pass.strings.set(pattern(name), value);
      }
    }
  };
  for (const param of declared) if (param.default !== undefined) set(param.name, param.default);
  for (const [name, value] of Object.entries(given)) set(name, value);
  return pass;
}

export interface RunContext {
  taskRunName: string;
  namespace: string;
  uid: string;
  taskName: string;
  retryCount?: number;
}

/** getContextReplacements. */
export function contextPass(context: RunContext): ReplacementPass {
  return {
    strings: new Map([
      ['context.taskRun.name', context.taskRunName],
      ['context.task.name', context.taskName],
      ['context.taskRun.namespace', context.namespace],
      ['context.taskRun.uid', context.uid],
      ['context.task.retry-count', String(context.retryCount ?? 0)],
    ]),
    arrays: new Map(),
  };
}

/** ApplyTaskResults: results.<name>.path (all three spellings). */
export function resultsPass(results: readonly { name: string }[]): ReplacementPass {
  const strings = new Map<string, string>();
  for (const { name } of results) {
    for (const key of [`results.${name}.path`, `results["${name}"].path`, `results['${name}'].path`]) strings.set(key, `${RESULTS_DIR}/${name}`);
  }
  return { strings, arrays: new Map() };
}

export interface WorkspaceBindingInfo {
  /** Set for a persistentVolumeClaim binding (and the claim a volumeClaimTemplate made). */
  claimName?: string;
  /** The pod volume's name. */
  volumeName?: string;
}

/** Where Tekton mounts a declared workspace: its mountPath, else /workspace/<name>. */
export function workspaceMountPath(declaration: WorkspaceDeclaration): string {
  return declaration.mountPath ?? `${WORKSPACE_DIR}/${declaration.name}`;
}

/** ApplyWorkspaces. */
export function workspacePass(declarations: readonly WorkspaceDeclaration[], bindings: Readonly<Record<string, WorkspaceBindingInfo>>): ReplacementPass {
  const strings = new Map<string, string>();
  for (const declaration of declarations) {
    const prefix = `workspaces.${declaration.name}.`;
    const binding = bindings[declaration.name];
    if (declaration.optional && binding === undefined) {
      strings.set(`${prefix}bound`, 'false');
      strings.set(`${prefix}path`, '');
    } else {
      strings.set(`${prefix}bound`, 'true');
      strings.set(`${prefix}path`, workspaceMountPath(declaration));
    }
    if (binding !== undefined) {
      strings.set(`${prefix}claim`, binding.claimName ?? '');
      strings.set(`${prefix}volume`, binding.volumeName ?? `ws-${declaration.name}`);
    }
  }
  return { strings, arrays: new Map() };
}

/**
 * What the admission webhook checks before any run: every variable in a
 * step names something the passes will replace, array params only as a
 * whole command/args element, never inside env or a longer string.
 */
export function checkStepVariables(step: StepTemplate, passes: readonly ReplacementPass[], where: string): void {
  const known = (key: string) => passes.some((pass) => pass.strings.has(key) || pass.arrays.has(key) || (key.endsWith('[*]') && pass.arrays.has(key.slice(0, -3))));
  const isArray = (key: string) => passes.some((pass) => pass.arrays.has(key.endsWith('[*]') ? key.slice(0, -3) : key));
  const check = (text: string, field: string, list: boolean) => {
    for (const found of findSubstitutions(text)) {
      const key = found.expression;
      if (key.endsWith('[*]') && !isArray(key) && passes.some((pass) => pass.strings.has(key.slice(0, -3)))) {
        throw new Error(`${where} ${field}: ${found.raw} expands a param that is not an array`);
      }
      if (!known(key)) throw new Error(`${where} ${field}: ${found.raw} is not a variable Tekton substitutes here (unknown param, workspace, result or context)`);
      if (isArray(key)) {
        if (!list) throw new Error(`${where} ${field}: array ${found.raw} may only be used as a whole command or args element, not in a string`);
        if (text !== found.raw) throw new Error(`${where} ${field}: array ${found.raw} is not isolated: it must be the whole element`);
      }
      if (classify(found).kind === 'other') throw new Error(`${where} ${field}: ${found.raw} has a form Tekton does not substitute`);
    }
  };
  step.command?.forEach((item, i) => check(item, `command[${i}]`, true));
  step.args?.forEach((item, i) => check(item, `args[${i}]`, true));
  step.env?.forEach((variable) => check(variable.value, `env ${variable.name}`, false));
  if (step.workingDir !== undefined) check(step.workingDir, 'workingDir', false);
}

/** Runs the passes in Tekton's order over one step. */
export function applyPasses(step: StepTemplate, passes: readonly ReplacementPass[]): ResolvedStep {
  let current = step;
  for (const pass of passes) current = applyStep(current, pass);
  return {
    command: current.command ?? [],
    args: current.args ?? [],
    env: Object.fromEntries((current.env ?? []).map((variable) => [variable.name, variable.value])),
    ...(current.workingDir !== undefined ? { workingDir: current.workingDir } : {}),
  };
}

export interface TaskRunInput {
  params: Readonly<Record<string, string | string[]>>;
  /** Bound workspaces by name; an optional one left out is unbound. */
  workspaces: Readonly<Record<string, WorkspaceBindingInfo>>;
  context: RunContext;
}

export interface TaskSpecLike {
  params?: ParamDeclaration[];
  workspaces?: WorkspaceDeclaration[];
  results?: { name: string }[];
  steps: StepTemplate[];
}

/**
 * The steps of a Task as a TaskRun would run them. Throws when the run
 * misses a required param or workspace, as the controller would fail it.
 */
export function resolveTaskSteps(spec: TaskSpecLike, run: TaskRunInput): ResolvedStep[] {
  const missing = (spec.params ?? []).filter((param) => param.default === undefined && run.params[param.name] === undefined);
  if (missing.length > 0) throw new Error(`the TaskRun misses required params: ${missing.map((param) => param.name).join(', ')}`);
  for (const param of spec.params ?? []) {
    const value = run.params[param.name];
    if (value !== undefined && Array.isArray(value) !== ((param.type ?? 'string') === 'array')) {
      throw new Error(`param ${param.name} is declared ${param.type ?? 'string'} but the run gives ${Array.isArray(value) ? 'an array' : 'a string'}`);
    }
  }
  const unbound = (spec.workspaces ?? []).filter((workspace) => !workspace.optional && run.workspaces[workspace.name] === undefined);
  if (unbound.length > 0) throw new Error(`the TaskRun does not bind required workspaces: ${unbound.map((workspace) => workspace.name).join(', ')}`);
  const params = paramPass(spec.params ?? [], run.params);
  const context = contextPass(run.context);
  const results = resultsPass(spec.results ?? []);
  const workspaces = workspacePass(spec.workspaces ?? [], run.workspaces);
  const references = stepResultReferencesPass(spec.steps);
  return spec.steps.map((step, i) => {
    const ownResults = stepResultsPass(step, i);
    const passes = [params, context, { strings: new Map([...results.strings, ...ownResults.strings]), arrays: new Map() }, workspaces, references];
    checkStepVariables(step, passes, `step ${step.name ?? i}`);
    return applyPasses(step, passes);
  });
}
