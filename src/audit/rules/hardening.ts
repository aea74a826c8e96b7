import { quoteUntrusted } from '../../errors.ts';
import type { ContainerSite } from '../model/audit-model.ts';
import type { Check, RuleContext, RuleMeta } from './rule.ts';

/**
 * Weak container settings, judged after the Task's stepTemplate is merged
 * into each step the way Tekton merges it. A run's podTemplate can add
 * pod-level settings; the Task alone cannot count on them.
 */

const HARDENED = `Set it on the step, or once for every step in the Task's \`stepTemplate\`:

\`\`\`yaml
stepTemplate:
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
  computeResources:
    requests: {cpu: 100m, memory: 128Mi}
    limits: {cpu: "1", memory: 512Mi}
volumes:
  - name: tmp
    emptyDir: {}
steps:
  - name: build
    volumeMounts:
      - name: tmp
        mountPath: /tmp      # a writable /tmp beside the read-only root
\`\`\``;

export const privileged: RuleMeta = {
  id: 'TA601',
  name: 'step-privileged',
  severity: 'error',
  securitySeverity: 9.0,
  group: 'hardening',
  summary: 'A step runs privileged: it has every capability and the host\'s devices.',
  help: `A privileged container can load kernel modules and mount the host's disks; a compromised step owns the node. Drop \`privileged\`, and build images with a rootless builder (buildah --storage-driver=vfs, kaniko, BuildKit rootless) if that was why.\n\n${HARDENED}`,
};

export const runsAsRoot: RuleMeta = {
  id: 'TA602',
  name: 'step-may-run-as-root',
  severity: 'warning',
  securitySeverity: 6.0,
  group: 'hardening',
  summary: 'A step does not set runAsNonRoot: true (nor a non-zero runAsUser), so it runs as root when its image says so.',
  help: `Root in a container is one kernel bug away from root on the node, and owns every file in the shared workspace.\n\n${HARDENED}`,
};

export const privilegeEscalation: RuleMeta = {
  id: 'TA603',
  name: 'step-privilege-escalation',
  severity: 'warning',
  securitySeverity: 5.5,
  group: 'hardening',
  summary: 'A step does not set allowPrivilegeEscalation: false, so setuid binaries can gain privileges.',
  help: `Kubernetes allows privilege escalation unless it is turned off.\n\n${HARDENED}`,
};

export const writableRoot: RuleMeta = {
  id: 'TA604',
  name: 'step-writable-root-fs',
  severity: 'warning',
  securitySeverity: 4.0,
  group: 'hardening',
  summary: 'A step does not set readOnlyRootFilesystem: true.',
  help: `A writable root lets a compromised step replace the tools the next command runs. Mount an emptyDir where the step must write.\n\n${HARDENED}`,
};

export const capabilitiesKept: RuleMeta = {
  id: 'TA605',
  name: 'step-capabilities-not-dropped',
  severity: 'warning',
  securitySeverity: 5.0,
  group: 'hardening',
  summary: 'A step keeps Linux capabilities: it does not drop ALL, or adds some back.',
  help: `The default capability set includes CAP_NET_RAW, CAP_CHOWN and CAP_SETUID, which a build step does not need.\n\n${HARDENED}`,
};

export const noLimits: RuleMeta = {
  id: 'TA701',
  name: 'step-no-memory-limit',
  severity: 'warning',
  securitySeverity: 3.0,
  group: 'hardening',
  summary: 'A step has no memory limit (computeResources.limits.memory).',
  help: `Without a limit one runaway or malicious step can starve every pod on the node, and a spike in duration or memory is the exfiltration signal the seed's telemetry watches for.\n\n${HARDENED}`,
};

const DANGEROUS_CAPABILITIES = new Set(['ALL', 'SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_MODULE', 'DAC_READ_SEARCH', 'SYS_RAWIO', 'BPF']);

function what(site: ContainerSite): string {
  if (site.kind === 'StepAction') return `StepAction ${quoteUntrusted(site.doc.name)}`;
  return `${site.kind} ${quoteUntrusted(site.name)} of ${site.task?.label ?? site.doc.resource}`;
}

function checkContainer(context: RuleContext, site: ContainerSite): void {
  const sc = site.securityContext;
  const scPath = [...site.path, 'securityContext'];
  const at = (field?: string) => ({ doc: site.doc, path: field ? [...scPath, field] : scPath });
  if (sc.privileged === true) context.report(privileged, at('privileged'), `${what(site)} runs privileged`);
  if (sc.runAsUser === 0) {
    context.report(runsAsRoot, at('runAsUser'), `${what(site)} runs as root (runAsUser: 0)`, { severity: 'error' });
  } else if (sc.runAsNonRoot !== true && !(typeof sc.runAsUser === 'number' && sc.runAsUser > 0)) {
    context.report(runsAsRoot, at(sc.runAsNonRoot === false ? 'runAsNonRoot' : undefined), `${what(site)} does not set runAsNonRoot: true`);
  }
  if (sc.allowPrivilegeEscalation !== false) {
    context.report(privilegeEscalation, at(sc.allowPrivilegeEscalation === true ? 'allowPrivilegeEscalation' : undefined), `${what(site)} does not set allowPrivilegeEscalation: false`);
  }
  if (sc.readOnlyRootFilesystem !== true) context.report(writableRoot, at(), `${what(site)} does not set readOnlyRootFilesystem: true`);
  const dropped = (sc.capabilities?.drop ?? []).some((c) => c.toUpperCase() === 'ALL');
  const added = (sc.capabilities?.add ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ''));
  if (!dropped || added.length > 0) {
    const parts = [!dropped ? 'does not drop ALL capabilities' : '', added.length > 0 ? `adds ${added.map((c) => quoteUntrusted(c)).join(', ')}` : ''].filter(Boolean);
    const severe = added.some((c) => DANGEROUS_CAPABILITIES.has(c));
    context.report(capabilitiesKept, at('capabilities'), `${what(site)} ${parts.join(' and ')}`, severe ? { severity: 'error' } : undefined);
  }
  const memory = site.limits?.memory;
  if (memory === undefined || memory === '' || memory === 0 || memory === '0') {
    context.report(noLimits, { doc: site.doc, path: [...site.path, 'computeResources'] }, `${what(site)} has no memory limit`);
  }
}

const checkContainers: Check = (context) => {
  for (const site of context.model.containers) {
    // A StepAction reference brings its own settings: its document is audited; an unresolved one cannot be judged.
    if (site.stepAction !== 'none') continue;
    checkContainer(context, site);
  }
};

export const hardeningRules = {
  rules: [privileged, runsAsRoot, privilegeEscalation, writableRoot, capabilitiesKept, noLimits],
  checks: [checkContainers],
};
