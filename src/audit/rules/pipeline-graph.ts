import type { TektonPipelineSpec, TektonPipelineTask } from '../../tekton/models.ts';
import { classify, findSubstitutions } from '../../tekton/substitution.ts';
import type { PipelineTaskSite } from '../model/audit-model.ts';

/**
 * Order and identity of pipeline tasks: which task runs before which
 * (runAfter and result references, as Tekton builds its graph), and which
 * task is one of the catalog's gates.
 */

const graphs = new WeakMap<TektonPipelineSpec, Map<string, Set<string>>>();

function strings(value: unknown, out: string[]): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, out);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) strings(item, out);
  return out;
}

function directDependencies(task: TektonPipelineTask): Set<string> {
  const deps = new Set(task.runAfter ?? []);
  for (const text of strings([task.params, task.when, task.matrix], [])) {
    for (const s of findSubstitutions(text)) {
      const ref = classify(s);
      if (ref.kind === 'task-result' || ref.kind === 'task-status') deps.add(ref.task);
    }
  }
  return deps;
}

function graphOf(spec: TektonPipelineSpec): Map<string, Set<string>> {
  let graph = graphs.get(spec);
  if (!graph) {
    graph = new Map(spec.tasks.map((task) => [task.name, directDependencies(task)]));
    // Finally tasks run after every task.
    const all = new Set(spec.tasks.map((t) => t.name));
    for (const task of spec.finally ?? []) graph.set(task.name, all);
    graphs.set(spec, graph);
  }
  return graph;
}

/** True when `task` runs only after `ancestor` has finished. */
export function dependsOn(spec: TektonPipelineSpec, task: string, ancestor: string): boolean {
  const graph = graphOf(spec);
  const seen = new Set<string>();
  const stack = [...(graph.get(task) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (next === ancestor) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return false;
}

/** The name of the Task a pipeline task runs: the catalog's, the local Task's, or what the reference says. */
export function taskNameOf(site: PipelineTaskSite): string | undefined {
  if (site.resolution.kind === 'catalog') return site.resolution.catalogTask?.name;
  if (site.resolution.kind === 'local') return site.resolution.document?.name;
  const ref = site.task.taskRef;
  if (!ref) return undefined;
  if (ref.resolver === 'bundles' || ref.resolver === 'hub' || ref.resolver === 'cluster') {
    const param = ref.params?.find((p) => p.name === 'name')?.value;
    if (typeof param === 'string') return param;
  }
  return ref.name;
}

function stepsMention(site: PipelineTaskSite, image: RegExp, code: RegExp): boolean {
  if (site.resolution.kind === 'unresolved') return false;
  return (site.resolution.spec.steps ?? []).some(
    (step) => image.test(step.image ?? '') && code.test(`${step.script ?? ''} ${(step.command ?? []).join(' ')} ${(step.args ?? []).join(' ')}`),
  );
}

/** The catalog's verify-image, or a Task that runs `cosign verify`. */
export function isVerifyImageTask(site: PipelineTaskSite): boolean {
  const name = taskNameOf(site);
  return name === 'verify-image' || stepsMention(site, /cosign/, /\bverify(-attestation)?\b/);
}

/** The catalog's validate-params. */
export function isValidateParamsTask(site: PipelineTaskSite): boolean {
  return taskNameOf(site) === 'validate-params';
}
