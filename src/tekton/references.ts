import { quoteUntrusted } from '../errors.ts';
import { childPath, DiagnosticCodes, type Diagnostic } from './diagnostic.ts';
import type {
  TektonDocument,
  TektonParam,
  TektonParamSpec,
  TektonPipelineSpec,
  TektonPipelineTask,
  TektonTaskSpec,
} from './models.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, paramNameProblem, resultNameProblem } from './names.ts';
import { classify, findSubstitutions, type Reference, type Substitution } from './substitution.ts';

/**
 * Semantic checks the schema cannot express: every `$(...)` reference
 * points at something declared, names follow Kubernetes/Tekton rules and
 * are unique, pipeline task graphs are well formed. Input is a document the
 * zod model already accepted.
 */

type ParamKind = 'string' | 'array' | 'object';

/** What a `$(...)` in a given place may refer to. */
interface Scope {
  params: Map<string, ParamKind>;
  /** Task results (for `$(results.x.path)`); undefined where they make no sense. */
  results?: Set<string>;
  /** Declared workspaces; undefined where workspaces are unknowable (StepActions). */
  workspaces?: Set<string>;
  /** Pipeline-level: `workspaces.x.bound` is the only workspace variable. */
  pipelineWorkspaces?: boolean;
  /** Steps of the Task, for `$(steps.x...)`. */
  steps?: StepInfo[];
  /** Results of the step being checked, for `$(step.results.x.path)`. */
  ownStepResults?: Set<string>;
  /** Pipeline tasks that `$(tasks.x.results.y)` may name here. */
  pipelineTasks?: Map<string, TektonPipelineTask>;
  /** True in finally tasks and pipeline results: `$(tasks.x.status)` is allowed. */
  statusAllowed?: boolean;
  /** The pipeline task being checked, which may not reference itself. */
  selfTask?: string;
  /** The params a step passes to its StepAction: an array param may be a whole value there. */
  stepActionParams?: boolean;
}

interface StepInfo {
  name: string | undefined;
  results: Set<string> | undefined;
}

const FIELDS_NOT_SUBSTITUTED = new Set(['description']);

function declaredParams(specs: readonly TektonParamSpec[] | undefined): Map<string, ParamKind> {
  const params = new Map<string, ParamKind>();
  for (const spec of specs ?? []) params.set(spec.name, effectiveParamType(spec));
  return params;
}

/** Tekton infers a missing type from the default's shape. */
function effectiveParamType(spec: TektonParamSpec): ParamKind {
  if (spec.type) return spec.type;
  if (Array.isArray(spec.default)) return 'array';
  if (spec.default !== undefined && typeof spec.default === 'object') return 'object';
  if (spec.properties) return 'object';
  return 'string';
}

function valueKind(value: unknown): ParamKind {
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  return 'string';
}

/** Reports the second and later holder of each name. */
function checkDuplicates(out: Diagnostic[], what: string, items: readonly { name?: string | undefined }[] | undefined, path: string): void {
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    if (item.name === undefined) return;
    if (seen.has(item.name)) {
      out.push({
        code: DiagnosticCodes.duplicateName,
        path: childPath(childPath(path, i), 'name'),
        message: `${what} ${quoteUntrusted(item.name)} is declared more than once; names must be unique`,
      });
    }
    seen.add(item.name);
  });
}

function checkName(out: Diagnostic[], what: string, name: string | undefined, path: string, rule: (n: string) => string | undefined): void {
  if (name === undefined) return;
  const problem = rule(name);
  if (problem) out.push({ code: DiagnosticCodes.nameInvalid, path, message: `${what} ${quoteUntrusted(name)} ${problem}` });
}

function checkParamSpecs(out: Diagnostic[], specs: readonly TektonParamSpec[] | undefined, path: string): void {
  checkDuplicates(out, 'param', specs, path);
  (specs ?? []).forEach((spec, i) => {
    const at = childPath(path, i);
    checkName(out, 'param name', spec.name, childPath(at, 'name'), paramNameProblem);
    if (spec.default === undefined) return;
    const declared = spec.type;
    const actual = valueKind(spec.default);
    if (declared && declared !== actual) {
      out.push({
        code: DiagnosticCodes.paramDefaultMismatch,
        path: childPath(at, 'default'),
        message: `param ${quoteUntrusted(spec.name)} is declared as ${declared} but its default is ${actual === 'array' ? 'an array' : `a ${actual}`}; make the default match the type`,
      });
      return;
    }
    if (spec.enum && typeof spec.default === 'string' && !spec.enum.includes(spec.default)) {
      out.push({
        code: DiagnosticCodes.paramDefaultMismatch,
        path: childPath(at, 'default'),
        message: `param ${quoteUntrusted(spec.name)} has default ${quoteUntrusted(spec.default)}, which is not in its enum`,
      });
    }
    if (actual === 'object' && spec.properties && typeof spec.default === 'object' && !Array.isArray(spec.default)) {
      for (const key of Object.keys(spec.default)) {
        if (!(key in spec.properties)) {
          out.push({
            code: DiagnosticCodes.paramDefaultMismatch,
            path: childPath(childPath(at, 'default'), key),
            message: `param ${quoteUntrusted(spec.name)} default has key ${quoteUntrusted(key)}, which its properties do not declare`,
          });
        }
      }
    }
  });
}

