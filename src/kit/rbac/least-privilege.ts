import { ServiceAccount } from 'kubernetes-models/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import type { TaskDefinition } from '../../build/definition.ts';
import { dns1123SubdomainProblem } from '../../tekton/names.ts';
import type { KitConfig } from '../config/kit-config.ts';
import { catalogPipelineTasks, knownParamValue, type PipelineDocument } from '../pipeline/pipeline-tasks.ts';

/**
 * Least-privilege RBAC for one Pipeline (the seed's step 1), from what its
 * catalog Tasks declare they read from the Kubernetes API
 * (`kubernetesAccess` in tasks/<name>/task.ts) and nothing else:
 *
 * - `<pipeline>-runner`: the service account every TaskRun of the Pipeline
 *   runs as (`taskRunTemplate.serviceAccountName`). It has no Role and
 *   `automountServiceAccountToken: false`, so the user's own clone, build
 *   and push tasks get no token at all;
 * - `<pipeline>-api-reader`, only when a task reads the API: a Role with
 *   `get` on exactly the named objects (resourceNames), bound to a second
 *   service account that only those pipeline tasks run as
 *   (`taskRunSpecs[].serviceAccountName`). Never list or watch (they cannot
 *   be narrowed to names), no wildcard, no pods/exec, nothing cluster-wide.
 */

export interface RbacPlan {
  runner: ServiceAccount;
  apiReader?: { serviceAccount: ServiceAccount; role: Role; roleBinding: RoleBinding; pipelineTasks: string[] };
  /** Pipeline tasks the kit knows nothing about (the user's own): they get no API access. */
  unknownTasks: string[];
  /** Why each grant is there, for the comments in the Role. */
  reasons: string[];
}

export function runnerServiceAccountName(pipeline: string): string {
  return `${pipeline}-runner`;
}

export function apiReaderName(pipeline: string): string {
  return `${pipeline}-api-reader`;
}

export function planRbac(pipeline: PipelineDocument, definitions: readonly TaskDefinition[], config: KitConfig): RbacPlan {
  const name = pipeline.metadata.name;
  const namespace = config.namespace;
  const tasks = catalogPipelineTasks(pipeline, definitions);
  const grants = new Map<string, { apiGroup: string; resource: string; verbs: Set<string>; names: Set<string> }>();
  const readers: string[] = [];
  const reasons: string[] = [];
  for (const entry of tasks.catalog) {
    for (const access of entry.definition.kubernetesAccess) {
      if (access.when && knownParamValue(pipeline, entry, access.when.param, config.params) !== access.when.equals) continue;
      const object = knownParamValue(pipeline, entry, access.nameParam, config.params);
      const problem = dns1123SubdomainProblem(object);
      if (problem !== undefined) {
        throw new CatalogError('CONFIG_KIT_PARAM_UNKNOWN', `pipeline task ${quoteUntrusted(entry.pipelineTask)}: ${access.nameParam} ${quoteUntrusted(object)} is not a Kubernetes object name (${problem})`, {
          hint: 'pass the name of the object the task reads',
        });
      }
      const key = `${access.apiGroup}/${access.resource}`;
      const grant = grants.get(key) ?? { apiGroup: access.apiGroup, resource: access.resource, verbs: new Set<string>(), names: new Set<string>() };
      for (const verb of access.verbs) grant.verbs.add(verb);
      grant.names.add(object);
      grants.set(key, grant);
      if (!readers.includes(entry.pipelineTask)) readers.push(entry.pipelineTask);
      reasons.push(`${entry.pipelineTask} (${entry.definition.name}): ${access.verbs.join(', ')} ${access.resource} ${object}: ${access.why}`);
    }
  }
  const labels = { 'app.kubernetes.io/part-of': name, 'app.kubernetes.io/managed-by': 'tekton-catalog-kit' };
  const runner = new ServiceAccount({
    metadata: { name: runnerServiceAccountName(name), namespace, labels },
    automountServiceAccountToken: false,
  });
  if (grants.size === 0) return { runner, unknownTasks: tasks.other, reasons };
  const rules: IPolicyRule[] = [...grants.values()]
    .sort((a, b) => (`${a.apiGroup}/${a.resource}` < `${b.apiGroup}/${b.resource}` ? -1 : 1))
    .map((grant) => ({ apiGroups: [grant.apiGroup], resources: [grant.resource], resourceNames: [...grant.names].sort(), verbs: [...grant.verbs].sort() }));
  const reader = apiReaderName(name);
  return {
    runner,
    apiReader: {
      serviceAccount: new ServiceAccount({ metadata: { name: reader, namespace, labels } }),
      role: new Role({ metadata: { name: reader, namespace, labels }, rules }),
      roleBinding: new RoleBinding({
        metadata: { name: reader, namespace, labels },
        subjects: [{ kind: 'ServiceAccount', name: reader, namespace }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: reader },
      }),
      pipelineTasks: readers,
    },
    unknownTasks: tasks.other,
    reasons,
  };
}
