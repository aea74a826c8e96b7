import { quoteUntrusted } from '../../errors.ts';
import type { TektonPipelineSpec } from '../../tekton/models.ts';
import type { PipelineSite, PipelineTaskSite } from '../model/audit-model.ts';
import type { AuditDocument } from '../model/documents.ts';
import { dependsOn, taskNameOf } from './pipeline-graph.ts';
import type { Check, RuleContext, RuleMeta } from './rule.ts';

/**
 * Adversaries 2 and 5: workspaces that carry credentials to code that
 * should never see them, and volumes that outlive the run that wrote them.
 */

export const credentialWorkspaceShared: RuleMeta = {
  id: 'TA201',
  name: 'credential-workspace-shared',
  severity: 'error',
  securitySeverity: 8.5,
  adversary: 2,
  group: 'workspaces',
  summary: 'A workspace that holds credentials is also bound to a task that does not need them.',
  help: `Any step of that task can read the credentials and send them anywhere. Keep credentials in a workspace of their own, bound only to the tasks that use them; if a task must share the volume, scrub it first with the catalog's workspace-guard (mode scrub):

\`\`\`yaml
workspaces:
  - name: source-code
  - name: credentials          # bound only to clone and push
tasks:
  - name: clone
    taskRef: {name: git-clone}
    workspaces:
      - {name: output, workspace: source-code}
      - {name: ssh-directory, workspace: credentials}
  - name: build                # user-controlled: source-code only
    runAfter: [clone]
    taskRef: {name: user-build-task}
    workspaces:
      - {name: source, workspace: source-code}
\`\`\``,
};

export const workspaceSharedAcrossRunsRwx: RuleMeta = {
  id: 'TA501',
  name: 'workspace-rwx-claim',
  severity: 'error',
  securitySeverity: 7.5,
  adversary: 5,
  group: 'workspaces',
  summary: 'A run binds a workspace to an existing ReadWriteMany claim that concurrent runs share.',
  help: `Two runs mounting the same ReadWriteMany claim read and write each other's files: run A can leave a binary that run B executes. Give every run a fresh claim:

\`\`\`yaml
workspaces:
  - name: source-code
    volumeClaimTemplate:
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: 1Gi
\`\`\``,
};

export const workspaceSharedAcrossRuns: RuleMeta = {
  id: 'TA502',
  name: 'workspace-existing-claim',
  severity: 'warning',
  securitySeverity: 5.5,
  adversary: 5,
  group: 'workspaces',
  summary: 'A run binds a workspace to a named, existing claim, which every run of it reuses.',
  help: `Files left by an earlier run (or by a concurrent one, if the claim is ReadWriteMany) are there when the next run starts. Use a \`volumeClaimTemplate\` so each run gets a fresh volume, or police the workspace with the catalog's workspace-guard before using it.\n\n${workspaceSharedAcrossRunsRwx.help.slice(workspaceSharedAcrossRunsRwx.help.indexOf('```'))}`,
};

/** Task workspace names under which credentials are mounted (git-clone's ssh-directory and basic-auth, docker configs, …). */
const CREDENTIAL_WORKSPACE = /(^|[-_])(ssh|ssh-directory|basic-auth|auth|cred|creds|credentials|secret|secrets|token|tokens|dockerconfig|docker-config|docker-credentials|kubeconfig|netrc|git-credentials|gitconfig)($|[-_])/i;
/** Tasks that write or clean credentials, and may share them by design. */
const CREDENTIAL_HANDLERS = new Set(['inject-credentials', 'workspace-guard']);

export function isCredentialWorkspaceName(name: string): boolean {
  return CREDENTIAL_WORKSPACE.test(name);
}

interface Binding {
  site: PipelineTaskSite;
  index: number;
  /** The Task's own name for the workspace. */
  taskWorkspace: string;
}

/** Pipeline workspaces a run in the input backs with a Secret, per Pipeline spec. */
function secretBackedWorkspaces(context: RuleContext): Map<TektonPipelineSpec, Set<string>> {
  const out = new Map<TektonPipelineSpec, Set<string>>();
  for (const doc of context.model.ofKind('PipelineRun')) {
    const secrets = (doc.data.spec.workspaces ?? []).filter((w) => w.secret !== undefined).map((w) => w.name);
    if (secrets.length === 0) continue;
    let spec = doc.data.spec.pipelineSpec;
    const refName = doc.data.spec.pipelineRef?.name;
    if (!spec && refName) {
      const pipeline = context.model.resolver.localPipeline(refName, doc.source.file.name);
      if (pipeline?.kind === 'Pipeline') spec = pipeline.data.spec;
    }
    if (!spec) continue;
    const set = out.get(spec) ?? new Set<string>();
    for (const name of secrets) set.add(name);
    out.set(spec, set);
  }
  return out;
}

