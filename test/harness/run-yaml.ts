/**
 * Runs a Task version's tests/run.yaml (TEP-0003) in the chroot harness, as
 * a cluster would after `kubectl apply -f <task>.yaml` and
 * `kubectl create -f tests/run.yaml`: TaskRuns and PipelineRuns (with an
 * embedded pipelineSpec) of the Task beside it, with the Secrets and
 * ConfigMaps the file defines. Each TaskRun runs through task-run.ts.
 *
 * Pipeline-level behaviour emulated (tektoncd/pipeline docs/pipelines.md,
 * docs/variables.md): $(params.x) of the PipelineRun (arrays expand as
 * whole elements), $(context.pipelineRun.{name,namespace,uid}),
 * $(tasks.<t>.results.<r>); tasks run after their runAfter and the tasks
 * whose results they use; when a task fails the others are not started and
 * `finally` tasks still run. Workspaces: emptyDir (a new one per TaskRun,
 * as Tekton gives every TaskRun its own pod), volumeClaimTemplate (one
 * folder per PipelineRun, root-owned like a fresh volume; with
 * podTemplate.securityContext.fsGroup, group-owned and group-writable as the
 * kubelet leaves it), secret and configMap (the kubelet's layout: key
 * symlinks into a ..data folder, files 0644, mounted read-only). Anything
 * else (when expressions, retries, matrix, persistentVolumeClaim,
 * pipelineRef) throws: the harness only claims what it emulates.
 */
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import type { CatalogTaskSpec } from './catalog-task.ts';
import { emptyDir } from './container.ts';
import { ImageCache, runTaskRun, type TaskRunOutcome, type WorkspaceVolume } from './task-run.ts';
import { applyArrayReplacements, applyReplacements, paramPass, type ReplacementPass } from './tekton-substitution.ts';

type Doc = Record<string, any>;

export interface RunYamlOutcome {
  kind: 'TaskRun' | 'PipelineRun';
  name: string;
  succeeded: boolean;
  /** One per TaskRun, in the order they ran; `pipelineTask` names the Pipeline task. */
  taskRuns: (TaskRunOutcome & { pipelineTask?: string })[];
}

export interface RunYamlOptions {
  /** catalog/task/<name>/<version>/tests/run.yaml of a built catalog. */
  file: string;
  images: ImageCache;
  network?: 'host' | 'none';
  namespace?: string;
}

const NAMESPACE = 'catalog-test';

/** The Task the run.yaml sits beside: catalog/task/<name>/<version>/<name>.yaml. */
async function taskBeside(file: string): Promise<{ name: string; spec: CatalogTaskSpec }> {
  const versionDir = dirname(dirname(file));
  const name = basename(dirname(versionDir));
  const task = parse(await readFile(join(versionDir, `${name}.yaml`), 'utf8')) as { metadata: { name: string }; spec: CatalogTaskSpec };
  return { name: task.metadata.name, spec: task.spec };
}

function unsupported(what: string): never {
  throw new Error(`run.yaml uses ${what}, which the chroot harness does not emulate`);
}

