import type * as z from '../../zod.ts';
import { childPath } from '../../tekton/diagnostic.ts';
import {
  modelFor,
  TEKTON_GROUP,
  type TektonPipeline,
  type TektonPipelineRun,
  type TektonStepAction,
  type TektonTask,
  type TektonTaskRun,
} from '../../tekton/models.ts';
import type { SourceDocument } from '../input/source.ts';
import {
  NetworkPolicySchema,
  PersistentVolumeClaimSchema,
  RoleBindingSchema,
  RoleSchema,
  ServiceAccountSchema,
  type KubeNetworkPolicy,
  type KubePersistentVolumeClaim,
  type KubeRole,
  type KubeRoleBinding,
  type KubeServiceAccount,
} from './kubernetes.ts';

/**
 * One document of the input, recognised by apiVersion and kind and checked
 * against its model. A document of a kind we audit that its model rejects
 * is `invalid` (finding TA002) and is not audited further: its fields
 * cannot be trusted to mean what the rules assume.
 */

interface Common {
  source: SourceDocument;
  /** metadata.name, or generateName, or "(unnamed)". */
  name: string;
  namespace: string | undefined;
  /** `Kind/name`, for messages and fingerprints. */
  resource: string;
}

export type AuditDocument = Common &
  (
    | { kind: 'Task'; data: TektonTask }
    | { kind: 'Pipeline'; data: TektonPipeline }
    | { kind: 'TaskRun'; data: TektonTaskRun }
    | { kind: 'PipelineRun'; data: TektonPipelineRun; pipelinesAsCode: boolean }
    | { kind: 'StepAction'; data: TektonStepAction }
    | { kind: 'Role' | 'ClusterRole'; data: KubeRole }
    | { kind: 'RoleBinding' | 'ClusterRoleBinding'; data: KubeRoleBinding }
    | { kind: 'ServiceAccount'; data: KubeServiceAccount }
    | { kind: 'NetworkPolicy'; data: KubeNetworkPolicy }
    | { kind: 'PersistentVolumeClaim'; data: KubePersistentVolumeClaim }
  );

export interface InvalidDocument extends Common {
  kind: string;
  issues: { path: (string | number)[]; message: string }[];
}

export type Classified = { audited: AuditDocument } | { invalid: InvalidDocument } | { ignored: string };

const KUBE_MODELS: Record<string, { group: RegExp; schema: z.ZodMiniType }> = {
  Role: { group: /^rbac\.authorization\.k8s\.io\//, schema: RoleSchema },
  ClusterRole: { group: /^rbac\.authorization\.k8s\.io\//, schema: RoleSchema },
  RoleBinding: { group: /^rbac\.authorization\.k8s\.io\//, schema: RoleBindingSchema },
  ClusterRoleBinding: { group: /^rbac\.authorization\.k8s\.io\//, schema: RoleBindingSchema },
  ServiceAccount: { group: /^v1$/, schema: ServiceAccountSchema },
  PersistentVolumeClaim: { group: /^v1$/, schema: PersistentVolumeClaimSchema },
  NetworkPolicy: { group: /^networking\.k8s\.io\//, schema: NetworkPolicySchema },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Pipelines-as-Code keeps its PipelineRuns in `.tekton/` and marks them with its annotations. */
export function isPipelinesAsCode(fileName: string, metadata: unknown): boolean {
  if (/(^|\/)\.tekton\//.test(fileName)) return true;
  const annotations = isRecord(metadata) && isRecord(metadata.annotations) ? metadata.annotations : {};
  return Object.keys(annotations).some((key) => key.startsWith('pipelinesascode.tekton.dev/'));
}

export function classify(source: SourceDocument): Classified {
  const doc = source.value;
  if (!isRecord(doc) || typeof doc.kind !== 'string' || typeof doc.apiVersion !== 'string') return { ignored: 'not a Kubernetes resource' };
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : '(unnamed)';
  const common: Common = {
    source,
    name,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
    resource: `${doc.kind}/${name}`,
  };
  let schema: z.ZodMiniType | undefined;
  if (doc.apiVersion.startsWith(`${TEKTON_GROUP}/`)) schema = modelFor(doc.kind);
  else {
    const kube = KUBE_MODELS[doc.kind];
    if (kube?.group.test(doc.apiVersion)) schema = kube.schema;
  }
  if (!schema) return { ignored: `${doc.apiVersion} ${doc.kind}` };
  let parsed = schema.safeParse(doc);
  if (!parsed.success && coerceScalars(doc, parsed.error.issues.map((issue) => issue.path))) parsed = schema.safeParse(doc);
  if (!parsed.success) {
    return {
      invalid: {
        ...common,
        kind: doc.kind,
        issues: parsed.error.issues.map((issue) => ({
          path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
          message: issue.message,
        })),
      },
    };
  }
  const audited = { ...common, kind: doc.kind, data: parsed.data } as AuditDocument;
  if (audited.kind === 'PipelineRun') audited.pipelinesAsCode = isPipelinesAsCode(source.file.name, meta);
  return { audited };
}

/**
 * Tekton reads an unquoted number or boolean where a param value belongs
 * (`default: 1`) as its text; the models, written for our own YAML, do
 * not. Turns such scalars at the failing paths into strings, as Tekton
 * would, and says whether anything changed.
 */
function coerceScalars(doc: Record<string, unknown>, paths: readonly (readonly PropertyKey[])[]): boolean {
  let changed = false;
  for (const path of paths) {
    const key = path[path.length - 1];
    const last = path[path.length - 2];
    if ((key !== 'default' && key !== 'value') || last === undefined) continue;
    let parent: unknown = doc;
    for (const part of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Record<PropertyKey, unknown>)[part] : undefined;
    if (!isRecord(parent)) continue;
    const value = parent[key];
    if (typeof value === 'number' || typeof value === 'boolean') {
      parent[key] = String(value);
      changed = true;
    }
  }
  return changed;
}

export function issuePath(path: (string | number)[]): string {
  return path.reduce<string>((out, key) => childPath(out, key), '');
}