/**
 * Calls `visit` for every string in `value` that Tekton substitutes into,
 * with its path and the key of the array it sits in (for the `[*]` rule).
 */
function walkStrings(
  value: unknown,
  path: string,
  visit: (text: string, path: string, arrayKey: string | undefined) => void,
  arrayKey?: string,
): void {
  if (typeof value === 'string') {
    visit(value, path, arrayKey);
  } else if (Array.isArray(value)) {
    const key = path.slice(path.lastIndexOf('.') + 1).replace(/\[.*$/, '');
    value.forEach((item, i) => walkStrings(item, childPath(path, i), visit, key));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (FIELDS_NOT_SUBSTITUTED.has(key)) continue;
      walkStrings(child, childPath(path, key), visit);
    }
  }
}

function stepMatches(steps: readonly StepInfo[], reference: string): StepInfo | undefined {
  // Tekton names step containers "step-<name>" and unnamed ones "step-unnamed-<i>";
  // both `$(steps.step-x...)` and `$(steps.x...)` forms appear in the wild.
  const bare = reference.startsWith('step-') ? reference.slice('step-'.length) : reference;
  const unnamed = /^unnamed-(\d+)$/.exec(bare);
  if (unnamed) return steps[Number(unnamed[1])];
  return steps.find((step) => step.name === bare || step.name === reference);
}

/** Checks every substitution in one string against the scope. */
function checkText(out: Diagnostic[], scope: Scope, text: string, path: string, arrayKey: string | undefined): void {
  for (const substitution of findSubstitutions(text)) {
    checkSubstitution(out, scope, substitution, classify(substitution), text, path, arrayKey);
  }
}

