import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { childPath, DiagnosticCodes, type Diagnostic } from './diagnostic.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from './names.ts';

/**
 * Validates documents the way a Kubernetes API server validates a custom
 * resource against its CRD's openAPIV3Schema, using ajv.
 *
 * Structural-schema extensions and what they mean here:
 * - `x-kubernetes-preserve-unknown-fields: true`: the object keeps fields the
 *   schema does not list; nothing is reported for them.
 * - Unknown fields elsewhere: the API server prunes them, and with strict
 *   field validation (kubectl's default since Kubernetes 1.25) rejects the
 *   request. A field that would silently vanish is almost always a typo in
 *   our own YAML (`computeResource:`), so the default here is `reject`
 *   (diagnostic TEKTON_CRD_UNKNOWN_FIELD). `unknownFields: 'prune'` mirrors
 *   `--validate=false`: unknown fields are ignored, as the server drops them.
 * - `x-kubernetes-int-or-string: true`: an integer or a string, whatever
 *   `type` says.
 * - `x-kubernetes-embedded-resource: true`: the object is a whole resource,
 *   so apiVersion, kind and metadata are allowed even if not listed.
 * - `x-kubernetes-list-type`: `set` items must be unique, `map` items must
 *   be unique by their `x-kubernetes-list-map-keys` (a missing key counts as
 *   its schema default, as on the server); `atomic` only affects merging.
 * - `x-kubernetes-map-type`: only affects merging; accepted and ignored.
 * - `x-kubernetes-validations` (CEL): cannot be evaluated here, so loading a
 *   CRD that has them fails rather than passing documents the server would
 *   reject.
 * - `nullable: true`: null is allowed (ajv supports the keyword).
 * - The root `metadata` is validated as ObjectMeta, like the server does:
 *   name a DNS-1123 subdomain, namespace a DNS-1123 label, label and
 *   annotation keys qualified names, label values ≤ 63 safe characters,
 *   annotation values strings, annotations ≤ 256 KiB in total.
 */

export type UnknownFieldPolicy = 'reject' | 'prune';

export interface CrdValidatorOptions {
  unknownFields?: UnknownFieldPolicy;
}

interface ServedVersion {
  schema: AnySchemaObject;
  validate?: ValidateFunction;
}

interface LoadedCrd {
  group: string;
  kind: string;
  file: string;
  versions: Map<string, ServedVersion>;
}

type SchemaNode = Record<string, unknown>;

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const ANNOTATIONS_MAX_BYTES = 256 * 1024;

function isNode(value: unknown): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Rewrites a structural schema into one ajv enforces with Kubernetes'
 * meaning: closes objects that do not preserve unknown fields, opens
 * int-or-string, adds the implicit fields of embedded resources.
 */
function toAjvSchema(node: unknown, policy: UnknownFieldPolicy, where: string): unknown {
  if (!isNode(node)) return node;
  if ('x-kubernetes-validations' in node) {
    throw new CatalogError('TEKTON_CRD_UNSUPPORTED', `${where} uses x-kubernetes-validations (CEL rules), which this validator cannot evaluate`, {
      hint: 'validate such resources with a real API server (e.g. kubectl apply --dry-run=server)',
    });
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isNode(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, toAjvSchema(child, policy, `${where}.${name}`)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isNode(value)) {
      out[key] = toAjvSchema(value, policy, `${where}.${key}`);
    } else if ((key === 'anyOf' || key === 'allOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((child, i) => toAjvSchema(child, policy, `${where}.${key}[${i}]`));
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    // Kubernetes generates anyOf [integer, string] beside the flag; the flag alone is enough.
    delete out.anyOf;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node['x-kubernetes-embedded-resource'] === true) {
    const properties = isNode(out.properties) ? { ...out.properties } : {};
    properties.apiVersion ??= { type: 'string' };
    properties.kind ??= { type: 'string' };
    properties.metadata ??= { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    out.properties = properties;
  }
  const isObject = out.type === 'object' || isNode(out.properties);
  if (policy === 'reject' && isObject && out.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

function newAjv(): Ajv {
  // Generated-code optimisation halves compile time on these large schemas
  // and changes nothing about what is accepted.
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
    validateFormats: true,
    code: { optimize: false },
    // parentSchema lets messages say "integer or string" for int-or-string fields.
    verbose: true,
  });
  for (const keyword of ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource']) {
    ajv.addKeyword({ keyword, schemaType: 'boolean' });
  }
  ajv.addKeyword({ keyword: 'x-kubernetes-map-type', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys', schemaType: 'array' });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    type: 'array',
    errors: true,
    validate: function listType(listKind: string, data: unknown[], parentSchema?: AnySchemaObject) {
      const self = listType as unknown as { errors?: Partial<ErrorObject>[] };
      const problem = listProblem(listKind, data, parentSchema);
      self.errors = problem ? [{ keyword: 'x-kubernetes-list-type', message: problem, params: { listType: listKind } }] : [];
      return problem === undefined;
    },
  });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) });
  return ajv;
}

