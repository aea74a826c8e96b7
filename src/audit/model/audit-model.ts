import {
  PipelineSpecSchema,
  type TektonPipelineSpec,
  type TektonPipelineTask,
  type TektonSecurityContext,
  type TektonTaskSpec,
} from '../../tekton/models.ts';
import type { Path } from '../input/source.ts';
import type { TaskCatalog } from './catalog.ts';
import type { AuditDocument } from './documents.ts';
import { TaskResolver, type Resolution } from './resolve.ts';

/**
 * The input seen the way the rules need it: every Task spec wherever it is
 * written (a Task, a TaskRun's taskSpec, a pipeline task's taskSpec, a
 * PipelineRun's pipelineSpec), every container with its stepTemplate
 * merged in, every Pipeline spec and every pipeline task with the Task it
 * resolves to.
 */

export interface TaskSite {
  doc: AuditDocument;
  path: Path;
  spec: TektonTaskSpec;
  /** For messages: "Task git-clone" or "Pipeline build, task compile". */
  label: string;
  pipelinesAsCode: boolean;
}

export type ContainerKind = 'step' | 'sidecar' | 'StepAction';

export interface ContainerSite {
  doc: AuditDocument;
  path: Path;
  kind: ContainerKind;
  /** The step's name, or `#<index>`. */
  name: string;
  task: TaskSite | undefined;
  image: string | undefined;
  /** Where the effective image is written (the step, or the stepTemplate it inherits). */
  imagePath: Path;
  script: string | undefined;
  command: string[] | undefined;
  args: string[] | undefined;
  /** The stepTemplate's securityContext with the container's own merged over it, field by field. */
  securityContext: TektonSecurityContext;
  limits: Record<string, string | number> | undefined;
  /** A step that runs a StepAction: image and script come from it; `resolved` when it is in the input. */
  stepAction: 'none' | 'resolved' | 'unresolved';
  pipelinesAsCode: boolean;
}

export interface PipelineSite {
  doc: AuditDocument;
  path: Path;
  spec: TektonPipelineSpec;
  label: string;
  pipelinesAsCode: boolean;
}

export interface PipelineTaskSite {
  pipeline: PipelineSite;
  path: Path;
  task: TektonPipelineTask;
  isFinally: boolean;
  resolution: Resolution;
}

type Container = {
  name?: string | undefined;
  image?: string | undefined;
  script?: string | undefined;
  command?: string[] | undefined;
  args?: string[] | undefined;
  securityContext?: TektonSecurityContext | undefined;
  computeResources?: { limits?: Record<string, string | number> | undefined } | undefined;
  resources?: unknown;
  ref?: { name?: string | undefined } | undefined;
};

function mergeSecurityContext(...layers: (TektonSecurityContext | undefined)[]): TektonSecurityContext {
  const out: TektonSecurityContext = {};
  for (const layer of layers) {
    if (!layer) continue;
    const capabilities = layer.capabilities ? { ...out.capabilities, ...layer.capabilities } : out.capabilities;
    Object.assign(out, layer);
    if (capabilities) out.capabilities = capabilities;
  }
  return out;
}

/** computeResources (v1), or the v1beta1 step's `resources`. */
function limitsOf(container: Container | undefined): Record<string, string | number> | undefined {
  const compute = container?.computeResources?.limits;
  const legacy = (container?.resources as { limits?: Record<string, string | number> } | undefined)?.limits;
  return compute ?? (legacy && typeof legacy === 'object' ? legacy : undefined);
}

export class AuditModel {
  readonly documents: readonly AuditDocument[];
  readonly resolver: TaskResolver;
  readonly tasks: TaskSite[] = [];
  readonly containers: ContainerSite[] = [];
  readonly pipelines: PipelineSite[] = [];
  readonly pipelineTasks: PipelineTaskSite[] = [];

  constructor(documents: readonly AuditDocument[], catalog: TaskCatalog) {
    this.documents = documents;
    this.resolver = new TaskResolver(documents, catalog);
    for (const doc of documents) {
      switch (doc.kind) {
        case 'Task':
          this.#addTask(doc, ['spec'], doc.data.spec, `Task ${doc.name}`, false);
          break;
        case 'TaskRun':
          if (doc.data.spec.taskSpec) this.#addTask(doc, ['spec', 'taskSpec'], doc.data.spec.taskSpec, `TaskRun ${doc.name}`, false);
          break;
        case 'Pipeline':
          this.#addPipeline(doc, ['spec'], doc.data.spec, `Pipeline ${doc.name}`, false);
          break;
        case 'PipelineRun':
          if (doc.data.spec.pipelineSpec) {
            this.#addPipeline(doc, ['spec', 'pipelineSpec'], doc.data.spec.pipelineSpec, `PipelineRun ${doc.name}`, doc.pipelinesAsCode);
          }
          break;
        case 'StepAction':
          this.#addContainer(doc, ['spec'], 'StepAction', doc.data.spec, undefined, undefined, false);
          break;
        default:
          break;
      }
    }
  }