function checkSubstitution(
  out: Diagnostic[],
  scope: Scope,
  substitution: Substitution,
  reference: Reference,
  text: string,
  path: string,
  arrayKey: string | undefined,
): void {
  const shown = quoteUntrusted(substitution.raw, 80);
  const push = (code: Diagnostic['code'], message: string) => out.push({ code, path, message: `${shown}: ${message}` });
  switch (reference.kind) {
    case 'param': {
      const kind = scope.params.get(reference.name);
      if (kind === undefined) {
        push(DiagnosticCodes.paramUndeclared, `param ${quoteUntrusted(reference.name)} is not declared; declare it under params or fix the name`);
        return;
      }
      // An array or object param expands into several values; Tekton accepts
      // it (as $(params.x[*]), or the older bare $(params.x)) only as a whole
      // element of args/command or a whole value passed on by a Pipeline.
      const expands = reference.selector === 'all' || (reference.selector === 'none' && kind !== 'string');
      if (reference.selector === 'all' && kind === 'string') {
        push(DiagnosticCodes.paramArrayMisuse, `[*] needs an array or object param, but ${quoteUntrusted(reference.name)} is a string`);
      } else if (expands) {
        const passedOn = scope.pipelineTasks !== undefined || scope.stepActionParams === true;
        const wholeElement = text === substitution.raw && (arrayKey !== undefined || passedOn);
        const inList = arrayKey === 'args' || arrayKey === 'command' || passedOn;
        if (!wholeElement || !inList) {
          push(
            DiagnosticCodes.paramArrayMisuse,
            `${kind} param ${quoteUntrusted(reference.name)} expands to several values, so it must be a whole element of args or command (or a whole param value); use an index or key to pick one value`,
          );
        }
      } else if (reference.selector === 'index' && kind !== 'array') {
        push(DiagnosticCodes.paramArrayMisuse, `an index needs an array param, but ${quoteUntrusted(reference.name)} is ${kind === 'object' ? 'an object' : 'a string'}`);
      } else if (reference.selector === 'key' && kind !== 'object') {
        push(DiagnosticCodes.paramArrayMisuse, `a key needs an object param, but ${quoteUntrusted(reference.name)} is ${kind === 'array' ? 'an array' : 'a string'}`);
      }
      return;
    }
    case 'result':
      if (!scope.results) push(DiagnosticCodes.referenceInvalid, 'results.<name>.path is only available inside a Task');
      else if (!scope.results.has(reference.name)) {
        push(DiagnosticCodes.resultUndeclared, `result ${quoteUntrusted(reference.name)} is not declared; declare it under results`);
      }
      return;
    case 'own-step-result':
      if (scope.ownStepResults && !scope.ownStepResults.has(reference.name)) {
        push(DiagnosticCodes.resultUndeclared, `step result ${quoteUntrusted(reference.name)} is not declared in this step's results`);
      }
      return;
    case 'workspace':
      // In a Pipeline only `.bound` is substituted; `$(workspaces.x.path)` in a
      // pipeline task param passes through as text and the Task resolves it
      // against its own workspaces, which are not known here.
      if (scope.pipelineWorkspaces && reference.property !== 'bound') return;
      if (scope.workspaces && !scope.workspaces.has(reference.name)) {
        push(DiagnosticCodes.workspaceUndeclared, `workspace ${quoteUntrusted(reference.name)} is not declared; declare it under workspaces`);
      }
      return;
    case 'task-result':
    case 'task-status': {
      if (!scope.pipelineTasks) {
        push(DiagnosticCodes.referenceInvalid, 'tasks.<name>... is only available inside a Pipeline');
        return;
      }
      if (reference.kind === 'task-status' && !scope.statusAllowed) {
        push(DiagnosticCodes.referenceInvalid, `tasks.<name>.${reference.property} is only available in finally tasks and pipeline results`);
        return;
      }
      const task = scope.pipelineTasks.get(reference.task);
      if (!task || reference.task === scope.selfTask) {
        push(
          DiagnosticCodes.pipelineTaskUnknown,
          reference.task === scope.selfTask
            ? 'a pipeline task cannot use its own results'
            : `${quoteUntrusted(reference.task)} is not a pipeline task that can be referenced here`,
        );
        return;
      }
      const declared = task.taskSpec?.steps ? task.taskSpec.results : undefined;
      if (reference.kind === 'task-result' && declared && !declared.some((r) => r.name === reference.result)) {
        push(DiagnosticCodes.resultUndeclared, `task ${quoteUntrusted(reference.task)} declares no result ${quoteUntrusted(reference.result)}`);
      }
      return;
    }
    case 'aggregate-status':
      if (!scope.statusAllowed) push(DiagnosticCodes.referenceInvalid, 'tasks.status is only available in finally tasks');
      return;
    case 'step-exit-code':
    case 'step-result': {
      if (!scope.steps) {
        push(DiagnosticCodes.referenceInvalid, 'steps.<name>... is only available inside a Task');
        return;
      }
      const step = stepMatches(scope.steps, reference.step);
      if (!step) {
        push(DiagnosticCodes.stepUnknown, `step ${quoteUntrusted(reference.step)} is not a step of this Task`);
      } else if (reference.kind === 'step-result' && step.results && !step.results.has(reference.result)) {
        push(DiagnosticCodes.resultUndeclared, `step ${quoteUntrusted(reference.step)} declares no result ${quoteUntrusted(reference.result)}`);
      }
      return;
    }
    case 'legacy':
      push(DiagnosticCodes.referenceLegacy, `$(${reference.root}.…) is PipelineResources syntax that Tekton no longer substitutes; use $(params.<name>)`);
      return;
    case 'other':
      push(DiagnosticCodes.referenceInvalid, 'is not a variable Tekton substitutes; check the spelling against the variable list');
      return;
    case 'context':
    case 'credentials':
      return;
  }
}