/** Why a list breaks its x-kubernetes-list-type, or undefined. */
function listProblem(listKind: string, items: unknown[], parentSchema: AnySchemaObject | undefined): string | undefined {
  if (listKind === 'atomic') return undefined;
  if (listKind === 'set') {
    const seen = new Set<string>();
    for (const item of items) {
      const key = JSON.stringify(item);
      if (seen.has(key)) return `is a set, but holds ${quoteUntrusted(key)} twice`;
      seen.add(key);
    }
    return undefined;
  }
  if (listKind === 'map') {
    const keys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
    const itemProps = (isNode(parentSchema?.items) && isNode(parentSchema.items.properties) ? parentSchema.items.properties : {}) as Record<string, SchemaNode>;
    const seen = new Set<string>();
    for (const item of items) {
      if (!isNode(item)) continue;
      const key = JSON.stringify(keys.map((k) => item[k] ?? itemProps[k]?.default ?? null));
      if (seen.has(key)) return `is a map keyed by ${keys.join(', ')}, but two items share the key ${quoteUntrusted(key)}`;
      seen.add(key);
    }
    return undefined;
  }
  return `has unknown x-kubernetes-list-type ${quoteUntrusted(listKind)}`;
}

function isIntOrString(schema: unknown): boolean {
  return isNode(schema) && schema['x-kubernetes-int-or-string'] === true;
}

/** `/spec/steps/0/image` → `spec.steps[0].image`. */
function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(segment) ? childPath(path, Number(segment)) : childPath(path, segment);
  }
  return path;
}

function toDiagnostic(error: ErrorObject): Diagnostic {
  const path = pointerToPath(error.instancePath);
  if (error.keyword === 'additionalProperties') {
    const field = String((error.params as { additionalProperty?: unknown }).additionalProperty);
    return {
      code: DiagnosticCodes.crdUnknownField,
      path: childPath(path, field),
      message: `unknown field ${quoteUntrusted(field)}: the CRD schema does not declare it (the API server would reject or drop it); check the spelling`,
    };
  }
  const message = error.keyword === 'anyOf' && isIntOrString(error.parentSchema) ? 'must be an integer or a string' : (error.message ?? 'is invalid');
  return { code: DiagnosticCodes.crdSchema, path, message: `${message} (CRD schema rule: ${error.keyword})` };
}

