import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { Destination, KitConfig } from '../config/kit-config.ts';

/**
 * The egress allowlist for the Tekton pods of one namespace (the seed's step
 * 6): every pod Tekton creates for a TaskRun carries
 * `app.kubernetes.io/managed-by: tekton-pipelines`, and this policy lets
 * them reach only the registries, package proxies and git servers of the
 * kit config, the in-cluster collectors the gates report to (a Pushgateway,
 * a CloudEvents sink), the cluster DNS (UDP and TCP), and, when a task reads Secrets
 * from the API, the API server. Everything else is dropped, so a step that
 * was tricked into running an attacker's code cannot send what it read to an
 * address of the attacker's choosing. A NetworkPolicy allows; it cannot
 * deny: another policy that selects the same pods widens this one, which is
 * why the audit reports any policy that allows every destination (TA801).
 */

/** The label Tekton puts on every TaskRun pod (pkg/pod, managed-by). */
export const TEKTON_POD_SELECTOR = { 'app.kubernetes.io/managed-by': 'tekton-pipelines' };

export const EGRESS_POLICY_NAME = 'tekton-taskrun-egress';

export interface EgressPlan {
  policy: NetworkPolicy;
  /** One line per rule, in rule order: what it is for (the comments in the YAML). */
  purposes: string[];
}

function toDestination(destination: Destination): INetworkPolicyEgressRule {
  return { to: destination.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: destination.ports.map((port) => ({ protocol: 'TCP', port })) };
}

export function planEgress(config: KitConfig, options: { kubernetesApi: boolean }): EgressPlan {
  const { egress } = config;
  const rules: INetworkPolicyEgressRule[] = [];
  const purposes: string[] = [];
  rules.push({
    to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': egress.dns.namespace } }, podSelector: { matchLabels: egress.dns.podLabels } }],
    ports: egress.dns.ports.flatMap((port) => [
      { protocol: 'UDP', port },
      { protocol: 'TCP', port },
    ]),
  });
  purposes.push(`DNS: the cluster's resolver pods in ${egress.dns.namespace}`);
  for (const [kind, list] of [
    ['registry', egress.registries],
    ['package proxy', egress.packageProxies],
    ['git server', egress.gitServers],
  ] as const) {
    for (const destination of list) {
      rules.push(toDestination(destination));
      purposes.push(`${kind} ${destination.name}: ${destination.cidrs.join(', ')} on ${destination.ports.join(', ')}`);
    }
  }
  for (const collector of egress.collectors) {
    rules.push({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': collector.namespace } }, podSelector: { matchLabels: collector.podLabels } }],
      ports: collector.ports.map((port) => ({ protocol: 'TCP', port })),
    });
    purposes.push(`collector ${collector.name}: its pods in ${collector.namespace} on ${collector.ports.join(', ')} (pushgateway-url, cloudevents-sink)`);
  }
  if (options.kubernetesApi && egress.kubernetesApi) {
    rules.push({ to: egress.kubernetesApi.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: egress.kubernetesApi.port }] });
    purposes.push(`the Kubernetes API server (${egress.kubernetesApi.cidrs.join(', ')}:${egress.kubernetesApi.port}), for the tasks that read Secrets from it`);
  }
  const policy = new NetworkPolicy({
    metadata: { name: EGRESS_POLICY_NAME, namespace: config.namespace, labels: { 'app.kubernetes.io/managed-by': 'tekton-catalog-kit' } },
    spec: { podSelector: { matchLabels: { ...TEKTON_POD_SELECTOR } }, policyTypes: ['Egress'], egress: rules },
  });
  return { policy, purposes };
}