/** Names, duplicates, params and references of one Task spec (top-level or embedded). */
function checkTaskSpec(out: Diagnostic[], spec: TektonTaskSpec, path: string, outer?: Scope): void {
  checkParamSpecs(out, spec.params, childPath(path, 'params'));
  checkDuplicates(out, 'result', spec.results, childPath(path, 'results'));
  (spec.results ?? []).forEach((result, i) =>
    checkName(out, 'result name', result.name, childPath(childPath(childPath(path, 'results'), i), 'name'), resultNameProblem),
  );
  checkDuplicates(out, 'workspace', spec.workspaces, childPath(path, 'workspaces'));
  (spec.workspaces ?? []).forEach((ws, i) =>
    checkName(out, 'workspace name', ws.name, childPath(childPath(childPath(path, 'workspaces'), i), 'name'), dns1123LabelProblem),
  );
  checkDuplicates(out, 'step', spec.steps, childPath(path, 'steps'));
  checkDuplicates(out, 'sidecar', spec.sidecars, childPath(path, 'sidecars'));
  checkDuplicates(out, 'volume', spec.volumes, childPath(path, 'volumes'));

  const params = declaredParams(spec.params);
  // Embedded specs see the enclosing Pipeline's or run's params (propagation).
  for (const [name, kind] of outer?.params ?? []) if (!params.has(name)) params.set(name, kind);
  const workspaces = new Set((spec.workspaces ?? []).map((ws) => ws.name));
  for (const name of outer?.workspaces ?? []) workspaces.add(name);
  const steps: StepInfo[] = (spec.steps ?? []).map((step) => ({
    name: step.name,
    results: step.ref ? undefined : new Set((step.results ?? []).map((r) => r.name)),
  }));
  const scope: Scope = {
    ...outer,
    params,
    results: new Set((spec.results ?? []).map((r) => r.name)),
    workspaces,
    pipelineWorkspaces: false,
    steps,
  };

  const templateImage = spec.stepTemplate?.image;
  (spec.steps ?? []).forEach((step, i) => {
    const at = childPath(childPath(path, 'steps'), i);
    checkName(out, 'step name', step.name, childPath(at, 'name'), dns1123LabelProblem);
    if (!step.image && !step.ref && !templateImage) {
      out.push({ code: DiagnosticCodes.stepImageMissing, path: childPath(at, 'image'), message: 'a step needs an image (or a StepAction ref)' });
    }
    if (step.script !== undefined && step.command !== undefined) {
      out.push({
        code: DiagnosticCodes.stepScriptWithCommand,
        path: childPath(at, 'script'),
        message: 'a step cannot set both script and command; put the interpreter in the script shebang',
      });
    }
    checkDuplicates(out, 'step result', step.results, childPath(at, 'results'));
    (step.workspaces ?? []).forEach((ws, j) => {
      if (!workspaces.has(ws.name)) {
        out.push({
          code: DiagnosticCodes.workspaceUndeclared,
          path: childPath(childPath(childPath(at, 'workspaces'), j), 'name'),
          message: `step workspace ${quoteUntrusted(ws.name)} is not declared in the Task's workspaces`,
        });
      }
    });
    const stepScope: Scope = { ...scope, ownStepResults: new Set((step.results ?? []).map((r) => r.name)) };
    // Params handed to a StepAction are applied like a TaskRun's (applyStepActionParameters): an array may be a whole value.
    const { params: stepParams, ...rest } = step as typeof step & { params?: unknown };
    walkStrings(rest, at, (text, p, key) => checkText(out, stepScope, text, p, key));
    walkStrings(stepParams, childPath(at, 'params'), (text, p, key) => checkText(out, { ...stepScope, stepActionParams: step.ref !== undefined }, text, p, key));
  });
  (spec.sidecars ?? []).forEach((sidecar, i) => {
    const at = childPath(childPath(path, 'sidecars'), i);
    checkName(out, 'sidecar name', sidecar.name, childPath(at, 'name'), dns1123LabelProblem);
    walkStrings(sidecar, at, (text, p, key) => checkText(out, scope, text, p, key));
  });
  for (const key of ['stepTemplate', 'volumes'] as const) {
    walkStrings(spec[key], childPath(path, key), (text, p, k) => checkText(out, scope, text, p, k));
  }
}

function pipelineTaskKinds(task: TektonPipelineTask): number {
  return [task.taskRef, task.taskSpec, task.pipelineRef, task.pipelineSpec].filter((x) => x !== undefined).length;
}