  /** Documents of the given kinds. */
  ofKind<K extends AuditDocument['kind']>(...kinds: K[]): Extract<AuditDocument, { kind: K }>[] {
    return this.documents.filter((doc): doc is Extract<AuditDocument, { kind: K }> => (kinds as string[]).includes(doc.kind));
  }

  #addTask(doc: AuditDocument, path: Path, spec: TektonTaskSpec, label: string, pac: boolean): TaskSite {
    const site: TaskSite = { doc, path, spec, label, pipelinesAsCode: pac };
    this.tasks.push(site);
    const template = spec.stepTemplate;
    (spec.steps ?? []).forEach((step, i) => this.#addContainer(doc, [...path, 'steps', i], 'step', step, site, template, pac, i));
    (spec.sidecars ?? []).forEach((sidecar, i) => this.#addContainer(doc, [...path, 'sidecars', i], 'sidecar', sidecar, site, undefined, pac, i));
    return site;
  }

  #addContainer(
    doc: AuditDocument,
    path: Path,
    kind: ContainerKind,
    container: Container,
    task: TaskSite | undefined,
    template: Container | undefined,
    pac: boolean,
    index = 0,
  ): void {
    let stepAction: ContainerSite['stepAction'] = 'none';
    let action: Container | undefined;
    if (container.ref) {
      const found = container.ref.name ? this.resolver.localStepAction(container.ref.name, doc.source.file.name) : undefined;
      stepAction = found?.kind === 'StepAction' ? 'resolved' : 'unresolved';
      if (found?.kind === 'StepAction') action = found.data.spec;
    }
    const ownImage = container.image;
    const templatePath = task ? [...task.path, 'stepTemplate', 'image'] : path;
    this.containers.push({
      doc,
      path,
      kind,
      name: container.name ?? `#${index}`,
      task,
      image: ownImage ?? action?.image ?? template?.image,
      imagePath: ownImage !== undefined || !template?.image ? [...path, 'image'] : templatePath,
      script: container.script ?? action?.script,
      command: container.command ?? action?.command,
      args: container.args ?? action?.args,
      securityContext: mergeSecurityContext(template?.securityContext, action?.securityContext, container.securityContext),
      limits: limitsOf(container) ?? limitsOf(action) ?? limitsOf(template),
      stepAction,
      pipelinesAsCode: pac,
    });
  }

  #addPipeline(doc: AuditDocument, path: Path, spec: TektonPipelineSpec, label: string, pac: boolean, depth = 0): void {
    const site: PipelineSite = { doc, path, spec, label, pipelinesAsCode: pac };
    this.pipelines.push(site);
    const visit = (task: TektonPipelineTask, taskPath: Path, isFinally: boolean) => {
      let resolution: Resolution;
      if (task.taskSpec) {
        const embedded = task.taskSpec;
        if (embedded.steps && embedded.apiVersion === undefined && embedded.kind === undefined) {
          const taskSite = this.#addTask(doc, [...taskPath, 'taskSpec'], embedded as TektonTaskSpec, `${label}, task ${task.name}`, pac);
          resolution = { kind: 'embedded', spec: taskSite.spec, label: `the taskSpec of ${task.name}` };
        } else resolution = { kind: 'unresolved', reason: 'a custom task spec' };
      } else if (task.taskRef) {
        resolution = this.resolver.resolveTaskRef(task.taskRef, doc.source.file.name, (task.params ?? []).map((p) => p.name));
      } else {
        resolution = { kind: 'unresolved', reason: 'a Pipeline in a Pipeline' };
        const nested = task.pipelineSpec ? PipelineSpecSchema.safeParse(task.pipelineSpec) : undefined;
        if (nested?.success && depth < 8) this.#addPipeline(doc, [...taskPath, 'pipelineSpec'], nested.data, `${label}, pipeline ${task.name}`, pac, depth + 1);
      }
      this.pipelineTasks.push({ pipeline: site, path: taskPath, task, isFinally, resolution });
    };
    spec.tasks.forEach((task, i) => visit(task, [...path, 'tasks', i], false));
    (spec.finally ?? []).forEach((task, i) => visit(task, [...path, 'finally', i], true));
  }
}
