import type * as z from '../zod.ts';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { crdValidatorFor, type UnknownFieldPolicy } from './crd-schema.ts';
import { childPath, DiagnosticCodes, formatDiagnostics, type Diagnostic } from './diagnostic.ts';
import { modelFor, type TektonDocument } from './models.ts';
import { checkScriptSubstitutions, checkSemantics } from './references.ts';

export type { Diagnostic, DiagnosticCode } from './diagnostic.ts';
export { DiagnosticCodes, formatDiagnostics } from './diagnostic.ts';

export interface ValidateOptions {
  /**
   * Apply the catalog's own rules on top of Tekton's (today: no `$(...)` in
   * any script). On by default, so our documents cannot skip them; turn off
   * to audit third-party YAML and run `checkScriptSubstitutions` apart.
   */
  catalogRules?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.reduce<string>((path, key) => childPath(path, typeof key === 'number' ? key : String(key)), '');
}

function modelDiagnostics(error: z.core.$ZodError): Diagnostic[] {
  return error.issues.map((issue) => ({
    code: DiagnosticCodes.modelInvalid,
    path: issuePath(issue),
    // zod messages describe the rule, never echo the value.
    message: issue.message,
  }));
}

/**
 * Validates one Tekton document without any CRD: the zod model first, then
 * (if the model accepted it) the semantic reference checks, then the
 * catalog rules. Returns every diagnostic; an empty list means valid.
 */
export function validateTektonDocument(doc: unknown, options: ValidateOptions = {}): Diagnostic[] {
  if (!isRecord(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
    return [{ code: DiagnosticCodes.documentInvalid, path: '', message: 'a Tekton document must be a mapping with string apiVersion and kind' }];
  }
  const model = modelFor(doc.kind);
  if (!doc.apiVersion.startsWith('tekton.dev/') || !model) {
    return [
      {
        code: DiagnosticCodes.kindUnsupported,
        path: 'kind',
        message: `${quoteUntrusted(doc.apiVersion)} ${quoteUntrusted(doc.kind)} is not a Tekton kind this validator knows (Task, Pipeline, TaskRun, PipelineRun, StepAction)`,
      },
    ];
  }
  const parsed = model.safeParse(doc);
  const out: Diagnostic[] = parsed.success ? checkSemantics(parsed.data as TektonDocument) : modelDiagnostics(parsed.error);
  if (options.catalogRules ?? true) out.push(...checkScriptSubstitutions(doc));
  return out;
}

export interface CrdValidateOptions {
  unknownFields?: UnknownFieldPolicy;
}

/**
 * Validates one document against the openAPIV3Schema of its CRD in
 * `crdDir` (plus ObjectMeta rules), as the API server would on admission.
 */
export function validateAgainstCrds(doc: unknown, crdDir: string, options: CrdValidateOptions = {}): Diagnostic[] {
  return crdValidatorFor(crdDir, options).validate(doc);
}

/**
 * Throws a CatalogError (code TEKTON_DOCUMENT_INVALID) listing every
 * diagnostic when `doc` is not valid. `what` names the document for the
 * reader, e.g. "Task validate-params 0.1".
 */
export function assertValidTektonDocument(doc: unknown, what: string, options: ValidateOptions & { crdDir?: string } = {}): void {
  const diagnostics = validateTektonDocument(doc, options);
  if (options.crdDir !== undefined) diagnostics.push(...validateAgainstCrds(doc, options.crdDir));
  if (diagnostics.length === 0) return;
  throw new CatalogError('TEKTON_DOCUMENT_INVALID', `${what} is not a valid Tekton document (${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}):\n${formatDiagnostics(diagnostics)}`, {
    hint: 'fix each field named above; codes are listed in src/tekton/diagnostic.ts',
  });
}