/** Names, bindings, graph and references of one Pipeline spec. */
function checkPipelineSpec(out: Diagnostic[], spec: TektonPipelineSpec, path: string, propagated?: Map<string, ParamKind>): void {
  checkParamSpecs(out, spec.params, childPath(path, 'params'));
  checkDuplicates(out, 'workspace', spec.workspaces, childPath(path, 'workspaces'));
  checkDuplicates(out, 'result', spec.results, childPath(path, 'results'));
  const tasks = spec.tasks ?? [];
  const finallyTasks = spec.finally ?? [];
  const all = [...tasks.map((t, i) => ({ task: t, path: childPath(childPath(path, 'tasks'), i), isFinally: false })),
    ...finallyTasks.map((t, i) => ({ task: t, path: childPath(childPath(path, 'finally'), i), isFinally: true }))];
  const seenTasks = new Set<string>();
  for (const { task, path: at } of all) {
    if (seenTasks.has(task.name)) {
      out.push({
        code: DiagnosticCodes.duplicateName,
        path: childPath(at, 'name'),
        message: `pipeline task ${quoteUntrusted(task.name)} is declared more than once (tasks and finally share one namespace)`,
      });
    }
    seenTasks.add(task.name);
  }

  const params = declaredParams(spec.params);
  for (const [name, kind] of propagated ?? []) if (!params.has(name)) params.set(name, kind);
  const pipelineWorkspaces = new Set((spec.workspaces ?? []).map((ws) => ws.name));
  const mainTasks = new Map(tasks.map((t) => [t.name, t]));
  const everyTask = new Map(all.map((x) => [x.task.name, x.task]));

  for (const { task, path: at, isFinally } of all) {
    checkName(out, 'pipeline task name', task.name, childPath(at, 'name'), dns1123LabelProblem);
    if (pipelineTaskKinds(task) !== 1) {
      out.push({
        code: DiagnosticCodes.taskRefInvalid,
        path: at,
        message: `pipeline task ${quoteUntrusted(task.name)} needs exactly one of taskRef, taskSpec, pipelineRef and pipelineSpec`,
      });
    }
    if (isFinally && task.runAfter?.length) {
      out.push({
        code: DiagnosticCodes.finallyRunAfter,
        path: childPath(at, 'runAfter'),
        message: 'finally tasks always run after all tasks and cannot set runAfter',
      });
    }
    (task.runAfter ?? []).forEach((target, j) => {
      if (isFinally) return;
      if (!mainTasks.has(target) || target === task.name) {
        out.push({
          code: DiagnosticCodes.runAfterUnknown,
          path: childPath(childPath(at, 'runAfter'), j),
          message: `runAfter names ${quoteUntrusted(target)}, which is not another task of this Pipeline`,
        });
      }
    });
    checkDuplicates(out, 'param binding', task.params, childPath(at, 'params'));
    checkDuplicates(out, 'workspace binding', task.workspaces, childPath(at, 'workspaces'));
    (task.workspaces ?? []).forEach((binding, j) => {
      const target = binding.workspace ?? binding.name;
      if (!pipelineWorkspaces.has(target)) {
        out.push({
          code: DiagnosticCodes.workspaceUndeclared,
          path: childPath(childPath(at, 'workspaces'), j),
          message: `binds pipeline workspace ${quoteUntrusted(target)}, which the Pipeline does not declare`,
        });
      }
    });

    const scope: Scope = {
      params,
      pipelineWorkspaces: true,
      workspaces: pipelineWorkspaces,
      pipelineTasks: mainTasks,
      statusAllowed: isFinally,
      selfTask: task.name,
    };
    for (const [key, value] of Object.entries(task)) {
      if (key === 'taskSpec' || key === 'pipelineSpec') continue;
      walkStrings(value, childPath(at, key), (text, p, k) => checkText(out, scope, text, p, k));
    }
    if (task.taskSpec?.steps) {
      // An embedded Task sees pipeline params and the workspaces bound to it.
      const bound = new Set((task.workspaces ?? []).map((w) => w.name));
      checkTaskSpec(out, task.taskSpec as TektonTaskSpec, childPath(at, 'taskSpec'), { ...scope, workspaces: bound });
      checkRequiredParamsBound(out, task.taskSpec.params, task.params, task.name, at);
    }
  }

  const resultScope: Scope = { params, pipelineWorkspaces: true, workspaces: pipelineWorkspaces, pipelineTasks: everyTask, statusAllowed: true };
  walkStrings(spec.results, childPath(path, 'results'), (text, p, k) => checkText(out, resultScope, text, p, k));
  checkCycles(out, tasks, path);
}

function checkRequiredParamsBound(
  out: Diagnostic[],
  specs: readonly TektonParamSpec[] | undefined,
  bindings: readonly TektonParam[] | undefined,
  taskName: string,
  path: string,
): void {
  const bound = new Set((bindings ?? []).map((b) => b.name));
  for (const spec of specs ?? []) {
    if (spec.default === undefined && !bound.has(spec.name)) {
      out.push({
        code: DiagnosticCodes.paramMissing,
        path: childPath(path, 'params'),
        message: `pipeline task ${quoteUntrusted(taskName)} does not pass required param ${quoteUntrusted(spec.name)} of its taskSpec`,
      });
    }
  }
}

