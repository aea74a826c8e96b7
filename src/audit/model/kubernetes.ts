import { z } from 'zod';
import { ObjectMetaSchema } from '../../tekton/models.ts';

/**
 * zod models of the Kubernetes kinds the audit reads beside Tekton's:
 * RBAC, service accounts, network policies and claims. Loose like the
 * Tekton models: only the fields the rules read are typed.
 */

const strings = z.array(z.string());

export const PolicyRuleSchema = z
  .object({
    apiGroups: strings.optional(),
    resources: strings.optional(),
    resourceNames: strings.optional(),
    verbs: strings,
    nonResourceURLs: strings.optional(),
  })
  .loose();

const rbacApi = z.enum(['rbac.authorization.k8s.io/v1', 'rbac.authorization.k8s.io/v1beta1']);

export const RoleSchema = z
  .object({
    apiVersion: rbacApi,
    kind: z.enum(['Role', 'ClusterRole']),
    metadata: ObjectMetaSchema,
    rules: z.array(PolicyRuleSchema).nullish(),
    aggregationRule: z.looseObject({}).optional(),
  })
  .loose();

export const SubjectSchema = z
  .object({ kind: z.string(), name: z.string(), namespace: z.string().optional(), apiGroup: z.string().optional() })
  .loose();

export const RoleBindingSchema = z
  .object({
    apiVersion: rbacApi,
    kind: z.enum(['RoleBinding', 'ClusterRoleBinding']),
    metadata: ObjectMetaSchema,
    subjects: z.array(SubjectSchema).nullish(),
    roleRef: z.object({ kind: z.string(), name: z.string(), apiGroup: z.string().optional() }).loose(),
  })
  .loose();

export const ServiceAccountSchema = z
  .object({ apiVersion: z.literal('v1'), kind: z.literal('ServiceAccount'), metadata: ObjectMetaSchema })
  .loose();

const LabelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z.array(z.looseObject({ key: z.string(), operator: z.string(), values: strings.optional() })).optional(),
  })
  .loose();

export const NetworkPolicySchema = z
  .object({
    apiVersion: z.string(),
    kind: z.literal('NetworkPolicy'),
    metadata: ObjectMetaSchema,
    spec: z
      .object({
        podSelector: LabelSelectorSchema.optional(),
        policyTypes: strings.optional(),
        egress: z.array(z.looseObject({ to: z.array(z.looseObject({})).optional(), ports: z.array(z.looseObject({})).optional() })).optional(),
        ingress: z.array(z.looseObject({})).optional(),
      })
      .loose(),
  })
  .loose();

export const PersistentVolumeClaimSchema = z
  .object({
    apiVersion: z.literal('v1'),
    kind: z.literal('PersistentVolumeClaim'),
    metadata: ObjectMetaSchema,
    spec: z.object({ accessModes: strings.optional() }).loose().optional(),
  })
  .loose();

export type KubeRole = z.infer<typeof RoleSchema>;
export type KubePolicyRule = z.infer<typeof PolicyRuleSchema>;
export type KubeRoleBinding = z.infer<typeof RoleBindingSchema>;
export type KubeServiceAccount = z.infer<typeof ServiceAccountSchema>;
export type KubeNetworkPolicy = z.infer<typeof NetworkPolicySchema>;
export type KubeLabelSelector = z.infer<typeof LabelSelectorSchema>;
export type KubePersistentVolumeClaim = z.infer<typeof PersistentVolumeClaimSchema>;
