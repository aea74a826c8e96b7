/**
 * Valid documents the validator tests break one field at a time. Each call
 * returns a fresh copy, so a test can mutate it freely.
 */

const DIGEST = `sha256:${'a'.repeat(64)}`;

/**
 * The securityContext every catalog step must carry, written out here rather
 * than taken from src/build/hardening.ts, so the tests stay an independent
 * statement of the rule.
 */
export const HARDENED_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export function hardenedStep(name: string, program: string): Record<string, unknown> {
  return {
    name,
    image: `ghcr.io/hardened-tekton/catalog/${program}@${DIGEST}`,
    args: ['--workspace', '$(workspaces.source.path)'],
    env: [
      { name: 'PARAM_GIT_REVISION', value: '$(params.git-revision)' },
      { name: 'RESULT_PATH', value: '$(results.VALIDATED.path)' },
    ],
    computeResources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    securityContext: structuredClone(HARDENED_SECURITY_CONTEXT),
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

export function validTask(): Record<string, any> {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: {
      name: 'validate-params',
      labels: { 'app.kubernetes.io/version': '0.1' },
      annotations: { 'tekton.dev/pipelines.minVersion': '0.57.0', 'tekton.dev/platforms': 'linux/amd64,linux/arm64' },
    },
    spec: {
      description: 'Validates params.\nUse $(params.x) nowhere in scripts.',
      params: [
        { name: 'git-revision', type: 'string', description: 'A commit', default: '' },
        { name: 'images', type: 'array', description: 'Images', default: [] },
        { name: 'mode', type: 'string', description: 'Mode', default: 'strict', enum: ['strict', 'lax'] },
      ],
      workspaces: [{ name: 'source', description: 'Checkout', readOnly: true }],
      results: [{ name: 'VALIDATED', description: 'true when every param passed' }],
      volumes: [{ name: 'tmp', emptyDir: {} }],
      steps: [
        { ...hardenedStep('validate', 'validate-params'), args: ['--images', '$(params.images[*])', '--mode=$(params.mode)'] },
        {
          ...hardenedStep('report', 'validate-params'),
          args: ['--exit-code-file', '$(steps.step-validate.exitCode.path)', '$(workspaces.source.path)'],
        },
      ],
    },
  };
}

export function validPipeline(): Record<string, any> {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'Pipeline',
    metadata: { name: 'gated-build' },
    spec: {
      params: [
        { name: 'git-revision', type: 'string' },
        { name: 'images', type: 'array', default: [] },
      ],
      workspaces: [{ name: 'shared' }],
      tasks: [
        {
          name: 'validate',
          taskRef: { resolver: 'bundles', params: [{ name: 'name', value: 'validate-params' }, { name: 'kind', value: 'task' }, { name: 'bundle', value: `ghcr.io/x/y@${DIGEST}` }] },
          params: [
            { name: 'git-revision', value: '$(params.git-revision)' },
            { name: 'images', value: ['$(params.images[*])'] },
          ],
          workspaces: [{ name: 'source', workspace: 'shared' }],
        },
        {
          name: 'build',
          runAfter: ['validate'],
          when: [{ input: '$(tasks.validate.results.VALIDATED)', operator: 'in', values: ['true'] }],
          taskSpec: {
            params: [{ name: 'revision', type: 'string' }],
            results: [{ name: 'digest', type: 'string' }],
            steps: [{ name: 'build', image: `busybox@${DIGEST}`, args: ['$(params.revision)', '$(params.git-revision)', '$(results.digest.path)'] }],
          },
          params: [{ name: 'revision', value: '$(params.git-revision)' }],
        },
      ],
      finally: [
        {
          name: 'notify',
          taskRef: { name: 'notify' },
          params: [
            { name: 'status', value: '$(tasks.build.status)' },
            { name: 'all', value: '$(tasks.status)' },
            { name: 'digest', value: '$(tasks.build.results.digest)' },
          ],
        },
      ],
      results: [{ name: 'digest', value: '$(tasks.build.results.digest)' }],
    },
  };
}

export function validTaskRun(): Record<string, any> {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'TaskRun',
    metadata: { generateName: 'validate-params-run-' },
    spec: {
      taskRef: { name: 'validate-params' },
      params: [{ name: 'git-revision', value: 'a'.repeat(40) }],
      workspaces: [{ name: 'source', emptyDir: {} }],
      timeout: '10m',
    },
  };
}

export function validPipelineRun(): Record<string, any> {
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'PipelineRun',
    metadata: { name: 'gated-build-run' },
    spec: {
      pipelineRef: { name: 'gated-build' },
      params: [{ name: 'git-revision', value: 'a'.repeat(40) }],
      workspaces: [{ name: 'shared', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } }],
      timeouts: { pipeline: '1h' },
    },
  };
}

export function validStepAction(): Record<string, any> {
  return {
    apiVersion: 'tekton.dev/v1beta1',
    kind: 'StepAction',
    metadata: { name: 'validate' },
    spec: {
      image: `ghcr.io/x/y@${DIGEST}`,
      params: [{ name: 'value', type: 'string' }],
      results: [{ name: 'ok' }],
      args: ['$(params.value)', '$(step.results.ok.path)'],
    },
  };
}
