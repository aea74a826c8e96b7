import * as z from '../zod.ts';
import { ParamRuleSchema } from '../params/rules.ts';
import { ARTIFACT_HUB_CATEGORIES, MIN_PIPELINES_VERSION } from './catalog-metadata.ts';
import { VERSION_PATTERN } from './semver.ts';

/**
 * The typed API that `tasks/<name>/task.ts` files use to declare a Task.
 * A definition is data: it names step programs (never raw images), and the
 * generator turns it into hardened, digest-pinned Tekton YAML.
 */

export const dnsLabel = z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower-case letters, digits and "-")'), z.maxLength(63));

const paramName = z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_-]*$/, 'must start with a letter or "_" and hold only letters, digits, "_" and "-"'));

/** SemVer MAJOR.MINOR.PATCH ("0.1.0"): the version folder, label, bundle tag and step image tag. */
export const versionString = z.string().check(z.regex(VERSION_PATTERN, 'must be MAJOR.MINOR.PATCH, e.g. "0.1.0" (no "v", no suffix)'));

/**
 * Marks a Task deprecated: emitted as `tekton.dev/deprecated: "true"` (what
 * tektoncd/catalog and Artifact Hub read) plus the replacement, and noted in
 * its README and release notes. A released version never changes, so
 * deprecating one means releasing a new (patch) version that carries this.
 */
export const DeprecationSchema = z.strictObject({
  /** What to use instead: a Task of this catalog ("verify-image") or any one-line pointer. */
  replacement: z.string().check(
    z.minLength(1),
    z.maxLength(200),
    z.refine((s) => !s.includes('\n'), 'must be one line'),
  ),
  /** Why, in one line (optional). */
  reason: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(300),
      z.refine((s) => !s.includes('\n'), 'must be one line'),
    ),
  ),
});

export const ParamDefinitionSchema = z.strictObject({
  name: paramName,
  description: z.string().check(z.minLength(1)),
  type: z._default(z.enum(['string', 'array']), 'string'),
  /** A param with a default is optional; one without is required. */
  default: z.optional(z.union([z.string(), z.array(z.string())])),
  /** The type validate-params enforces (applied to every element of an array param). */
  rule: ParamRuleSchema,
});

export const WorkspaceDefinitionSchema = z.strictObject({
  name: dnsLabel,
  description: z.string().check(z.minLength(1)),
  optional: z._default(z.boolean(), false),
  readOnly: z._default(z.boolean(), false),
  mountPath: z.optional(z.string().check(z.startsWith('/'))),
});