/** ObjectMeta checks the API server applies itself (the CRD schema only says `type: object`). */
export function checkObjectMeta(metadata: unknown, path = 'metadata'): Diagnostic[] {
  const out: Diagnostic[] = [];
  const push = (code: Diagnostic['code'], at: string, message: string) => out.push({ code, path: at, message });
  if (!isNode(metadata)) {
    push(DiagnosticCodes.metadataInvalid, path, 'metadata must be a mapping');
    return out;
  }
  for (const key of Object.keys(metadata)) {
    if (!OBJECT_META_FIELDS.has(key)) push(DiagnosticCodes.crdUnknownField, childPath(path, key), `unknown metadata field ${quoteUntrusted(key)}`);
  }
  const name = metadata.name;
  const generateName = metadata.generateName;
  if (name === undefined && generateName === undefined) {
    push(DiagnosticCodes.metadataInvalid, childPath(path, 'name'), 'metadata.name or metadata.generateName is required');
  }
  if (name !== undefined) {
    const problem = typeof name === 'string' ? dns1123SubdomainProblem(name) : 'must be a string';
    if (problem) push(DiagnosticCodes.metadataInvalid, childPath(path, 'name'), `name ${quoteUntrusted(String(name))} ${problem}`);
  }
  if (generateName !== undefined) {
    // The server appends 5 random characters, so the prefix may end in "-".
    const problem = typeof generateName === 'string' ? dns1123SubdomainProblem(`${generateName.replace(/-$/, '')}-x`.replace(/^-/, '')) : 'must be a string';
    if (problem) push(DiagnosticCodes.metadataInvalid, childPath(path, 'generateName'), `generateName ${quoteUntrusted(String(generateName))} ${problem}`);
  }
  if (metadata.namespace !== undefined) {
    const ns = metadata.namespace;
    const problem = typeof ns === 'string' ? dns1123LabelProblem(ns) : 'must be a string';
    if (problem) push(DiagnosticCodes.metadataInvalid, childPath(path, 'namespace'), `namespace ${quoteUntrusted(String(ns))} ${problem}`);
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined) continue;
    const at = childPath(path, field);
    if (!isNode(map)) {
      push(DiagnosticCodes.metadataInvalid, at, `${field} must be a mapping of strings`);
      continue;
    }
    let bytes = 0;
    for (const [key, value] of Object.entries(map)) {
      const keyProblem = qualifiedNameProblem(key);
      if (keyProblem) push(DiagnosticCodes.metadataInvalid, childPath(at, key), `${field} key ${quoteUntrusted(key)} ${keyProblem}`);
      if (typeof value !== 'string') {
        push(DiagnosticCodes.metadataInvalid, childPath(at, key), `${field} values must be strings; quote ${quoteUntrusted(String(value))} in YAML`);
        continue;
      }
      if (field === 'labels') {
        const valueProblem = labelValueProblem(value);
        if (valueProblem) push(DiagnosticCodes.metadataInvalid, childPath(at, key), `label value ${quoteUntrusted(value)} ${valueProblem}`);
      }
      bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    }
    if (field === 'annotations' && bytes > ANNOTATIONS_MAX_BYTES) {
      push(DiagnosticCodes.metadataInvalid, at, `annotations total ${bytes} bytes; the API server allows at most ${ANNOTATIONS_MAX_BYTES}`);
    }
  }
  return out;
}

/** What a file's header says it defines, found without parsing the whole file. */
function peekGroupKind(text: string): { group: string; kind: string } | undefined {
  if (!/^kind:\s*CustomResourceDefinition\s*$/m.test(text)) return undefined;
  const group = /^ {2}group:\s*(\S+)\s*$/m.exec(text)?.[1];
  const kind = /^ {2}names:\s*\n(?: {4}.*\n)*? {4}kind:\s*(\S+)\s*$/m.exec(text)?.[1];
  return group && kind ? { group, kind } : undefined;
}

function parseCrds(file: string, text: string): LoadedCrd[] {
  const crds: LoadedCrd[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new CatalogError('TEKTON_CRD_INVALID', `${file}: YAML error: ${document.errors[0]!.message}`);
    }
    const crd: unknown = document.toJS();
    if (!isNode(crd) || crd.kind !== 'CustomResourceDefinition' || !isNode(crd.spec)) continue;
    const spec = crd.spec;
    const names = isNode(spec.names) ? spec.names : {};
    if (typeof spec.group !== 'string' || typeof names.kind !== 'string' || !Array.isArray(spec.versions)) {
      throw new CatalogError('TEKTON_CRD_INVALID', `${file}: CRD lacks spec.group, spec.names.kind or spec.versions`);
    }
    const versions = new Map<string, ServedVersion>();
    for (const version of spec.versions) {
      if (!isNode(version) || version.served !== true || typeof version.name !== 'string') continue;
      const schema = isNode(version.schema) ? version.schema.openAPIV3Schema : undefined;
      if (!isNode(schema)) throw new CatalogError('TEKTON_CRD_INVALID', `${file}: served version ${version.name} has no openAPIV3Schema`);
      versions.set(version.name, { schema });
    }
    crds.push({ group: spec.group, kind: names.kind, file, versions });
  }
  return crds;
}

interface CrdFile {
  file: string;
  text: string;
  /** From the header; the parse is authoritative and must agree. */
  peeked: { group: string; kind: string };
  parsed?: LoadedCrd[];
}

/**
 * The CRDs of one directory. A Tekton CRD file is several hundred KiB of
 * YAML with a schema ajv takes a while to compile, and most runs need one or
 * two kinds, so files are parsed and versions compiled on first use. Files
 * whose header cannot be read cheaply are parsed at load.
 */
export class CrdValidator {
  readonly dir: string;
  readonly #files: CrdFile[];
  readonly #policy: UnknownFieldPolicy;
  readonly #ajv = newAjv();

  private constructor(dir: string, files: CrdFile[], policy: UnknownFieldPolicy) {
    this.dir = dir;
    this.#files = files;
    this.#policy = policy;
  }

