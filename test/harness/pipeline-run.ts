/**
 * A PipelineRun in the chroot harness: the pipeline-level behaviour Tekton's
 * controller has (tektoncd/pipeline docs/pipelines.md, docs/variables.md),
 * as far as the harness claims it:
 *
 * - params: the PipelineRun's values over the Pipeline's defaults, arrays as
 *   whole elements (`$(params.x[*])` as a whole value, or an element, of an
 *   array); `$(context.pipelineRun.{name,namespace,uid})`;
 *   `$(tasks.<t>.results.<r>)`; the same substitution in a taskRef's
 *   resolver params (the bundles resolver's `bundle` and `name`);
 * - order: a task runs after its runAfter and the tasks whose results it
 *   uses; when a task fails, the tasks not started yet never start, and
 *   `finally` tasks still run (all of them, one after another);
 * - workspaces: emptyDir (a new one per TaskRun), volumeClaimTemplate (one
 *   folder per PipelineRun, root-owned like a fresh volume; with
 *   podTemplate.securityContext.fsGroup, group-owned and setgid as the
 *   kubelet leaves it), secret and configMap (the kubelet's `..data` layout,
 *   read-only);
 * - Pipeline results, from the task results they name.
 *
 * Anything else (when expressions, retries, matrix, timeouts, parallel
 * scheduling) throws or is not emulated: tasks run one at a time.
 */
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyDir } from './container.ts';
import type { TaskRunOutcome, WorkspaceVolume } from './task-run.ts';
import { applyArrayReplacements, applyReplacements, paramPass, type ReplacementPass } from './tekton-substitution.ts';

type Doc = Record<string, any>;

function unsupported(what: string): never {
  throw new Error(`the run uses ${what}, which the chroot harness does not emulate`);
}

/** A Secret or ConfigMap volume as the kubelet writes it: ..<timestamp>/ with the files, ..data -> it, key -> ..data/key. */
async function projectedVolume(path: string, files: Record<string, Buffer>): Promise<string> {
  const stamp = '..2024_01_01_00_00_00.000000001';
  await mkdir(join(path, stamp), { recursive: true, mode: 0o755 });
  for (const [key, content] of Object.entries(files)) {
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new Error(`key ${key} is not a valid Secret or ConfigMap key`);
    await writeFile(join(path, stamp, key), content, { mode: 0o644 });
    await chmod(join(path, stamp, key), 0o644);
  }
  await symlink(stamp, join(path, '..data'));
  for (const key of Object.keys(files)) await symlink(join('..data', key), join(path, key));
  await chmod(join(path, stamp), 0o755);
  // The volume itself is a tmpfs the kubelet makes sticky and world-writable; the mount is read-only anyway.
  await chmod(path, 0o1777);
  return path;
}

function secretFiles(doc: Doc): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(doc.data ?? {})) files[key] = Buffer.from(String(value), 'base64');
  for (const [key, value] of Object.entries(doc.stringData ?? {})) files[key] = Buffer.from(String(value), 'utf8');
  return files;
}

function configMapFiles(doc: Doc): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(doc.data ?? {})) files[key] = Buffer.from(String(value), 'utf8');
  for (const [key, value] of Object.entries(doc.binaryData ?? {})) files[key] = Buffer.from(String(value), 'base64');
  return files;
}

/** Makes a run's workspace bindings real, under one root folder. */
export class WorkspaceBinder {
  private readonly root: string;
  private readonly secrets: Map<string, Doc>;
  private readonly configMaps: Map<string, Doc>;
  private count = 0;

  /** `documents`: the Secrets and ConfigMaps the bindings may name. */
  constructor(root: string, documents: readonly Doc[] = []) {
    this.root = root;
    this.secrets = new Map(documents.filter((doc) => doc.kind === 'Secret').map((doc) => [doc.metadata.name as string, doc]));
    this.configMaps = new Map(documents.filter((doc) => doc.kind === 'ConfigMap').map((doc) => [doc.metadata.name as string, doc]));
  }

  private next(label: string): string {
    return join(this.root, `${++this.count}-${label}`);
  }

