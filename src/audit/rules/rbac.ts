import { quoteUntrusted } from '../../errors.ts';
import type { KubePolicyRule } from '../model/kubernetes.ts';
import type { AuditDocument } from '../model/documents.ts';
import type { Check, RuleContext, RuleMeta } from './rule.ts';

/**
 * Adversary 1: a pipeline's service account that can do far more than the
 * pipeline needs. Any Task the account runs, including one a developer
 * wrote, can then read every secret or take over the cluster.
 */

const LEAST_PRIVILEGE = `Give each pipeline its own service account and a Role that names exactly what it needs:

\`\`\`yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: build-pipeline-role
  namespace: tekton-pipelines
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["git-deploy-key", "registry-push-creds"]
    verbs: ["get"]
\`\`\``;

export const boundToAdminRole: RuleMeta = {
  id: 'TA101',
  name: 'sa-bound-to-admin-role',
  severity: 'error',
  securitySeverity: 9.5,
  adversary: 1,
  group: 'rbac',
  summary: 'A service account is bound to cluster-admin, admin or edit.',
  help: `Every Task that runs as this account can read the namespace's (or, for cluster-admin, the cluster's) secrets and create pods. Bind a Role of its own instead.\n\n${LEAST_PRIVILEGE}`,
};

export const secretsWithoutNames: RuleMeta = {
  id: 'TA102',
  name: 'secrets-readable-without-names',
  severity: 'error',
  securitySeverity: 8.5,
  adversary: 1,
  group: 'rbac',
  summary: 'A Role lets its subjects get, list or watch secrets without naming them in resourceNames.',
  help: `\`kubectl get secrets\` in a step then prints every secret of the namespace (or of the cluster, for a ClusterRole). Name the secrets and grant only \`get\`: \`list\` and \`watch\` cannot be limited to names.\n\n${LEAST_PRIVILEGE}`,
};

export const rbacWildcard: RuleMeta = {
  id: 'TA103',
  name: 'rbac-wildcard',
  severity: 'error',
  securitySeverity: 8.5,
  adversary: 1,
  group: 'rbac',
  summary: 'A Role grants wildcard (`*`) verbs or resources.',
  help: `A wildcard includes everything the API server serves today and every resource added later, secrets and pods among them. List the resources and verbs the pipeline uses.\n\n${LEAST_PRIVILEGE}`,
};

export const rbacEscalation: RuleMeta = {
  id: 'TA104',
  name: 'rbac-escalation-permission',
  severity: 'error',
  securitySeverity: 8.8,
  adversary: 1,
  group: 'rbac',
  summary: 'A Role grants a permission that leads to more: pods/exec, creating pods, tokens, impersonate, escalate or bind.',
  help: `Creating a pod (or exec into one) runs code as any service account of the namespace; \`impersonate\`, \`escalate\` and \`bind\` grant themselves more rights; creating \`serviceaccounts/token\` mints credentials. Pipelines create pods through the Tekton controller, never themselves: drop these permissions.\n\n${LEAST_PRIVILEGE}`,
};

const POWERFUL_CLUSTER_ROLES = new Set(['cluster-admin', 'admin', 'edit']);
const READ_VERBS = ['get', 'list', 'watch', '*'];

function coversCoreGroup(rule: KubePolicyRule): boolean {
  return (rule.apiGroups ?? ['']).some((g) => g === '' || g === '*');
}

/** What a rule grants that leads to more rights, in words. */
function escalations(rule: KubePolicyRule): string[] {
  const verbs = new Set(rule.verbs);
  const any = verbs.has('*');
  const resources = new Set(rule.resources ?? []);
  const out: string[] = [];
  for (const verb of ['impersonate', 'escalate', 'bind']) if (verbs.has(verb)) out.push(`the ${verb} verb`);
  if (!coversCoreGroup(rule) || resources.has('*')) return out;
  if (resources.has('pods') && (any || verbs.has('create'))) out.push('create pods');
  for (const sub of ['pods/exec', 'pods/attach']) if (resources.has(sub) && (any || verbs.has('create') || verbs.has('get'))) out.push(sub);
  if (resources.has('serviceaccounts/token') && (any || verbs.has('create'))) out.push('create serviceaccounts/token');
  if (resources.has('nodes/proxy')) out.push('nodes/proxy');
  return out;
}