/** Characters Go's JSON encoder writes as they are: a value made only of them takes its own length in the termination message. */
const TERMINATION_SAFE = /^[\x20-\x7e]*$/;
const terminationSafe = z.string().check(
  z.regex(TERMINATION_SAFE, 'must be printable ASCII'),
  z.refine((value) => !/["\\<>&]/.test(value), 'must not hold ", \\, <, > or & (Tekton escapes them in the termination message)'),
);

/**
 * The most a result can hold, declared per result: Tekton carries all of a
 * step's results in one termination message of at most 4096 bytes (less in
 * a pod with many containers), so the build adds these bounds up and fails
 * when a Task could overflow (src/build/results-budget.ts). `maxBytes` is
 * counted as the value appears in that message, JSON-escaped; the step
 * programs check every value against it before writing (src/step/results.ts).
 */
export const ResultBoundSchema = z.discriminatedUnion('kind', [
  /** sha256:<64 hex>, or "" when `orEmpty`. */
  z.strictObject({ kind: z.literal('digest'), orEmpty: z._default(z.boolean(), false) }),
  z.strictObject({ kind: z.literal('boolean') }),
  z.strictObject({ kind: z.literal('enum'), values: z.array(terminationSafe).check(z.minLength(1)) }),
  /** A non-negative decimal count up to `max`. */
  z.strictObject({ kind: z.literal('count'), max: z.int().check(z.nonnegative(), z.lte(Number.MAX_SAFE_INTEGER)) }),
  /**
   * JSON (a list or object) or free text, at most `maxBytes` once escaped;
   * `why` says what keeps it there. `maxBytes: 'rest'` takes whatever the
   * other results leave of the budget, so a list's length limit comes
   * straight from the budget computation; several 'rest' results share that
   * pool (each may take it all, together no more).
   */
  z.strictObject({ kind: z.literal('json'), maxBytes: z.union([z.int().check(z.positive()), z.literal('rest')]), why: z.string().check(z.minLength(1)) }),
  z.strictObject({ kind: z.literal('text'), maxBytes: z.union([z.int().check(z.positive()), z.literal('rest')]), why: z.string().check(z.minLength(1)) }),
]);

export const ResultDefinitionSchema = z.strictObject({
  // Tekton allows upper case (the VALIDATED result); keep the catalog's other names lower case.
  name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, "_" and "-"')),
  description: z.string().check(z.minLength(1)),
  type: z._default(z.enum(['string', 'array', 'object']), 'string'),
  /** The keys of an object result (Tekton requires them; every value is a string). */
  properties: z.optional(z.array(z.string().check(z.regex(/^[A-Za-z0-9_.-]+$/))).check(z.minLength(1))),
  /** Every catalog Task declares one (a test checks); without it a result may take DEFAULT_RESULT_BOUND_BYTES. */
  bound: z.optional(ResultBoundSchema),
}).check(
  z.refine((result) => (result.type === 'object') === (result.properties !== undefined), 'an object result declares its properties, and only an object result does'),
);

const quantity = z.string().check(z.regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi)?$/, 'must be a Kubernetes quantity such as 100m or 128Mi'));

export const ComputeResourcesSchema = z.strictObject({
  requests: z.strictObject({ cpu: quantity, memory: quantity }),
  limits: z.strictObject({ cpu: quantity, memory: quantity }),
});

export const DEFAULT_COMPUTE_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
} as const;

const envVar = z.strictObject({
  name: z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name')),
  value: z.string(),
});

export const StepDefinitionSchema = z.strictObject({
  name: dnsLabel,
  /** A folder under steps/: the step runs that program from its own image. */
  program: dnsLabel,
  args: z._default(z.array(z.string()), []),
  env: z._default(z.array(envVar), []),
  /**
   * An optional script, run by the program's image (it needs a shebang,
   * since the image has no shell). It may not hold any $(...) substitution:
   * Tekton pastes substitutions in as code.
   */
  script: z.optional(z.string()),
  computeResources: z._default(ComputeResourcesSchema, DEFAULT_COMPUTE_RESOURCES),
  onError: z.optional(z.enum(['continue', 'stopAndFail'])),
});

/** A Task README's extra sections and its samples are plain data too. */
export const SampleSchema = z.strictObject({
  /** File name under samples/, e.g. "taskrun.yaml". */
  file: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*\.yaml$/)),
  description: z.string().check(z.minLength(1)),
  /** Tekton documents; the generator validates and emits them as one YAML stream. */
  documents: z.array(z.record(z.string(), z.unknown())).check(z.minLength(1)),
});

/**
 * A Task version's end-to-end test in the tektoncd/catalog convention
 * (TEP-0003): the generator writes the documents to
 * catalog/task/<name>/<version>/tests/run.yaml. A maintainer applies the Task
 * and then this file on a real cluster; every TaskRun and PipelineRun in it
 * must succeed. The repository's tests run the same file in the chroot
 * harness (test/harness/run-yaml.ts). Written in tasks/<name>/tests/run.ts.
 */
export const RunTestSchema = z.strictObject({
  /** What the run checks, one sentence for the README. */
  description: z.string().check(z.minLength(1)),
  /** TaskRuns and PipelineRuns that reference the Task by name, and the Secrets and ConfigMaps they bind. */
  documents: z.array(z.record(z.string(), z.unknown())).check(z.minLength(1)),
});

