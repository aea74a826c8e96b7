import { CatalogError, quoteUntrusted } from '../../errors.ts';
import type { TaskDefinition } from '../../build/definition.ts';
import { parseReference } from '../../oci/registry/reference.ts';
import { classify, findSubstitutions } from '../../tekton/substitution.ts';

/**
 * The tasks of a Pipeline (tasks and finally) that run one of this
 * catalog's Tasks, found the way Tekton would resolve their `taskRef`: the
 * bundles resolver's `name` param, a bundle repository `…/tasks/<name>`, the
 * cluster resolver's `name`, or a plain `name`. Other tasks (the user's own)
 * declare nothing the kit can read.
 */

export interface PipelineDocument {
  metadata: { name: string; namespace?: string };
  spec: {
    params?: { name: string; type?: string; default?: unknown }[];
    tasks?: PipelineTaskDocument[];
    finally?: PipelineTaskDocument[];
  };
}

export interface PipelineTaskDocument {
  name: string;
  taskRef?: { name?: string; kind?: string; resolver?: string; params?: { name: string; value: unknown }[] };
  params?: { name: string; value: unknown }[];
}

export interface CatalogPipelineTask {
  pipelineTask: string;
  definition: TaskDefinition;
  task: PipelineTaskDocument;
}

export interface PipelineTasks {
  catalog: CatalogPipelineTask[];
  /** Pipeline tasks that run something else: the kit grants them nothing. */
  other: string[];
}

function refParam(task: PipelineTaskDocument, name: string): string | undefined {
  const value = task.taskRef?.params?.find((param) => param.name === name)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** The Task name a taskRef resolves to, when it says so without running anything. */
function referencedTaskName(task: PipelineTaskDocument): string | undefined {
  const ref = task.taskRef;
  if (ref === undefined || (ref.kind !== undefined && ref.kind !== 'Task')) return undefined;
  if (ref.resolver === 'bundles') {
    const name = refParam(task, 'name');
    if (name !== undefined && !name.includes('$(')) return name;
    const bundle = refParam(task, 'bundle');
    if (bundle === undefined || bundle.includes('$(')) return undefined;
    try {
      return /(?:^|\/)tasks\/([a-z0-9][a-z0-9-]*)$/.exec(parseReference(bundle).repository)?.[1];
    } catch {
      return undefined;
    }
  }
  if (ref.resolver === 'cluster') return refParam(task, 'name');
  if (ref.resolver !== undefined) return undefined;
  return ref.name;
}

export function catalogPipelineTasks(pipeline: PipelineDocument, definitions: readonly TaskDefinition[]): PipelineTasks {
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  const out: PipelineTasks = { catalog: [], other: [] };
  for (const task of [...(pipeline.spec.tasks ?? []), ...(pipeline.spec.finally ?? [])]) {
    const name = referencedTaskName(task);
    const definition = name === undefined ? undefined : byName.get(name);
    if (definition) out.catalog.push({ pipelineTask: task.name, definition, task });
    else out.other.push(task.name);
  }
  return out;
}

/**
 * The value a catalog Task param gets in this pipeline task, known before
 * any run: a literal, a Pipeline param's value from the kit config or its
 * default, or the Task's default. Anything decided at run time (a task
 * result, a context value) cannot be known, and is an error: the kit never
 * guesses what to grant.
 */
export function knownParamValue(
  pipeline: PipelineDocument,
  entry: CatalogPipelineTask,
  param: string,
  configured: Readonly<Record<string, string>>,
): string {
  const where = `pipeline task ${quoteUntrusted(entry.pipelineTask)} (Task ${entry.definition.name}), param ${quoteUntrusted(param)}`;
  const passed = entry.task.params?.find((binding) => binding.name === param);
  if (passed === undefined) {
    const fallback = entry.definition.params.find((declared) => declared.name === param)?.default;
    if (typeof fallback === 'string') return fallback;
    throw new CatalogError('CONFIG_KIT_PARAM_UNKNOWN', `${where}: the pipeline task does not pass it and the Task has no default`, { hint: 'pass the param in the Pipeline' });
  }
  if (typeof passed.value !== 'string') throw new CatalogError('CONFIG_KIT_PARAM_UNKNOWN', `${where}: is not a string`, { hint: 'the kit reads string params only' });
  const substitutions = findSubstitutions(passed.value);
  if (substitutions.length === 0) return passed.value;
  const only = substitutions[0]!;
  const reference = classify(only);
  if (substitutions.length === 1 && only.raw === passed.value && reference.kind === 'param') {
    const fromConfig = configured[reference.name];
    if (fromConfig !== undefined) return fromConfig;
    const declared = pipeline.spec.params?.find((p) => p.name === reference.name);
    if (typeof declared?.default === 'string' && declared.default !== '') return declared.default;
    throw new CatalogError('CONFIG_KIT_PARAM_UNKNOWN', `${where}: comes from the Pipeline param ${quoteUntrusted(reference.name)}, which has no default and no value in the kit config`, {
      hint: `set it in the kit config (params: {${reference.name}: <value>}) or with --param ${reference.name}=<value>: the Role names exactly the objects the runs will use`,
    });
  }
  throw new CatalogError('CONFIG_KIT_PARAM_UNKNOWN', `${where}: is ${quoteUntrusted(passed.value, 80)}, decided only when the pipeline runs`, {
    hint: 'pass a literal or a Pipeline param there, so the kit can name the object in the Role',
  });
}