function scrubbedBefore(pipeline: PipelineSite, sites: PipelineTaskSite[], workspace: string, user: PipelineTaskSite): boolean {
  return sites.some((site) => {
    if (taskNameOf(site) !== 'workspace-guard') return false;
    const mode = site.task.params?.find((p) => p.name === 'mode')?.value;
    const binds = (site.task.workspaces ?? []).some((w) => (w.workspace ?? w.name) === workspace);
    return mode === 'scrub' && binds && dependsOn(pipeline.spec, user.task.name, site.task.name);
  });
}

const checkCredentialSharing: Check = (context) => {
  if (!context.enabled(credentialWorkspaceShared)) return;
  const secretBacked = secretBackedWorkspaces(context);
  const byPipeline = new Map<PipelineSite, PipelineTaskSite[]>();
  for (const site of context.model.pipelineTasks) {
    const list = byPipeline.get(site.pipeline) ?? [];
    list.push(site);
    byPipeline.set(site.pipeline, list);
  }
  for (const [pipeline, sites] of byPipeline) {
    const bindings = new Map<string, Binding[]>();
    for (const site of sites) {
      (site.task.workspaces ?? []).forEach((binding, index) => {
        const target = binding.workspace ?? binding.name;
        const list = bindings.get(target) ?? [];
        list.push({ site, index, taskWorkspace: binding.name });
        bindings.set(target, list);
      });
    }
    for (const [workspace, list] of bindings) {
      const writers = list.filter(
        (b) => isCredentialWorkspaceName(b.taskWorkspace) || (taskNameOf(b.site) === 'inject-credentials' && b.taskWorkspace === 'credentials'),
      );
      const fromSecret = secretBacked.get(pipeline.spec)?.has(workspace) ?? false;
      if (writers.length === 0 && !fromSecret) continue;
      const source = writers[0] ? `task ${quoteUntrusted(writers[0].site.task.name)} mounts it as ${quoteUntrusted(writers[0].taskWorkspace)}` : 'a run backs it with a Secret';
      for (const binding of list) {
        if (writers.includes(binding)) continue;
        const name = taskNameOf(binding.site);
        if (name && CREDENTIAL_HANDLERS.has(name)) continue;
        if (scrubbedBefore(pipeline, sites, workspace, binding.site)) continue;
        context.report(
          credentialWorkspaceShared,
          { doc: pipeline.doc, path: [...binding.site.path, 'workspaces', binding.index] },
          `workspace ${quoteUntrusted(workspace)} holds credentials (${source}) and is also bound to task ${quoteUntrusted(binding.site.task.name)} as ${quoteUntrusted(binding.taskWorkspace)}`,
          { key: workspace },
        );
      }
    }
  }
};

function claimAccessModes(context: RuleContext, claim: string, from: AuditDocument): string[] | undefined {
  const claims = context.model.ofKind('PersistentVolumeClaim').filter((c) => c.name === claim && (c.namespace === undefined || from.namespace === undefined || c.namespace === from.namespace));
  return claims[0]?.data.spec?.accessModes;
}

const checkRunWorkspaces: Check = (context) => {
  for (const doc of context.model.ofKind('TaskRun', 'PipelineRun')) {
    (doc.data.spec.workspaces ?? []).forEach((binding, i) => {
      const claim = binding.persistentVolumeClaim?.claimName;
      if (claim === undefined) return;
      const modes = claimAccessModes(context, claim, doc);
      const at = { doc, path: ['spec', 'workspaces', i, 'persistentVolumeClaim', 'claimName'] };
      if (modes?.includes('ReadWriteMany')) {
        context.report(workspaceSharedAcrossRunsRwx, at, `${doc.kind} ${quoteUntrusted(doc.name)} binds workspace ${quoteUntrusted(binding.name)} to claim ${quoteUntrusted(claim)}, which is ReadWriteMany: concurrent runs share it`);
      } else {
        context.report(workspaceSharedAcrossRuns, at, `${doc.kind} ${quoteUntrusted(doc.name)} binds workspace ${quoteUntrusted(binding.name)} to the existing claim ${quoteUntrusted(claim)}, which every run reuses`);
      }
    });
  }
};

export const workspaceRules = {
  rules: [credentialWorkspaceShared, workspaceSharedAcrossRunsRwx, workspaceSharedAcrossRuns],
  checks: [checkCredentialSharing, checkRunWorkspaces],
};