  /** `shared` holds the folders a PipelineRun's volumeClaimTemplates made, by workspace name. */
  async bind(binding: Doc, fsGroup: number | undefined, shared: Map<string, WorkspaceVolume>): Promise<WorkspaceVolume> {
    const sub = (volume: WorkspaceVolume) => (binding.subPath ? { ...volume, source: join(volume.source, binding.subPath) } : volume);
    if (binding.emptyDir) {
      const source = await emptyDir(this.next(`emptydir-${binding.name}`));
      if (fsGroup !== undefined) await chown(source, 0, fsGroup);
      return { source };
    }
    if (binding.volumeClaimTemplate) {
      const existing = shared.get(binding.name);
      if (existing) return sub(existing);
      // A fresh volume's root belongs to root; with fsGroup the kubelet gives it to that group, setgid and group-writable.
      const source = this.next(`pvc-${binding.name}`);
      await mkdir(source, { recursive: true });
      await chown(source, 0, fsGroup ?? 0);
      await chmod(source, fsGroup === undefined ? 0o755 : 0o2775);
      const volume = { source, claimName: `pvc-${binding.name}-${randomUUID().slice(0, 8)}` };
      shared.set(binding.name, volume);
      return sub(volume);
    }
    if (binding.secret) {
      const doc = this.secrets.get(binding.secret.secretName);
      if (!doc) throw new Error(`Secret ${binding.secret.secretName} is not in the run's documents: the pod would not start`);
      if (binding.secret.items) unsupported('secret items');
      return { source: await projectedVolume(this.next(`secret-${binding.name}`), secretFiles(doc)), readOnly: true };
    }
    if (binding.configMap) {
      const doc = this.configMaps.get(binding.configMap.name);
      if (!doc) throw new Error(`ConfigMap ${binding.configMap.name} is not in the run's documents: the pod would not start`);
      if (binding.configMap.items) unsupported('configMap items');
      return { source: await projectedVolume(this.next(`configmap-${binding.name}`), configMapFiles(doc)), readOnly: true };
    }
    return unsupported(`a ${Object.keys(binding).filter((key) => key !== 'name').join('/')} workspace binding`);
  }
}

/** A pipeline task about to run: everything substituted, its workspaces bound. */
export interface PipelineTaskRun {
  pipelineTask: string;
  taskRunName: string;
  /** The taskRef with its resolver params substituted (bundle, name). */
  taskRef: Doc | undefined;
  params: Record<string, string | string[]>;
  workspaces: Record<string, WorkspaceVolume>;
  isFinally: boolean;
  namespace: string;
}

export interface PipelineRunInput {
  name: string;
  /** The Pipeline's spec (a pipelineSpec, or a Pipeline document's spec). */
  pipeline: Doc;
  /** The PipelineRun's spec: params, workspaces, taskRunTemplate. */
  run: Doc;
  namespace: string;
  binder: WorkspaceBinder;
  runTask(task: PipelineTaskRun): Promise<TaskRunOutcome>;
  /** Called after each TaskRun: a test may change a workspace there, as something outside the run would. */
  afterTask?(task: PipelineTaskRun, outcome: TaskRunOutcome): Promise<void>;
}

export interface PipelineRunOutcome {
  succeeded: boolean;
  /** One per TaskRun, in the order they ran. */
  taskRuns: (TaskRunOutcome & { pipelineTask: string })[];
  /** Tasks that never started because one before them failed. */
  skipped: string[];
  /** The Pipeline's results that could be resolved. */
  results: Record<string, string>;
}