/** runAfter edges plus result references; a cycle means no task could start. */
function checkCycles(out: Diagnostic[], tasks: readonly TektonPipelineTask[], path: string): void {
  const edges = new Map<string, Set<string>>();
  for (const task of tasks) {
    const deps = new Set(task.runAfter ?? []);
    const { taskSpec: _ignored, ...rest } = task;
    walkStrings(rest, '', (text) => {
      for (const s of findSubstitutions(text)) {
        const r = classify(s);
        if (r.kind === 'task-result') deps.add(r.task);
      }
    });
    edges.set(task.name, deps);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === 'done' || !edges.has(name)) return undefined;
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const dep of edges.get(name)!) {
      if (dep === name) continue; // reported as an unknown/self reference elsewhere
      const cycle = visit(dep, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of edges.keys()) {
    const cycle = visit(name, []);
    if (cycle) {
      out.push({
        code: DiagnosticCodes.pipelineCycle,
        path: childPath(path, 'tasks'),
        message: `tasks depend on each other in a cycle: ${cycle.map((n) => quoteUntrusted(n)).join(' → ')}`,
      });
      return;
    }
  }
}

function paramsOf(bindings: readonly TektonParam[] | undefined): Map<string, ParamKind> {
  return new Map((bindings ?? []).map((b) => [b.name, valueKind(b.value)]));
}

/**
 * Every semantic check except the catalog's script rule, for a document the
 * model accepted.
 */
export function checkSemantics(doc: TektonDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  const meta = doc.metadata;
  if (meta.name !== undefined) checkName(out, 'metadata.name', meta.name, 'metadata.name', dns1123SubdomainProblem);
  switch (doc.kind) {
    case 'Task':
      checkTaskSpec(out, doc.spec, 'spec');
      break;
    case 'Pipeline':
      checkPipelineSpec(out, doc.spec, 'spec');
      break;
    case 'TaskRun':
      checkDuplicates(out, 'param', doc.spec.params, 'spec.params');
      checkDuplicates(out, 'workspace binding', doc.spec.workspaces, 'spec.workspaces');
      if (doc.spec.taskSpec) {
        const bound = new Set((doc.spec.workspaces ?? []).map((w) => w.name));
        checkTaskSpec(out, doc.spec.taskSpec, 'spec.taskSpec', { params: paramsOf(doc.spec.params), workspaces: bound });
      }
      break;
    case 'PipelineRun':
      checkDuplicates(out, 'param', doc.spec.params, 'spec.params');
      checkDuplicates(out, 'workspace binding', doc.spec.workspaces, 'spec.workspaces');
      if (doc.spec.pipelineSpec) checkPipelineSpec(out, doc.spec.pipelineSpec, 'spec.pipelineSpec', paramsOf(doc.spec.params));
      break;
    case 'StepAction': {
      checkParamSpecs(out, doc.spec.params, 'spec.params');
      checkDuplicates(out, 'result', doc.spec.results, 'spec.results');
      const scope: Scope = {
        params: declaredParams(doc.spec.params),
        ownStepResults: new Set((doc.spec.results ?? []).map((r) => r.name)),
      };
      const { params: _params, results: _results, ...rest } = doc.spec;
      walkStrings(rest, 'spec', (text, p, k) => checkText(out, scope, text, p, k));
      break;
    }
  }
  return out;
}

/**
 * The catalog rule: no Tekton `$(...)` substitution inside any `script`
 * (Tekton pastes the value in as code). Kept apart from `checkSemantics`
 * because it is our rule, not Tekton's: third-party Tasks break it legally.
 * Works on any parsed YAML, so it also covers embedded specs.
 */
export function checkScriptSubstitutions(doc: unknown, path = ''): Diagnostic[] {
  const out: Diagnostic[] = [];
  const visit = (value: unknown, at: string): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, childPath(at, i)));
    else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const childAt = childPath(at, key);
        if (key === 'script' && typeof child === 'string') {
          const found = findSubstitutions(child);
          if (found.length > 0) {
            out.push({
              code: DiagnosticCodes.scriptSubstitution,
              path: childAt,
              message: `script contains ${found.map((s) => quoteUntrusted(s.raw, 60)).join(', ')}; Tekton pastes it in as code, so pass the value through env or args instead`,
            });
          }
        } else visit(child, childAt);
      }
    }
  };
  visit(doc, path);
  return out;
}
