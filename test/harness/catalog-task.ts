import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { VersionRecord } from '../../src/build/catalog-index.ts';
import type { BuiltCatalog } from './catalog-build.ts';
import {
  applyPasses,
  checkStepVariables,
  paramPass,
  type ParamDeclaration,
  type ReplacementPass,
  type WorkspaceDeclaration,
} from './tekton-substitution.ts';

export interface CatalogStep {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  workingDir?: string;
  onError?: 'continue' | 'stopAndFail';
  volumeMounts?: { name: string; mountPath: string }[];
  /** A step that runs a StepAction (resolved by tekton-stepactions.ts before anything runs). */
  ref?: { name?: string; resolver?: string };
  params?: { name: string; value: string | string[] }[];
  /** Step results: a StepAction's, once resolved. */
  results?: { name: string }[];
}

export interface CatalogTaskSpec {
  params?: ParamDeclaration[];
  workspaces?: WorkspaceDeclaration[];
  /** `value` takes a Task result from a step result: `$(steps.<step>.results.<name>)`. */
  results?: { name: string; value?: string }[];
  volumes?: { name: string; emptyDir?: Record<string, unknown> }[];
  steps: CatalogStep[];
}

export interface CatalogTask {
  record: VersionRecord;
  /** metadata.name of the Task. */
  name: string;
  spec: CatalogTaskSpec;
  /** Param defaults, as Tekton fills them in for params a run leaves out. */
  defaults: Record<string, string | string[]>;
}

/** The latest version of a Task from a built catalog, parsed from its YAML. */
export async function loadCatalogTask(built: BuiltCatalog, name: string): Promise<CatalogTask> {
  const entry = built.index.tasks[name];
  if (!entry) throw new Error(`the built catalog has no ${name} Task`);
  const record = entry.versions[entry.latest]!;
  const document = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as { metadata: { name: string }; spec: CatalogTaskSpec };
  const defaults = Object.fromEntries(
    (document.spec.params ?? []).filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]),
  );
  return { record, name: document.metadata.name, spec: document.spec, defaults };
}

export interface StepVariables {
  params: Record<string, string | string[]>;
  /** Workspace paths by name; "" stands for an optional workspace the run leaves unbound (bound "false"). */
  workspaces?: Record<string, string>;
  /** Context values by key without the "context." prefix, e.g. {"task.name": "validate"}. */
  context?: Record<string, string>;
}

/**
 * The context every TaskRun has, whatever the test says: Tekton always
 * substitutes the TaskRun's name, namespace and uid and the retry count.
 * A test that cares passes its own in `context`.
 */
function taskRunContext(): Record<string, string> {
  return { 'taskRun.name': 'harness-taskrun', 'taskRun.namespace': 'default', 'taskRun.uid': randomUUID(), 'task.retry-count': '0' };
}

/** The command each rendered args array belongs to, so runEntrypoint runs the YAML's command and never the image's. */
const renderedCommands = new WeakMap<readonly string[], readonly string[] | undefined>();

/** The command renderStep found for these args (undefined when the step had none), or 'not-rendered'. */
export function commandOfRenderedArgs(args: readonly string[] | undefined): readonly string[] | undefined | 'not-rendered' {
  if (args === undefined || !renderedCommands.has(args)) return 'not-rendered';
  return renderedCommands.get(args);
}

/**
 * Tekton's variable substitution for one step, with values given directly
 * (for a whole TaskRun, see resolveTaskSteps in tekton-substitution.ts).
 * The same engine: params, then context, then workspaces, each a one-pass
 * replacement; array params expand only as whole command/args elements, an
 * empty one to nothing. Any variable without a value throws, so a test can
 * never run a step with a placeholder left in.
 *
 * The returned args remember the step's command: runEntrypoint runs exactly
 * `command` + `args` from the YAML, never the image's Entrypoint.
 */
export function renderStep(step: CatalogStep, variables: StepVariables): { command: string[]; args: string[]; env: Record<string, string> } {
  const params = paramPass([], variables.params);
  const context: ReplacementPass = {
    strings: new Map(Object.entries({ ...taskRunContext(), ...variables.context }).map(([key, value]) => [`context.${key}`, value])),
    arrays: new Map(),
  };
  const workspaces: ReplacementPass = { strings: new Map(), arrays: new Map() };
  for (const [name, path] of Object.entries(variables.workspaces ?? {})) {
    workspaces.strings.set(`workspaces.${name}.path`, path);
    workspaces.strings.set(`workspaces.${name}.bound`, path === '' ? 'false' : 'true');
  }
  const passes = [params, context, workspaces];
  checkStepVariables(step, passes, `step ${step.name}`);
  const resolved = applyPasses(step, passes);
  renderedCommands.set(resolved.args, step.command === undefined ? undefined : resolved.command);
  return { command: resolved.command, args: resolved.args, env: resolved.env };
}
