import { z } from 'zod';

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

const nonEmpty = z.string().min(1);

/** A param value: Tekton's string, array or object (string map) value. */
export const ParamValueSchema = z.union([z.string(), z.array(z.string()), z.record(z.string(), z.string())], {
  error: 'must be a string, a list of strings or a mapping of strings (quote numbers and booleans in YAML)',
});
export type ParamValue = z.infer<typeof ParamValueSchema>;

export const ParamTypeSchema = z.enum(['string', 'array', 'object']);

export const ParamSpecSchema = z
  .object({
    name: nonEmpty,
    type: ParamTypeSchema.optional(),
    description: z.string().optional(),
    properties: z.record(z.string(), z.looseObject({ type: z.literal('string').optional() })).optional(),
    default: ParamValueSchema.optional(),
    enum: z.array(z.string()).optional(),
  })
  .loose();

export const ParamSchema = z.object({ name: nonEmpty, value: ParamValueSchema }).loose();

export const WorkspaceDeclarationSchema = z
  .object({
    name: nonEmpty,
    description: z.string().optional(),
    mountPath: z.string().optional(),
    readOnly: z.boolean().optional(),
    optional: z.boolean().optional(),
  })
  .loose();

export const TaskResultSchema = z
  .object({
    name: nonEmpty,
    type: ParamTypeSchema.optional(),
    description: z.string().optional(),
    properties: z.record(z.string(), z.looseObject({ type: z.literal('string').optional() })).optional(),
    /** Only StepActions and step-level results may set a value source. */
    value: z.unknown().optional(),
  })
  .loose();

const EnvVarSchema = z
  .object({
    name: nonEmpty,
    value: z.string().optional(),
    valueFrom: z.looseObject({}).optional(),
  })
  .loose();

const ResourceListSchema = z.record(z.string(), z.union([z.string(), z.number()]));
const ResourceRequirementsSchema = z
  .object({ requests: ResourceListSchema.optional(), limits: ResourceListSchema.optional() })
  .loose();

