import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import * as z from '../../zod.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from '../../tekton/names.ts';

/**
 * Checks a Kubernetes object of the kit against the schema of its kind:
 * the OpenAPI schemas kubernetes-models compiles from Kubernetes' own
 * (core kinds) and from the Prometheus Operator's CRDs (PrometheusRule),
 * plus what the API server checks beyond them: names and namespaces as
 * DNS-1123, label keys and values, ConfigMap keys. Returns every problem;
 * an empty list means valid. A kind the kit does not emit is a problem.
 */

type Model = { new (data: never): { validate(): void } };

const MODELS: Record<string, Model> = {
  'v1/ServiceAccount': ServiceAccount as unknown as Model,
  'v1/ConfigMap': ConfigMap as unknown as Model,
  'rbac.authorization.k8s.io/v1/Role': Role as unknown as Model,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as unknown as Model,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as Model,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as Model,
};

const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

export function kubernetesObjectProblems(object: unknown): string[] {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return ['not an object'];
  const { apiVersion, kind, metadata, data } = object as { apiVersion?: unknown; kind?: unknown; metadata?: Record<string, unknown>; data?: unknown };
  const Model = MODELS[`${String(apiVersion)}/${String(kind)}`];
  if (!Model) return [`${String(apiVersion)} ${String(kind)} is not a kind the kit emits`];
  const problems: string[] = [];
  try {
    new Model(object as never).validate();
  } catch (error) {
    problems.push(`schema: ${(error as Error).message}`);
  }
  const name = typeof metadata?.name === 'string' ? metadata.name : '';
  const nameProblem = dns1123SubdomainProblem(name);
  if (nameProblem) problems.push(`metadata.name: ${nameProblem}`);
  if (typeof metadata?.namespace !== 'string') problems.push('metadata.namespace: every kit object names its namespace');
  else {
    const namespaceProblem = dns1123LabelProblem(metadata.namespace);
    if (namespaceProblem) problems.push(`metadata.namespace: ${namespaceProblem}`);
  }
  for (const [key, value] of Object.entries((metadata?.labels as Record<string, unknown> | undefined) ?? {})) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) problems.push(`metadata.labels ${key}: ${keyProblem}`);
    const valueProblem = typeof value === 'string' ? labelValueProblem(value) : 'must be a string';
    if (valueProblem) problems.push(`metadata.labels ${key}: ${valueProblem}`);
  }
  if (kind === 'ConfigMap') {
    for (const key of Object.keys((data as Record<string, unknown> | undefined) ?? {})) {
      if (!CONFIG_MAP_KEY.test(key)) problems.push(`data ${key}: a ConfigMap key is letters, digits, "-", "_" and "."`);
    }
  }
  return problems;
}

/** kustomization.yaml as the kit writes it: a kustomize base listing its files. */
export const KustomizationSchema = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  resources: z.array(z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]*\.yaml$/, 'must be a file of the base'))).check(z.minLength(1)),
});