class Volumes {
  private readonly root: string;
  private count = 0;
  constructor(root: string) {
    this.root = root;
  }
  next(label: string): string {
    return join(this.root, `${++this.count}-${label}`);
  }
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

export async function runRunYaml(options: RunYamlOptions): Promise<RunYamlOutcome[]> {
  const documents = parseAllDocuments(await readFile(options.file, 'utf8')).map((doc) => doc.toJS() as Doc);
  const task = await taskBeside(options.file);
  const secrets = new Map(documents.filter((doc) => doc.kind === 'Secret').map((doc) => [doc.metadata.name as string, doc]));
  const configMaps = new Map(documents.filter((doc) => doc.kind === 'ConfigMap').map((doc) => [doc.metadata.name as string, doc]));
  const namespace = options.namespace ?? NAMESPACE;
  const work = await mkdtemp(join(tmpdir(), 'run-yaml-'));
  const volumes = new Volumes(work);
  try {
    /** A workspace binding of a run, made real; `shared` holds the PipelineRun's volumeClaimTemplate folders. */
    const bind = async (binding: Doc, fsGroup: number | undefined, shared: Map<string, WorkspaceVolume>): Promise<WorkspaceVolume> => {
      const sub = (volume: WorkspaceVolume) => (binding.subPath ? { ...volume, source: join(volume.source, binding.subPath) } : volume);
      if (binding.emptyDir) {
        const source = await emptyDir(volumes.next(`emptydir-${binding.name}`));
        if (fsGroup !== undefined) await chown(source, 0, fsGroup);
        return { source };
      }
      if (binding.volumeClaimTemplate) {
        const existing = shared.get(binding.name);
        if (existing) return sub(existing);
        // A fresh volume's root belongs to root; with fsGroup the kubelet gives it to that group, setgid and group-writable.
        const source = volumes.next(`pvc-${binding.name}`);
        await mkdir(source, { recursive: true });
        await chown(source, 0, fsGroup ?? 0);
        await chmod(source, fsGroup === undefined ? 0o755 : 0o2775);
        const volume = { source, claimName: `pvc-${binding.name}-${randomUUID().slice(0, 8)}` };
        shared.set(binding.name, volume);
        return sub(volume);
      }
      if (binding.secret) {
        const doc = secrets.get(binding.secret.secretName);
        if (!doc) throw new Error(`Secret ${binding.secret.secretName} is not in the run.yaml: the pod would not start`);
        if (binding.secret.items) unsupported('secret items');
        return { source: await projectedVolume(volumes.next(`secret-${binding.name}`), secretFiles(doc)), readOnly: true };
      }
      if (binding.configMap) {
        const doc = configMaps.get(binding.configMap.name);
        if (!doc) throw new Error(`ConfigMap ${binding.configMap.name} is not in the run.yaml: the pod would not start`);
        if (binding.configMap.items) unsupported('configMap items');
        return { source: await projectedVolume(volumes.next(`configmap-${binding.name}`), configMapFiles(doc)), readOnly: true };
      }
      return unsupported(`a ${Object.keys(binding).filter((key) => key !== 'name').join('/')} workspace binding`);
    };

    const runTask = async (name: string, taskRef: Doc | undefined, params: Record<string, string | string[]>, workspaces: Record<string, WorkspaceVolume>) => {
      if (taskRef?.name !== task.name || taskRef.resolver || (taskRef.kind && taskRef.kind !== 'Task')) {
        throw new Error(`${name}: the harness runs the Task beside this run.yaml (${task.name}) by taskRef.name only`);
      }
      return runTaskRun({
        taskName: task.name,
        spec: task.spec,
        params,
        workspaces,
        context: { taskRunName: name, namespace, uid: randomUUID(), taskName: task.name },
        images: options.images,
        ...(options.network ? { network: options.network } : {}),
      });
    };

    const outcomes: RunYamlOutcome[] = [];
    for (const doc of documents) {
      if (doc.kind === 'Secret' || doc.kind === 'ConfigMap') continue;
      const name: string = doc.metadata?.name ?? `${doc.metadata?.generateName ?? 'run-'}${randomUUID().slice(0, 5)}`;
      if (doc.kind === 'TaskRun') {
        const spec = doc.spec ?? {};
        if (spec.retries || spec.taskSpec) unsupported('retries or an embedded taskSpec');
        const fsGroup = spec.podTemplate?.securityContext?.fsGroup as number | undefined;
        const workspaces: Record<string, WorkspaceVolume> = {};
        for (const binding of spec.workspaces ?? []) workspaces[binding.name] = await bind(binding, fsGroup, new Map());
        const params = Object.fromEntries((spec.params ?? []).map((param: Doc) => [param.name, param.value]));
        const outcome = await runTask(name, spec.taskRef, params, workspaces);
        outcomes.push({ kind: 'TaskRun', name, succeeded: outcome.succeeded, taskRuns: [outcome] });
      } else if (doc.kind === 'PipelineRun') {
        outcomes.push(await runPipelineRun(doc, name));
      } else {
        unsupported(`a ${doc.kind}`);
      }
    }
    return outcomes;

    async function runPipelineRun(doc: Doc, name: string): Promise<RunYamlOutcome> {
      const spec = doc.spec ?? {};
      const pipeline = spec.pipelineSpec ?? unsupported('pipelineRef');
      const fsGroup = spec.taskRunTemplate?.podTemplate?.securityContext?.fsGroup as number | undefined;
      const bindings = new Map<string, Doc>((spec.workspaces ?? []).map((binding: Doc) => [binding.name, binding]));
      const shared = new Map<string, WorkspaceVolume>();
      const given = Object.fromEntries((spec.params ?? []).map((param: Doc) => [param.name, param.value]));
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
      const substitute = (value: string | string[]): string | string[] => {
        const passes = [params, context, taskResults];
        if (Array.isArray(value)) return value.flatMap((item) => passes.reduce<string[]>((items, pass) => items.flatMap((text) => applyArrayReplacements(text, pass)), [item]));
        return passes.reduce((text, pass) => applyReplacements(text, pass.strings), value);
      };
      const done = new Map<string, TaskRunOutcome>();
      const taskRuns: RunYamlOutcome['taskRuns'] = [];
      const runPipelineTask = async (pipelineTask: Doc) => {
        for (const field of ['when', 'retries', 'matrix', 'taskSpec', 'pipelineRef']) if (pipelineTask[field] !== undefined) unsupported(`pipeline task ${field}`);
        const taskParams: Record<string, string | string[]> = {};
        for (const param of pipelineTask.params ?? []) {
          const value = substitute(param.value);
          const left = (Array.isArray(value) ? value : [value]).find((item) => /\$\((params|context|tasks)\./.test(item));
          if (left !== undefined) throw new Error(`pipeline task ${pipelineTask.name}: ${param.name} still holds a variable after substitution (${left})`);
          taskParams[param.name] = value;
        }
        const workspaces: Record<string, WorkspaceVolume> = {};
        for (const usage of pipelineTask.workspaces ?? []) {
          const binding = bindings.get(usage.workspace);
          if (!binding) throw new Error(`pipeline workspace ${usage.workspace} is not bound by the PipelineRun`);
          const volume = await bind({ ...binding, ...(usage.subPath ? { subPath: usage.subPath } : {}) }, fsGroup, shared);
          workspaces[usage.name] = volume;
        }
        const outcome = await runTask(`${name}-${pipelineTask.name}`, pipelineTask.taskRef, taskParams, workspaces);
        for (const [result, value] of Object.entries(outcome.results)) taskResults.strings.set(`tasks.${pipelineTask.name}.results.${result}`, value);
        done.set(pipelineTask.name, outcome);
        taskRuns.push({ ...outcome, pipelineTask: pipelineTask.name });
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
        if (!(await runPipelineTask(pipelineTask)).succeeded) failed = true;
      }
      for (const pipelineTask of pipeline.finally ?? []) if (!(await runPipelineTask(pipelineTask)).succeeded) failed = true;
      return { kind: 'PipelineRun', name, succeeded: !failed && pending.length === 0, taskRuns };
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
