import * as z from '../../zod.ts';
import { ObjectMetaSchema } from '../../tekton/models.ts';

/**
 * zod models of the Kubernetes kinds the audit reads beside Tekton's:
 * RBAC, service accounts, network policies and claims. Loose like the
 * Tekton models: only the fields the rules read are typed.
 */

const strings = z.array(z.string());

export const PolicyRuleSchema = z.looseObject({
  apiGroups: z.optional(strings),
  resources: z.optional(strings),
  resourceNames: z.optional(strings),
  verbs: strings,
  nonResourceURLs: z.optional(strings),
});

const rbacApi = z.enum(['rbac.authorization.k8s.io/v1', 'rbac.authorization.k8s.io/v1beta1']);

export const RoleSchema = z.looseObject({
  apiVersion: rbacApi,
  kind: z.enum(['Role', 'ClusterRole']),
  metadata: ObjectMetaSchema,
  rules: z.nullish(z.array(PolicyRuleSchema)),
  aggregationRule: z.optional(z.looseObject({})),
});

export const SubjectSchema = z.looseObject({ kind: z.string(), name: z.string(), namespace: z.optional(z.string()), apiGroup: z.optional(z.string()) });

export const RoleBindingSchema = z.looseObject({
  apiVersion: rbacApi,
  kind: z.enum(['RoleBinding', 'ClusterRoleBinding']),
  metadata: ObjectMetaSchema,
  subjects: z.nullish(z.array(SubjectSchema)),
  roleRef: z.looseObject({ kind: z.string(), name: z.string(), apiGroup: z.optional(z.string()) }),
});

export const ServiceAccountSchema = z.looseObject({ apiVersion: z.literal('v1'), kind: z.literal('ServiceAccount'), metadata: ObjectMetaSchema });

const LabelSelectorSchema = z.looseObject({
  matchLabels: z.optional(z.record(z.string(), z.string())),
  matchExpressions: z.optional(z.array(z.looseObject({ key: z.string(), operator: z.string(), values: z.optional(strings) }))),
});

export const NetworkPolicySchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('NetworkPolicy'),
  metadata: ObjectMetaSchema,
  spec: z.looseObject({
    podSelector: z.optional(LabelSelectorSchema),
    policyTypes: z.optional(strings),
    egress: z.optional(z.array(z.looseObject({ to: z.optional(z.array(z.looseObject({}))), ports: z.optional(z.array(z.looseObject({}))) }))),
    ingress: z.optional(z.array(z.looseObject({}))),
  }),
});

export const PersistentVolumeClaimSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('PersistentVolumeClaim'),
  metadata: ObjectMetaSchema,
  spec: z.optional(z.looseObject({ accessModes: z.optional(strings) })),
});

export type KubeRole = z.infer<typeof RoleSchema>;
export type KubePolicyRule = z.infer<typeof PolicyRuleSchema>;
export type KubeRoleBinding = z.infer<typeof RoleBindingSchema>;
export type KubeServiceAccount = z.infer<typeof ServiceAccountSchema>;
export type KubeNetworkPolicy = z.infer<typeof NetworkPolicySchema>;
export type KubeLabelSelector = z.infer<typeof LabelSelectorSchema>;
export type KubePersistentVolumeClaim = z.infer<typeof PersistentVolumeClaimSchema>;
