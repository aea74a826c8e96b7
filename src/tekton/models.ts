import * as z from '../zod.ts';

/**
 * zod models of the Tekton resources the catalog emits and reads.
 *
 * Fields we model are typed strictly enough to catch our own mistakes
 * (wrong types, unknown enum values, missing steps). Objects are loose:
 * real-world YAML carries fields we do not model (container fields, newer
 * or older Tekton fields), and whether those are allowed at all is the CRD
 * layer's job (`crd-schema.ts`), which knows every field the API server
 * accepts. v1beta1 documents are read with the same models: the shapes we
 * check did not change between v1beta1 and v1, and v1beta1-only fields
 * (e.g. a step's `resources`) pass through.
 */

export const TEKTON_GROUP = 'tekton.dev';

const nonEmpty = z.string().check(z.minLength(1));

/** A param value: Tekton's string, array or object (string map) value. */
export const ParamValueSchema = z.union([z.string(), z.array(z.string()), z.record(z.string(), z.string())], {
  error: 'must be a string, a list of strings or a mapping of strings (quote numbers and booleans in YAML)',
});
export type ParamValue = z.infer<typeof ParamValueSchema>;

export const ParamTypeSchema = z.enum(['string', 'array', 'object']);

export const ParamSpecSchema = z.looseObject({
  name: nonEmpty,
  type: z.optional(ParamTypeSchema),
  description: z.optional(z.string()),
  properties: z.optional(z.record(z.string(), z.looseObject({ type: z.optional(z.literal('string')) }))),
  default: z.optional(ParamValueSchema),
  enum: z.optional(z.array(z.string())),
});

export const ParamSchema = z.looseObject({ name: nonEmpty, value: ParamValueSchema });

export const WorkspaceDeclarationSchema = z.looseObject({
  name: nonEmpty,
  description: z.optional(z.string()),
  mountPath: z.optional(z.string()),
  readOnly: z.optional(z.boolean()),
  optional: z.optional(z.boolean()),
});

export const TaskResultSchema = z.looseObject({
  name: nonEmpty,
  type: z.optional(ParamTypeSchema),
  description: z.optional(z.string()),
  properties: z.optional(z.record(z.string(), z.looseObject({ type: z.optional(z.literal('string')) }))),
  /** Only StepActions and step-level results may set a value source. */
  value: z.optional(z.unknown()),
});

const EnvVarSchema = z.looseObject({
  name: nonEmpty,
  value: z.optional(z.string()),
  valueFrom: z.optional(z.looseObject({})),
});

const ResourceListSchema = z.record(z.string(), z.union([z.string(), z.number()]));
const ResourceRequirementsSchema = z.looseObject({ requests: z.optional(ResourceListSchema), limits: z.optional(ResourceListSchema) });

