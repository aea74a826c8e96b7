/**
 * Runs a Task version's tests/run.yaml (TEP-0003) in the chroot harness, as
 * a cluster would after `kubectl apply -f <task>.yaml` and
 * `kubectl create -f tests/run.yaml`: TaskRuns and PipelineRuns (with an
 * embedded pipelineSpec) of the Task beside it, with the Secrets and
 * ConfigMaps the file defines. Each TaskRun runs through task-run.ts.
 *
 * PipelineRuns (with an embedded pipelineSpec) run through pipeline-run.ts,
 * which says what of Tekton's pipeline behaviour the harness emulates; a
 * pipelineRef or any field it does not emulate throws: the harness only
 * claims what it emulates.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import type { CatalogTaskSpec } from './catalog-task.ts';
import { runPipeline, WorkspaceBinder } from './pipeline-run.ts';
import { ImageCache, runTaskRun, type TaskRunOutcome, type WorkspaceVolume } from './task-run.ts';

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

export async function runRunYaml(options: RunYamlOptions): Promise<RunYamlOutcome[]> {
  const documents = parseAllDocuments(await readFile(options.file, 'utf8')).map((doc) => doc.toJS() as Doc);
  const task = await taskBeside(options.file);
  const namespace = options.namespace ?? NAMESPACE;
  const work = await mkdtemp(join(tmpdir(), 'run-yaml-'));
  const binder = new WorkspaceBinder(work, documents);
  try {
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
        for (const binding of spec.workspaces ?? []) workspaces[binding.name] = await binder.bind(binding, fsGroup, new Map());
        const params = Object.fromEntries((spec.params ?? []).map((param: Doc) => [param.name, param.value]));
        const outcome = await runTask(name, spec.taskRef, params, workspaces);
        outcomes.push({ kind: 'TaskRun', name, succeeded: outcome.succeeded, taskRuns: [outcome] });
      } else if (doc.kind === 'PipelineRun') {
        const spec = doc.spec ?? {};
        const outcome = await runPipeline({
          name,
          pipeline: spec.pipelineSpec ?? unsupported('pipelineRef'),
          run: spec,
          namespace,
          binder,
          runTask: (pipelineTask) => runTask(pipelineTask.taskRunName, pipelineTask.taskRef, pipelineTask.params, pipelineTask.workspaces),
        });
        outcomes.push({ kind: 'PipelineRun', name, succeeded: outcome.succeeded, taskRuns: outcome.taskRuns });
      } else {
        unsupported(`a ${doc.kind}`);
      }
    }
    return outcomes;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
