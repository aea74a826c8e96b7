import { CatalogError } from '../errors.ts';

/** The user every step image and every emitted step runs as (distroless' "nonroot"). */
export const STEP_USER_ID = 65532;

/** The securityContext every emitted step gets; the catalog emits no other. */
export function hardenedSecurityContext() {
  return {
    runAsNonRoot: true,
    runAsUser: STEP_USER_ID,
    runAsGroup: STEP_USER_ID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The read-only root needs somewhere to write: an emptyDir at /tmp for every step. */
export const TMP_VOLUME = { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } };
export const TMP_MOUNT = { name: 'tmp', mountPath: '/tmp' };

// An optional tag before the digest (`…/steps/x:0.1.0@sha256:…`) is for people and tools; the digest is what pins it.
const PINNED_IMAGE = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$/;

interface EmittedStep {
  name: string;
  image: string;
  command?: string[];
  script?: string;
  securityContext?: unknown;
  computeResources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/**
 * Checks an emitted step against the catalog's hardening rules. The emitter
 * builds steps this way by construction; this check guards the emitter
 * itself, so a regression there can never reach the catalog.
 */
export function hardeningViolations(step: EmittedStep): string[] {
  const problems: string[] = [];
  if (!PINNED_IMAGE.test(step.image)) problems.push(`image ${step.image} is not pinned by a sha256 digest`);
  if (JSON.stringify(step.securityContext) !== JSON.stringify(hardenedSecurityContext())) {
    problems.push('securityContext is not the hardened one (non-root 65532, read-only root, no escalation, no capabilities, RuntimeDefault seccomp)');
  }
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (!step.computeResources?.[kind]?.[resource]) problems.push(`computeResources.${kind}.${resource} is missing`);
    }
  }
  if (step.script !== undefined && step.script.includes('$(')) {
    problems.push('script holds a $(...) substitution; pass values through env or args instead');
  }
  // Without a command Tekton's controller looks the entrypoint up in the registry before the pod can start.
  if (step.script === undefined && !(Array.isArray(step.command) && step.command.length > 0 && step.command[0]!.startsWith('/'))) {
    problems.push("has no command: set it to the image's Entrypoint (an absolute path first) so Tekton never looks it up in the registry");
  }
  if (step.script !== undefined && step.command !== undefined) problems.push('sets both script and command, which Tekton refuses');
  return problems;
}

export function assertHardened(taskName: string, steps: EmittedStep[]): void {
  const problems = steps.flatMap((step) => hardeningViolations(step).map((problem) => `step ${step.name}: ${problem}`));
  if (problems.length > 0) {
    throw new CatalogError('BUILD_NOT_HARDENED', `Task ${taskName} is not hardened:\n  ${problems.join('\n  ')}`);
  }
}