/**
 * What a Task reads from the Kubernetes API with the TaskRun's service
 * account token: the kit's RBAC generator (src/kit/rbac) grants exactly
 * these, to the pipeline tasks that need them, for the object the named
 * param names (resourceNames), and nothing else.
 */
export const KubernetesAccessSchema = z.strictObject({
  apiGroup: z._default(z.string(), ''),
  resource: z.string().check(z.regex(/^[a-z][a-z0-9]*$/, 'must be a plural resource name such as secrets')),
  /** Only get: list and watch cannot be narrowed to names. */
  verbs: z.array(z.literal('get')).check(z.minLength(1)),
  /** The Task param that names the object (becomes resourceNames). */
  nameParam: paramName,
  /** Only when this Task param has this value. */
  when: z.optional(z.strictObject({ param: paramName, equals: z.string() })),
  why: z.string().check(z.minLength(1)),
});
export type KubernetesAccess = z.output<typeof KubernetesAccessSchema>;

/**
 * How a catalog entry (a Task or a reference Pipeline) names and describes
 * itself: the fields its labels, Artifact Hub annotations and README come from.
 */
export const catalogEntryFields = {
  name: dnsLabel,
  version: versionString,
  displayName: z.string().check(z.minLength(1)),
  /** One line: becomes the first line of spec.description. */
  summary: z.string().check(
    z.minLength(1),
    z.maxLength(120),
    z.refine((s) => !s.includes('\n'), 'must be one line'),
  ),
  description: z.string().check(z.minLength(1)),
  categories: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  tags: z.array(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/))).check(z.minLength(1)),
};

export const TaskDefinitionSchema = z.strictObject({
  ...catalogEntryFields,
  /** Artifact Hub's category (`artifacthub.io/category`), one of its fixed list. */
  artifactHubCategory: z._default(z.enum(ARTIFACT_HUB_CATEGORIES), 'security'),
  /** tekton.dev/pipelines.minVersion: the catalog's floor (see MIN_PIPELINES_VERSION for why) unless a Task needs a newer one. */
  minPipelinesVersion: z._default(z.string().check(z.regex(/^\d+\.\d+\.\d+$/)), MIN_PIPELINES_VERSION),
  params: z._default(z.array(ParamDefinitionSchema), []),
  workspaces: z._default(z.array(WorkspaceDefinitionSchema), []),
  results: z._default(z.array(ResultDefinitionSchema), []),
  steps: z.array(StepDefinitionSchema).check(z.minLength(1)),
  /** Markdown appended to the generated README (usage notes, RBAC, bindings). */
  notes: z.optional(z.string()),
  samples: z._default(z.array(SampleSchema), []),
  deprecated: z.optional(DeprecationSchema),
  /** What the Task reads from the Kubernetes API (for the kit's RBAC); nothing when empty. */
  kubernetesAccess: z._default(z.array(KubernetesAccessSchema), []),
  /** From tasks/<name>/tests/run.ts (load-definitions.ts adds it). */
  tests: z.optional(RunTestSchema),
});

export type TaskDefinitionInput = z.input<typeof TaskDefinitionSchema>;
export type TaskDefinition = z.output<typeof TaskDefinitionSchema>;
export type ParamDefinition = z.output<typeof ParamDefinitionSchema>;
export type StepDefinition = z.output<typeof StepDefinitionSchema>;
export type ResultDefinition = z.output<typeof ResultDefinitionSchema>;
export type ResultBound = z.output<typeof ResultBoundSchema>;

/**
 * Declares a Task. Parsing happens here, at import time, so a broken
 * definition fails with the field path and rule instead of a bad YAML later.
 */
export function defineTask(input: TaskDefinitionInput): TaskDefinition {
  return TaskDefinitionSchema.parse(input);
}

export type RunTest = z.output<typeof RunTestSchema>;

/** Declares a Task's tests/run.yaml (the default export of tasks/<name>/tests/run.ts). */
export function defineRunTest(input: z.input<typeof RunTestSchema>): RunTest {
  return RunTestSchema.parse(input);
}
