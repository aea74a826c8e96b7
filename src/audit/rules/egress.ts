import { quoteUntrusted } from '../../errors.ts';
import type { KubeLabelSelector, KubeNetworkPolicy } from '../model/kubernetes.ts';
import type { Check, RuleMeta } from './rule.ts';

/**
 * Open egress from TaskRun pods: with no policy limiting where they may
 * connect, a compromised step sends the secrets it can read anywhere.
 * Judged only when the input holds NetworkPolicies: without them, the
 * policies live elsewhere and the audit cannot see them.
 */

export const openEgress: RuleMeta = {
  id: 'TA801',
  name: 'open-egress',
  severity: 'warning',
  securitySeverity: 6.5,
  group: 'egress',
  summary: 'No NetworkPolicy limits the egress of Tekton\'s TaskRun pods, or the one that selects them allows everything.',
  help: `Select the TaskRun pods (Tekton labels them \`app.kubernetes.io/managed-by: tekton-pipelines\`) and allow only the registries, package proxies and DNS they need:

\`\`\`yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: taskrun-egress-policy
  namespace: tekton-pipelines
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/managed-by: tekton-pipelines
  policyTypes: ["Egress"]
  egress:
    - to:
        - ipBlock: {cidr: 10.0.50.0/24}     # registry
      ports:
        - port: 443
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
      ports:
        - port: 53
          protocol: UDP
\`\`\``,
};

function selectsTektonPods(selector: KubeLabelSelector | undefined): boolean {
  if (!selector) return true;
  const labels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  if (Object.keys(labels).length === 0 && expressions.length === 0) return true;
  const tektonLabel = (key: string, value?: string) =>
    (key === 'app.kubernetes.io/managed-by' && (value === undefined || value === 'tekton-pipelines')) || key.startsWith('tekton.dev/');
  return Object.entries(labels).every(([key, value]) => tektonLabel(key, value)) && expressions.every((e) => tektonLabel(e.key));
}

function limitsEgress(policy: KubeNetworkPolicy): boolean {
  const types = policy.spec.policyTypes;
  return types ? types.includes('Egress') : policy.spec.egress !== undefined;
}

/** The index of an egress rule that allows every destination, if one does. */
function allowAllRule(policy: KubeNetworkPolicy): number | undefined {
  const index = (policy.spec.egress ?? []).findIndex((rule) => {
    const to = rule.to ?? [];
    if (to.length === 0) return true;
    return to.some((peer) => {
      const block = (peer as { ipBlock?: { cidr?: string; except?: unknown[] } }).ipBlock;
      return (block?.cidr === '0.0.0.0/0' || block?.cidr === '::/0') && (block.except ?? []).length === 0;
    });
  });
  return index >= 0 ? index : undefined;
}

const checkEgress: Check = (context) => {
  const policies = context.model.ofKind('NetworkPolicy');
  if (policies.length === 0) return;
  const namespaces = new Set(
    context.model.documents
      .filter((d) => ['TaskRun', 'PipelineRun', 'Task', 'Pipeline'].includes(d.kind) && d.namespace !== undefined)
      .map((d) => d.namespace!),
  );
  const inScope = (policy: (typeof policies)[number]) => namespaces.size === 0 || policy.namespace === undefined || namespaces.has(policy.namespace);
  const covering = policies.filter((p) => inScope(p) && limitsEgress(p.data) && selectsTektonPods(p.data.spec.podSelector));
  if (covering.length === 0) {
    const first = policies[0]!;
    context.report(openEgress, { doc: first, path: ['spec'] }, `none of the ${policies.length} NetworkPolicies in the input limits the egress of Tekton's TaskRun pods`);
    return;
  }
  for (const policy of covering) {
    const open = allowAllRule(policy.data);
    if (open !== undefined) {
      context.report(openEgress, { doc: policy, path: ['spec', 'egress', open] }, `NetworkPolicy ${quoteUntrusted(policy.name)} selects the TaskRun pods but its egress rule ${open + 1} allows every destination`);
    }
  }
};

export const egressRules = { rules: [openEgress], checks: [checkEgress] };