  /** Finds every CustomResourceDefinition in the YAML files of `dir`. */
  static load(dir: string, options: CrdValidatorOptions = {}): CrdValidator {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch (cause) {
      throw new CatalogError('TEKTON_CRD_DIR', `cannot read CRD directory ${dir}`, { cause, hint: 'pass the folder holding the Tekton CRD YAML (e.g. 300-task.yaml)' });
    }
    const files: CrdFile[] = [];
    for (const file of names) {
      const text = readFileSync(join(dir, file), 'utf8');
      const peeked = peekGroupKind(text);
      if (peeked) {
        files.push({ file, text, peeked });
        continue;
      }
      for (const crd of parseCrds(file, text)) files.push({ file, text: '', peeked: { group: crd.group, kind: crd.kind }, parsed: [crd] });
    }
    if (files.length === 0) throw new CatalogError('TEKTON_CRD_DIR', `no CustomResourceDefinition found in ${dir}`);
    return new CrdValidator(dir, files, options.unknownFields ?? 'reject');
  }

  /** The kinds this directory defines, as `group/Kind`. */
  get kinds(): string[] {
    return this.#files.map((f) => `${f.peeked.group}/${f.peeked.kind}`);
  }

  #crdFor(group: string, kind: string): LoadedCrd | undefined {
    const entry = this.#files.find((f) => f.peeked.group === group && f.peeked.kind === kind);
    if (!entry) return undefined;
    entry.parsed ??= parseCrds(entry.file, entry.text);
    const crd = entry.parsed.find((c) => c.group === group && c.kind === kind);
    if (!crd) throw new CatalogError('TEKTON_CRD_INVALID', `${entry.file}: its header names ${group}/${kind} but its content does not define it`);
    return crd;
  }

  #validatorFor(crd: LoadedCrd, version: string): ValidateFunction | undefined {
    const served = crd.versions.get(version);
    if (!served) return undefined;
    if (!served.validate) {
      const schema = toAjvSchema(served.schema, this.#policy, `${crd.file} ${version}`) as SchemaNode;
      // The root metadata is ObjectMeta, checked by checkObjectMeta instead.
      const properties = isNode(schema.properties) ? { ...schema.properties } : {};
      properties.metadata = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      // The API server accepts apiVersion and kind on every resource, whether or not the CRD's schema lists them.
      properties.apiVersion ??= { type: 'string' };
      properties.kind ??= { type: 'string' };
      served.validate = this.#ajv.compile({ ...schema, properties });
    }
    return served.validate;
  }

  /** Every problem the API server's schema and ObjectMeta validation would find in `doc`. */
  validate(doc: unknown): Diagnostic[] {
    if (!isNode(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
      return [{ code: DiagnosticCodes.documentInvalid, path: '', message: 'a resource must be a mapping with string apiVersion and kind' }];
    }
    const slash = doc.apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : doc.apiVersion.slice(0, slash);
    const version = doc.apiVersion.slice(slash + 1);
    const crd = this.#crdFor(group, doc.kind);
    const validate = crd ? this.#validatorFor(crd, version) : undefined;
    if (!crd || !validate) {
      return [
        {
          code: DiagnosticCodes.crdVersionNotServed,
          path: 'apiVersion',
          message: `no CRD in ${this.dir} serves ${quoteUntrusted(doc.apiVersion)} ${quoteUntrusted(doc.kind)}${crd ? `; served versions: ${[...crd.versions.keys()].join(', ')}` : ''}`,
        },
      ];
    }
    const out = checkObjectMeta(doc.metadata);
    if (!validate(doc)) out.push(...dedupe(withoutBranchErrors(validate.errors ?? []).map(toDiagnostic)));
    return out;
  }
}

/**
 * A failed anyOf also reports why each branch failed ("must be integer",
 * "must be string"); the anyOf error alone says it, so drop its branches.
 */
function withoutBranchErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  return errors.filter((e) => !anyOfs.some((a) => a !== e && a.instancePath === e.instancePath && e.schemaPath.startsWith(`${a.schemaPath}/`)));
}

/** The same problem can surface twice (e.g. a shared sub-schema); keep one line per path and message. */
function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}\u0000${d.path}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const cache = new Map<string, CrdValidator>();

/** A validator for `dir`, loaded once per process and policy. */
export function crdValidatorFor(dir: string, options: CrdValidatorOptions = {}): CrdValidator {
  const key = `${options.unknownFields ?? 'reject'}\u0000${dir}`;
  let validator = cache.get(key);
  if (!validator) {
    validator = CrdValidator.load(dir, options);
    cache.set(key, validator);
  }
  return validator;
}