export const SecurityContextSchema = z.looseObject({
  runAsNonRoot: z.optional(z.boolean()),
  runAsUser: z.optional(z.int()),
  runAsGroup: z.optional(z.int()),
  readOnlyRootFilesystem: z.optional(z.boolean()),
  allowPrivilegeEscalation: z.optional(z.boolean()),
  privileged: z.optional(z.boolean()),
  capabilities: z.optional(z.looseObject({ add: z.optional(z.array(z.string())), drop: z.optional(z.array(z.string())) })),
  seccompProfile: z.optional(z.looseObject({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']), localhostProfile: z.optional(z.string()) })),
});

const WorkspaceUsageSchema = z.looseObject({ name: nonEmpty, mountPath: z.optional(z.string()) });

/** Container fields a step, a stepTemplate and a sidecar share. */
const containerFields = {
  image: z.optional(z.string()),
  command: z.optional(z.array(z.string())),
  args: z.optional(z.array(z.string())),
  workingDir: z.optional(z.string()),
  env: z.optional(z.array(EnvVarSchema)),
  securityContext: z.optional(SecurityContextSchema),
  volumeMounts: z.optional(z.array(z.looseObject({ name: nonEmpty, mountPath: nonEmpty }))),
};

export const StepSchema = z.looseObject({
  name: z.optional(z.string()),
  displayName: z.optional(z.string()),
  ...containerFields,
  computeResources: z.optional(ResourceRequirementsSchema),
  script: z.optional(z.string()),
  timeout: z.optional(z.string()),
  onError: z.optional(z.enum(['continue', 'stopAndFail'])),
  workspaces: z.optional(z.array(WorkspaceUsageSchema)),
  results: z.optional(z.array(TaskResultSchema)),
  /** A StepAction reference (then image/script come from the StepAction). */
  ref: z.optional(z.looseObject({ name: z.optional(z.string()), resolver: z.optional(z.string()) })),
  params: z.optional(z.array(ParamSchema)),
});

export const StepTemplateSchema = z.looseObject({ ...containerFields, computeResources: z.optional(ResourceRequirementsSchema) });

export const SidecarSchema = z.looseObject({
  name: z.optional(z.string()),
  ...containerFields,
  script: z.optional(z.string()),
  workspaces: z.optional(z.array(WorkspaceUsageSchema)),
});

export const TaskSpecSchema = z.looseObject({
  description: z.optional(z.string()),
  displayName: z.optional(z.string()),
  params: z.optional(z.array(ParamSpecSchema)),
  workspaces: z.optional(z.array(WorkspaceDeclarationSchema)),
  results: z.optional(z.array(TaskResultSchema)),
  steps: z.array(StepSchema).check(z.minLength(1, 'a Task needs at least one step')),
  stepTemplate: z.optional(StepTemplateSchema),
  sidecars: z.optional(z.array(SidecarSchema)),
  volumes: z.optional(z.array(z.looseObject({ name: nonEmpty }))),
});

export const ObjectMetaSchema = z.looseObject({
  name: z.optional(z.string()),
  generateName: z.optional(z.string()),
  namespace: z.optional(z.string()),
  labels: z.optional(z.record(z.string(), z.string())),
  annotations: z.optional(z.record(z.string(), z.string())),
});

/** A named top-level resource: a Task or Pipeline must have metadata.name. */
const NamedMetaSchema = z.extend(ObjectMetaSchema, { name: nonEmpty });

/** A run may use generateName instead of name. */
const RunMetaSchema = ObjectMetaSchema.check(
  z.refine((meta) => meta.name !== undefined || meta.generateName !== undefined, {
    message: 'needs metadata.name or metadata.generateName',
  }),
);

const apiVersion = (...versions: string[]) => z.enum(versions.map((v) => `${TEKTON_GROUP}/${v}`) as [string, ...string[]]);

export const TaskSchema = z.looseObject({
  apiVersion: apiVersion('v1', 'v1beta1'),
  kind: z.literal('Task'),
  metadata: NamedMetaSchema,
  spec: TaskSpecSchema,
});

export const TaskRefSchema = z.looseObject({
  name: z.optional(z.string()),
  kind: z.optional(z.string()),
  apiVersion: z.optional(z.string()),
  resolver: z.optional(z.string()),
  params: z.optional(z.array(ParamSchema)),
  bundle: z.optional(z.string()),
});

export const WhenExpressionSchema = z.looseObject({
  input: z.optional(z.string()),
  operator: z.optional(z.enum(['in', 'notin'])),
  values: z.optional(z.array(z.string())),
  cel: z.optional(z.string()),
});

export const WorkspaceBindingRefSchema = z.looseObject({ name: nonEmpty, workspace: z.optional(z.string()), subPath: z.optional(z.string()) });

/** An embedded taskSpec: a Task spec, or a custom task's spec when apiVersion/kind are set. */
export const EmbeddedTaskSchema = z.extend(TaskSpecSchema, {
  apiVersion: z.optional(z.string()),
  kind: z.optional(z.string()),
  metadata: z.optional(z.looseObject({})),
  steps: z.optional(z.array(StepSchema)),
});

export const PipelineTaskSchema = z.looseObject({
  name: nonEmpty,
  displayName: z.optional(z.string()),
  description: z.optional(z.string()),
  taskRef: z.optional(TaskRefSchema),
  taskSpec: z.optional(EmbeddedTaskSchema),
  pipelineRef: z.optional(z.looseObject({})),
  pipelineSpec: z.optional(z.looseObject({})),
  when: z.optional(z.array(WhenExpressionSchema)),
  runAfter: z.optional(z.array(nonEmpty)),
  retries: z.optional(z.int().check(z.gte(0))),
  params: z.optional(z.array(ParamSchema)),
  matrix: z.optional(
    z.looseObject({ params: z.optional(z.array(ParamSchema)), include: z.optional(z.array(z.looseObject({ params: z.optional(z.array(ParamSchema)) }))) }),
  ),
  workspaces: z.optional(z.array(WorkspaceBindingRefSchema)),
  timeout: z.optional(z.string()),
  onError: z.optional(z.enum(['continue', 'stopAndFail'])),
});

export const PipelineResultSchema = z.looseObject({
  name: nonEmpty,
  type: z.optional(ParamTypeSchema),
  description: z.optional(z.string()),
  value: ParamValueSchema,
});

export const PipelineSpecSchema = z.looseObject({
  description: z.optional(z.string()),
  displayName: z.optional(z.string()),
  params: z.optional(z.array(ParamSpecSchema)),
  workspaces: z.optional(z.array(z.looseObject({ name: nonEmpty, description: z.optional(z.string()), optional: z.optional(z.boolean()) }))),
  tasks: z.array(PipelineTaskSchema).check(z.minLength(1, 'a Pipeline needs at least one task')),
  finally: z.optional(z.array(PipelineTaskSchema)),
  results: z.optional(z.array(PipelineResultSchema)),
});

export const PipelineSchema = z.looseObject({
  apiVersion: apiVersion('v1', 'v1beta1'),
  kind: z.literal('Pipeline'),
  metadata: NamedMetaSchema,
  spec: PipelineSpecSchema,
});

/** How a run binds a workspace to storage. */
export const WorkspaceBindingSchema = z.looseObject({
  name: nonEmpty,
  subPath: z.optional(z.string()),
  emptyDir: z.optional(z.looseObject({})),
  persistentVolumeClaim: z.optional(z.looseObject({ claimName: nonEmpty })),
  volumeClaimTemplate: z.optional(z.looseObject({})),
  configMap: z.optional(z.looseObject({})),
  secret: z.optional(z.looseObject({})),
  projected: z.optional(z.looseObject({})),
  csi: z.optional(z.looseObject({})),
});

const podTemplate = z.looseObject({ securityContext: z.optional(z.looseObject({})) });

export const TaskRunSpecSchema = z
  .looseObject({
    taskRef: z.optional(TaskRefSchema),
    taskSpec: z.optional(TaskSpecSchema),
    params: z.optional(z.array(ParamSchema)),
    serviceAccountName: z.optional(z.string()),
    workspaces: z.optional(z.array(WorkspaceBindingSchema)),
    timeout: z.optional(z.string()),
    podTemplate: z.optional(podTemplate),
    retries: z.optional(z.int().check(z.gte(0))),
  })
  .check(
    z.refine((spec) => (spec.taskRef === undefined) !== (spec.taskSpec === undefined), {
      message: 'needs exactly one of taskRef and taskSpec',
    }),
  );

export const TaskRunSchema = z.looseObject({
  apiVersion: apiVersion('v1', 'v1beta1'),
  kind: z.literal('TaskRun'),
  metadata: RunMetaSchema,
  spec: TaskRunSpecSchema,
});

export const PipelineRunSpecSchema = z
  .looseObject({
    pipelineRef: z.optional(z.looseObject({ name: z.optional(z.string()), resolver: z.optional(z.string()), params: z.optional(z.array(ParamSchema)) })),
    pipelineSpec: z.optional(PipelineSpecSchema),
    params: z.optional(z.array(ParamSchema)),
    workspaces: z.optional(z.array(WorkspaceBindingSchema)),
    taskRunTemplate: z.optional(z.looseObject({ serviceAccountName: z.optional(z.string()), podTemplate: z.optional(podTemplate) })),
    timeouts: z.optional(z.looseObject({ pipeline: z.optional(z.string()), tasks: z.optional(z.string()), finally: z.optional(z.string()) })),
    taskRunSpecs: z.optional(z.array(z.looseObject({ pipelineTaskName: nonEmpty }))),
  })
  .check(
    z.refine((spec) => (spec.pipelineRef === undefined) !== (spec.pipelineSpec === undefined), {
      message: 'needs exactly one of pipelineRef and pipelineSpec',
    }),
  );

export const PipelineRunSchema = z.looseObject({
  apiVersion: apiVersion('v1', 'v1beta1'),
  kind: z.literal('PipelineRun'),
  metadata: RunMetaSchema,
  spec: PipelineRunSpecSchema,
});

export const StepActionSpecSchema = z.looseObject({
  description: z.optional(z.string()),
  ...containerFields,
  image: nonEmpty,
  script: z.optional(z.string()),
  params: z.optional(z.array(ParamSpecSchema)),
  results: z.optional(z.array(TaskResultSchema)),
});

export const StepActionSchema = z.looseObject({
  apiVersion: apiVersion('v1alpha1', 'v1beta1'),
  kind: z.literal('StepAction'),
  metadata: NamedMetaSchema,
  spec: StepActionSpecSchema,
});

export type TektonParamSpec = z.infer<typeof ParamSpecSchema>;
export type TektonParam = z.infer<typeof ParamSchema>;
export type TektonStep = z.infer<typeof StepSchema>;
export type TektonSecurityContext = z.infer<typeof SecurityContextSchema>;
export type TektonTaskSpec = z.infer<typeof TaskSpecSchema>;
export type TektonTask = z.infer<typeof TaskSchema>;
export type TektonPipelineTask = z.infer<typeof PipelineTaskSchema>;
export type TektonPipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type TektonPipeline = z.infer<typeof PipelineSchema>;
export type TektonTaskRun = z.infer<typeof TaskRunSchema>;
export type TektonPipelineRun = z.infer<typeof PipelineRunSchema>;
export type TektonStepAction = z.infer<typeof StepActionSchema>;
export type TektonDocument = TektonTask | TektonPipeline | TektonTaskRun | TektonPipelineRun | TektonStepAction;

export const TEKTON_KINDS = ['Task', 'Pipeline', 'TaskRun', 'PipelineRun', 'StepAction'] as const;
export type TektonKind = (typeof TEKTON_KINDS)[number];

/** The model for a kind; undefined for a kind we do not model. */
export function modelFor(kind: unknown): z.ZodMiniType<TektonDocument> | undefined {
  switch (kind) {
    case 'Task':
      return TaskSchema;
    case 'Pipeline':
      return PipelineSchema;
    case 'TaskRun':
      return TaskRunSchema;
    case 'PipelineRun':
      return PipelineRunSchema;
    case 'StepAction':
      return StepActionSchema;
    default:
      return undefined;
  }
}