export async function runPipeline(input: PipelineRunInput): Promise<PipelineRunOutcome> {
  const { pipeline, run, name, namespace } = input;
  const fsGroup = run.taskRunTemplate?.podTemplate?.securityContext?.fsGroup as number | undefined;
  const bindings = new Map<string, Doc>((run.workspaces ?? []).map((binding: Doc) => [binding.name, binding]));
  const shared = new Map<string, WorkspaceVolume>();
  const given = Object.fromEntries((run.params ?? []).map((param: Doc) => [param.name, param.value]));
  const params = paramPass(pipeline.params ?? [], given);
  const context: ReplacementPass = {
    strings: new Map([
      ['context.pipelineRun.name', name],
      ['context.pipelineRun.namespace', namespace],
      ['context.pipelineRun.uid', randomUUID()],
    ]),
    arrays: new Map(),
  };
  const taskResults: ReplacementPass = { strings: new Map(), arrays: new Map() };
  const passes = () => [params, context, taskResults];
  const substitute = (value: string | string[]): string | string[] => {
    if (Array.isArray(value)) return value.flatMap((item) => passes().reduce<string[]>((items, pass) => items.flatMap((text) => applyArrayReplacements(text, pass)), [item]));
    // A whole array reference as a string value becomes the array.
    for (const [key, values] of params.arrays) if (value === `$(${key})` || value === `$(${key}[*])`) return [...values];
    return passes().reduce((text, pass) => applyReplacements(text, pass.strings), value);
  };
  const resolved = (what: string, value: string | string[]) => {
    const left = (Array.isArray(value) ? value : [value]).find((item) => /\$\((params|context|tasks)\./.test(item));
    if (left !== undefined) throw new Error(`${what} still holds a variable after substitution (${left})`);
    return value;
  };
  const done = new Map<string, TaskRunOutcome>();
  const taskRuns: PipelineRunOutcome['taskRuns'] = [];
  const runPipelineTask = async (pipelineTask: Doc, isFinally: boolean) => {
    for (const field of ['when', 'retries', 'matrix', 'taskSpec', 'pipelineRef', 'pipelineSpec']) if (pipelineTask[field] !== undefined) unsupported(`pipeline task ${field}`);
    const taskParams: Record<string, string | string[]> = {};
    for (const param of pipelineTask.params ?? []) taskParams[param.name] = resolved(`pipeline task ${pipelineTask.name} param ${param.name}`, substitute(param.value));
    const taskRef = pipelineTask.taskRef
      ? {
          ...pipelineTask.taskRef,
          ...(pipelineTask.taskRef.params
            ? { params: pipelineTask.taskRef.params.map((param: Doc) => ({ ...param, value: resolved(`pipeline task ${pipelineTask.name} taskRef param ${param.name}`, substitute(param.value)) })) }
            : {}),
        }
      : undefined;
    const workspaces: Record<string, WorkspaceVolume> = {};
    for (const usage of pipelineTask.workspaces ?? []) {
      const binding = bindings.get(usage.workspace);
      if (!binding) throw new Error(`pipeline workspace ${usage.workspace} is not bound by the PipelineRun`);
      workspaces[usage.name] = await input.binder.bind({ ...binding, ...(usage.subPath ? { subPath: usage.subPath } : {}) }, fsGroup, shared);
    }
    const task: PipelineTaskRun = { pipelineTask: pipelineTask.name, taskRunName: `${name}-${pipelineTask.name}`, taskRef, params: taskParams, workspaces, isFinally, namespace };
    const outcome = await input.runTask(task);
    for (const [result, value] of Object.entries(outcome.results)) taskResults.strings.set(`tasks.${pipelineTask.name}.results.${result}`, value);
    done.set(pipelineTask.name, outcome);
    taskRuns.push({ ...outcome, pipelineTask: pipelineTask.name });
    await input.afterTask?.(task, outcome);
    return outcome;
  };
  const dependencies = (pipelineTask: Doc): string[] => {
    const text = JSON.stringify(pipelineTask.params ?? []);
    const used = [...text.matchAll(/\$\(tasks\.([a-z0-9-]+)\.results\./g)].map((match) => match[1]!);
    return [...new Set([...(pipelineTask.runAfter ?? []), ...used])];
  };
  const pending = [...(pipeline.tasks ?? [])];
  let failed = false;
  while (pending.length > 0 && !failed) {
    const ready = pending.findIndex((pipelineTask) => dependencies(pipelineTask).every((dependency) => done.has(dependency)));
    if (ready < 0) throw new Error(`PipelineRun ${name}: the remaining tasks wait on each other or on tasks that do not exist`);
    const [pipelineTask] = pending.splice(ready, 1);
    if (!(await runPipelineTask(pipelineTask, false)).succeeded) failed = true;
  }
  for (const pipelineTask of pipeline.finally ?? []) if (!(await runPipelineTask(pipelineTask, true)).succeeded) failed = true;
  const results: Record<string, string> = {};
  for (const result of pipeline.results ?? []) {
    const value = applyReplacements(String(result.value), taskResults.strings);
    if (!value.includes('$(')) results[result.name] = value;
  }
  return { succeeded: !failed && pending.length === 0, taskRuns, skipped: pending.map((task) => task.name as string), results };
}