export const SecurityContextSchema = z
  .object({
    runAsNonRoot: z.boolean().optional(),
    runAsUser: z.number().int().optional(),
    runAsGroup: z.number().int().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    privileged: z.boolean().optional(),
    capabilities: z.object({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).loose().optional(),
    seccompProfile: z
      .object({ type: z.enum(['RuntimeDefault', 'Localhost', 'Unconfined']), localhostProfile: z.string().optional() })
      .loose()
      .optional(),
  })
  .loose();

const WorkspaceUsageSchema = z.object({ name: nonEmpty, mountPath: z.string().optional() }).loose();

/** Container fields a step, a stepTemplate and a sidecar share. */
const containerFields = {
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: z.array(EnvVarSchema).optional(),
  securityContext: SecurityContextSchema.optional(),
  volumeMounts: z.array(z.looseObject({ name: nonEmpty, mountPath: nonEmpty })).optional(),
};

export const StepSchema = z
  .object({
    name: z.string().optional(),
    displayName: z.string().optional(),
    ...containerFields,
    computeResources: ResourceRequirementsSchema.optional(),
    script: z.string().optional(),
    timeout: z.string().optional(),
    onError: z.enum(['continue', 'stopAndFail']).optional(),
    workspaces: z.array(WorkspaceUsageSchema).optional(),
    results: z.array(TaskResultSchema).optional(),
    /** A StepAction reference (then image/script come from the StepAction). */
    ref: z.looseObject({ name: z.string().optional(), resolver: z.string().optional() }).optional(),
    params: z.array(ParamSchema).optional(),
  })
  .loose();

export const StepTemplateSchema = z
  .object({ ...containerFields, computeResources: ResourceRequirementsSchema.optional() })
  .loose();

export const SidecarSchema = z
  .object({ name: z.string().optional(), ...containerFields, script: z.string().optional(), workspaces: z.array(WorkspaceUsageSchema).optional() })
  .loose();

export const TaskSpecSchema = z
  .object({
    description: z.string().optional(),
    displayName: z.string().optional(),
    params: z.array(ParamSpecSchema).optional(),
    workspaces: z.array(WorkspaceDeclarationSchema).optional(),
    results: z.array(TaskResultSchema).optional(),
    steps: z.array(StepSchema).min(1, 'a Task needs at least one step'),
    stepTemplate: StepTemplateSchema.optional(),
    sidecars: z.array(SidecarSchema).optional(),
    volumes: z.array(z.looseObject({ name: nonEmpty })).optional(),
  })
  .loose();

export const ObjectMetaSchema = z
  .object({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

/** A named top-level resource: a Task or Pipeline must have metadata.name. */
const NamedMetaSchema = ObjectMetaSchema.extend({ name: nonEmpty });

/** A run may use generateName instead of name. */
const RunMetaSchema = ObjectMetaSchema.refine((meta) => meta.name !== undefined || meta.generateName !== undefined, {
  message: 'needs metadata.name or metadata.generateName',
});

const apiVersion = (...versions: string[]) => z.enum(versions.map((v) => `${TEKTON_GROUP}/${v}`) as [string, ...string[]]);

export const TaskSchema = z
  .object({
    apiVersion: apiVersion('v1', 'v1beta1'),
    kind: z.literal('Task'),
    metadata: NamedMetaSchema,
    spec: TaskSpecSchema,
  })
  .loose();

export const TaskRefSchema = z
  .object({
    name: z.string().optional(),
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    resolver: z.string().optional(),
    params: z.array(ParamSchema).optional(),
    bundle: z.string().optional(),
  })
  .loose();

export const WhenExpressionSchema = z
  .object({
    input: z.string().optional(),
    operator: z.enum(['in', 'notin']).optional(),
    values: z.array(z.string()).optional(),
    cel: z.string().optional(),
  })
  .loose();

export const WorkspaceBindingRefSchema = z
  .object({ name: nonEmpty, workspace: z.string().optional(), subPath: z.string().optional() })
  .loose();

/** An embedded taskSpec: a Task spec, or a custom task's spec when apiVersion/kind are set. */
export const EmbeddedTaskSchema = TaskSpecSchema.extend({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.looseObject({}).optional(),
  steps: z.array(StepSchema).optional(),
}).loose();

export const PipelineTaskSchema = z
  .object({
    name: nonEmpty,
    displayName: z.string().optional(),
    description: z.string().optional(),
    taskRef: TaskRefSchema.optional(),
    taskSpec: EmbeddedTaskSchema.optional(),
    pipelineRef: z.looseObject({}).optional(),
    pipelineSpec: z.looseObject({}).optional(),
    when: z.array(WhenExpressionSchema).optional(),
    runAfter: z.array(nonEmpty).optional(),
    retries: z.number().int().min(0).optional(),
    params: z.array(ParamSchema).optional(),
    matrix: z
      .object({ params: z.array(ParamSchema).optional(), include: z.array(z.looseObject({ params: z.array(ParamSchema).optional() })).optional() })
      .loose()
      .optional(),
    workspaces: z.array(WorkspaceBindingRefSchema).optional(),
    timeout: z.string().optional(),
    onError: z.enum(['continue', 'stopAndFail']).optional(),
  })
  .loose();

export const PipelineResultSchema = z
  .object({ name: nonEmpty, type: ParamTypeSchema.optional(), description: z.string().optional(), value: ParamValueSchema })
  .loose();

export const PipelineSpecSchema = z
  .object({
    description: z.string().optional(),
    displayName: z.string().optional(),
    params: z.array(ParamSpecSchema).optional(),
    workspaces: z.array(z.object({ name: nonEmpty, description: z.string().optional(), optional: z.boolean().optional() }).loose()).optional(),
    tasks: z.array(PipelineTaskSchema).min(1, 'a Pipeline needs at least one task'),
    finally: z.array(PipelineTaskSchema).optional(),
    results: z.array(PipelineResultSchema).optional(),
  })
  .loose();

export const PipelineSchema = z
  .object({
    apiVersion: apiVersion('v1', 'v1beta1'),
    kind: z.literal('Pipeline'),
    metadata: NamedMetaSchema,
    spec: PipelineSpecSchema,
  })
  .loose();

/** How a run binds a workspace to storage. */
export const WorkspaceBindingSchema = z
  .object({
    name: nonEmpty,
    subPath: z.string().optional(),
    emptyDir: z.looseObject({}).optional(),
    persistentVolumeClaim: z.looseObject({ claimName: nonEmpty }).optional(),
    volumeClaimTemplate: z.looseObject({}).optional(),
    configMap: z.looseObject({}).optional(),
    secret: z.looseObject({}).optional(),
    projected: z.looseObject({}).optional(),
    csi: z.looseObject({}).optional(),
  })
  .loose();

const podTemplate = z.looseObject({ securityContext: z.looseObject({}).optional() });

export const TaskRunSpecSchema = z
  .object({
    taskRef: TaskRefSchema.optional(),
    taskSpec: TaskSpecSchema.optional(),
    params: z.array(ParamSchema).optional(),
    serviceAccountName: z.string().optional(),
    workspaces: z.array(WorkspaceBindingSchema).optional(),
    timeout: z.string().optional(),
    podTemplate: podTemplate.optional(),
    retries: z.number().int().min(0).optional(),
  })
  .loose()
  .refine((spec) => (spec.taskRef === undefined) !== (spec.taskSpec === undefined), {
    message: 'needs exactly one of taskRef and taskSpec',
  });

export const TaskRunSchema = z
  .object({
    apiVersion: apiVersion('v1', 'v1beta1'),
    kind: z.literal('TaskRun'),
    metadata: RunMetaSchema,
    spec: TaskRunSpecSchema,
  })
  .loose();

export const PipelineRunSpecSchema = z
  .object({
    pipelineRef: z.looseObject({ name: z.string().optional(), resolver: z.string().optional(), params: z.array(ParamSchema).optional() }).optional(),
    pipelineSpec: PipelineSpecSchema.optional(),
    params: z.array(ParamSchema).optional(),
    workspaces: z.array(WorkspaceBindingSchema).optional(),
    taskRunTemplate: z.looseObject({ serviceAccountName: z.string().optional(), podTemplate: podTemplate.optional() }).optional(),
    timeouts: z
      .object({ pipeline: z.string().optional(), tasks: z.string().optional(), finally: z.string().optional() })
      .loose()
      .optional(),
    taskRunSpecs: z.array(z.looseObject({ pipelineTaskName: nonEmpty })).optional(),
  })
  .loose()
  .refine((spec) => (spec.pipelineRef === undefined) !== (spec.pipelineSpec === undefined), {
    message: 'needs exactly one of pipelineRef and pipelineSpec',
  });

export const PipelineRunSchema = z
  .object({
    apiVersion: apiVersion('v1', 'v1beta1'),
    kind: z.literal('PipelineRun'),
    metadata: RunMetaSchema,
    spec: PipelineRunSpecSchema,
  })
  .loose();

export const StepActionSpecSchema = z
  .object({
    description: z.string().optional(),
    ...containerFields,
    image: nonEmpty,
    script: z.string().optional(),
    params: z.array(ParamSpecSchema).optional(),
    results: z.array(TaskResultSchema).optional(),
  })
  .loose();

export const StepActionSchema = z
  .object({
    apiVersion: apiVersion('v1alpha1', 'v1beta1'),
    kind: z.literal('StepAction'),
    metadata: NamedMetaSchema,
    spec: StepActionSpecSchema,
  })
  .loose();

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
export function modelFor(kind: unknown): z.ZodType<TektonDocument> | undefined {
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