function checkRole(context: RuleContext, doc: Extract<AuditDocument, { kind: 'Role' | 'ClusterRole' }>): void {
  if (doc.data.aggregationRule) return; // its rules are filled in by the controller
  (doc.data.rules ?? []).forEach((rule, i) => {
    const at = { doc, path: ['rules', i] };
    const verbs = rule.verbs;
    const resources = rule.resources ?? [];
    const wildVerbs = verbs.includes('*');
    const wildResources = resources.includes('*') || (rule.apiGroups ?? []).includes('*') && resources.length === 0;
    if (wildVerbs || wildResources) {
      const what = [wildVerbs ? 'every verb' : '', wildResources ? 'every resource' : ''].filter(Boolean).join(' on ');
      context.report(rbacWildcard, { ...at, path: ['rules', i, wildVerbs ? 'verbs' : 'resources'] }, `${doc.kind} ${quoteUntrusted(doc.name)} grants ${what}`);
    }
    const secrets = coversCoreGroup(rule) && (resources.includes('secrets') || resources.includes('*'));
    if (secrets && verbs.some((v) => READ_VERBS.includes(v)) && (rule.resourceNames ?? []).length === 0) {
      const granted = verbs.filter((v) => READ_VERBS.includes(v)).join(', ');
      const scope = doc.kind === 'ClusterRole' ? 'in every namespace it is bound for' : 'in its namespace';
      context.report(secretsWithoutNames, { ...at, path: ['rules', i, 'resources'] }, `${doc.kind} ${quoteUntrusted(doc.name)} grants ${granted} on all secrets ${scope}`);
    }
    const leads = escalations(rule);
    if (leads.length > 0) {
      context.report(rbacEscalation, { ...at, path: ['rules', i, 'verbs'] }, `${doc.kind} ${quoteUntrusted(doc.name)} grants ${leads.join(', ')}`);
    }
  });
}

/** Service accounts the runs in the input use (Tekton's default is "default"). */
function runServiceAccounts(context: RuleContext): Set<string> {
  const names = new Set<string>();
  for (const doc of context.model.documents) {
    const spec = (doc.kind === 'TaskRun' || doc.kind === 'PipelineRun' ? doc.data.spec : undefined) as
      | { serviceAccountName?: string; taskRunTemplate?: { serviceAccountName?: string } }
      | undefined;
    if (!spec) continue;
    names.add(spec.serviceAccountName ?? spec.taskRunTemplate?.serviceAccountName ?? 'default');
  }
  return names;
}

function checkBinding(context: RuleContext, doc: Extract<AuditDocument, { kind: 'RoleBinding' | 'ClusterRoleBinding' }>, used: Set<string>): void {
  const role = doc.data.roleRef;
  if (role.kind !== 'ClusterRole' || !POWERFUL_CLUSTER_ROLES.has(role.name)) return;
  const accounts = (doc.data.subjects ?? []).filter(
    (s) => s.kind === 'ServiceAccount' || (s.kind === 'Group' && s.name.startsWith('system:serviceaccounts')),
  );
  if (accounts.length === 0) return;
  const names = accounts.map((s) => (s.kind === 'Group' ? `every service account in group ${quoteUntrusted(s.name)}` : quoteUntrusted(s.name)));
  const runs = accounts.some((s) => used.has(s.name)) ? ', which the runs in the input use' : '';
  const scope = doc.kind === 'ClusterRoleBinding' ? 'across the whole cluster' : 'in its namespace';
  context.report(
    boundToAdminRole,
    { doc, path: ['roleRef', 'name'] },
    `${doc.kind} ${quoteUntrusted(doc.name)} gives ${names.join(', ')}${runs} the ${role.name} role ${scope}`,
  );
}

const checkRbac: Check = (context) => {
  const used = runServiceAccounts(context);
  for (const doc of context.model.documents) {
    if (doc.kind === 'Role' || doc.kind === 'ClusterRole') checkRole(context, doc);
    else if (doc.kind === 'RoleBinding' || doc.kind === 'ClusterRoleBinding') checkBinding(context, doc, used);
  }
};

export const rbacRules = { rules: [boundToAdminRole, secretsWithoutNames, rbacWildcard, rbacEscalation], checks: [checkRbac] };
