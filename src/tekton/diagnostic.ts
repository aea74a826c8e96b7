/**
 * One problem found in a Tekton document. `code` is stable (callers and
 * tests branch on it), `path` points into the document
 * (`spec.steps[0].env[1].value`), `message` names the rule and what to do
 * and shows document values only through `quoteUntrusted`.
 */
export interface Diagnostic {
  code: DiagnosticCode;
  path: string;
  message: string;
}

export const DiagnosticCodes = {
  /** Not a mapping with apiVersion and kind. */
  documentInvalid: 'TEKTON_DOCUMENT_INVALID',
  /** An apiVersion/kind pair this validator does not model. */
  kindUnsupported: 'TEKTON_KIND_UNSUPPORTED',
  /** The zod model rejected a field (type, enum value, required field). */
  modelInvalid: 'TEKTON_MODEL_INVALID',
  /** A name breaks the naming rule Kubernetes or Tekton applies to it. */
  nameInvalid: 'TEKTON_NAME_INVALID',
  /** Two params, results, workspaces, steps or pipeline tasks share a name. */
  duplicateName: 'TEKTON_DUPLICATE_NAME',
  paramUndeclared: 'TEKTON_PARAM_UNDECLARED',
  /** A param default that does not match the declared type or enum. */
  paramDefaultMismatch: 'TEKTON_PARAM_DEFAULT_MISMATCH',
  /** An array/object param used as a string, or `[*]` outside a whole args/command element. */
  paramArrayMisuse: 'TEKTON_PARAM_ARRAY_MISUSE',
  /** A required param of an embedded task that the pipeline task does not pass. */
  paramMissing: 'TEKTON_PARAM_MISSING',
  resultUndeclared: 'TEKTON_RESULT_UNDECLARED',
  workspaceUndeclared: 'TEKTON_WORKSPACE_UNDECLARED',
  /** `$(tasks.x...)` where x is not a pipeline task that may be referenced from there. */
  pipelineTaskUnknown: 'TEKTON_PIPELINE_TASK_UNKNOWN',
  runAfterUnknown: 'TEKTON_RUN_AFTER_UNKNOWN',
  /** runAfter in a finally task, which always runs after all tasks. */
  finallyRunAfter: 'TEKTON_FINALLY_RUN_AFTER',
  /** runAfter and result references form a cycle. */
  pipelineCycle: 'TEKTON_PIPELINE_CYCLE',
  /** A pipeline task without exactly one of taskRef/taskSpec/pipelineRef/pipelineSpec. */
  taskRefInvalid: 'TEKTON_TASK_REF_INVALID',
  /** A step with neither image nor StepAction ref (and no stepTemplate image). */
  stepImageMissing: 'TEKTON_STEP_IMAGE_MISSING',
  /** A step with both script and command. */
  stepScriptWithCommand: 'TEKTON_STEP_SCRIPT_WITH_COMMAND',
  stepUnknown: 'TEKTON_STEP_UNKNOWN',
  /** A `$(...)` under a known root whose shape Tekton does not substitute, or used where it is not available. */
  referenceInvalid: 'TEKTON_REFERENCE_INVALID',
  /** `$(inputs.*)`, `$(outputs.*)`, `$(resources.*)`: removed PipelineResources syntax. */
  referenceLegacy: 'TEKTON_REFERENCE_LEGACY',
  /** Catalog rule: a `$(...)` substitution inside a script, where it becomes code. */
  scriptSubstitution: 'TEKTON_SCRIPT_SUBSTITUTION',
  /** The CRD's openAPIV3Schema rejected the document. */
  crdSchema: 'TEKTON_CRD_SCHEMA',
  /** A field the CRD does not declare (the API server would reject or prune it). */
  crdUnknownField: 'TEKTON_CRD_UNKNOWN_FIELD',
  /** No CRD serves this apiVersion/kind. */
  crdVersionNotServed: 'TEKTON_CRD_VERSION_NOT_SERVED',
  /** metadata the API server itself would reject (name, labels, annotations). */
  metadataInvalid: 'TEKTON_METADATA_INVALID',
} as const;

export type DiagnosticCode = (typeof DiagnosticCodes)[keyof typeof DiagnosticCodes];

/** Renders diagnostics one per line, for logs and CatalogError messages. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => `${d.code} at ${d.path || '(document)'}: ${d.message}`).join('\n');
}

/** Appends a field or index to a diagnostic path. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const segment = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
  if (segment !== key) return `${parent}[${segment}]`;
  return parent === '' ? key : `${parent}.${key}`;
}
