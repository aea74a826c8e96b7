import { defineComposedSample } from '../src/build/stepaction-build.ts';

/**
 * A Task of your own composed from two catalog StepActions: validate-params
 * checks the run uid, then workspace-guard seals the source workspace and
 * verifies the seal in a second step, which reads the first one's digest
 * through a step result. The repository's tests run it in the chroot harness.
 */
const resources = { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } };
const guardResources = { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } };

export default defineComposedSample({
  file: 'validated-seal.yaml',
  description: 'A Task of your own that runs validate-params, then workspace-guard twice (seal, then verify against the seal\'s digest passed as a step result).',
  documents: [
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'Task',
      metadata: { name: 'validated-seal' },
      spec: {
        description: 'Checks the run uid, then seals the source workspace and verifies the seal, with two catalog StepActions.',
        params: [{ name: 'run-uid', type: 'string', description: 'The PipelineRun uid: pass $(context.pipelineRun.uid).' }],
        workspaces: [{ name: 'source', description: 'The workspace to seal.' }],
        results: [
          { name: 'PARAMS_DIGEST', type: 'string', description: 'What validate-params checked.', value: '$(steps.validate.results.PARAMS_DIGEST)' },
          { name: 'manifest-digest', type: 'string', description: 'The seal the verify step checked.', value: '$(steps.verify.results.manifest-digest)' },
        ],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        steps: [
          {
            name: 'validate',
            ref: { name: 'validate-params' },
            params: [
              { name: 'rules', value: 'run-uid: {type: regex, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,127}", maxLength: 128}\n' },
              { name: 'values', value: ['run-uid=$(params.run-uid)'] },
            ],
            computeResources: resources,
          },
          {
            name: 'seal',
            ref: { name: 'workspace-guard' },
            params: [
              { name: 'mode', value: 'seal' },
              { name: 'run-uid', value: '$(params.run-uid)' },
              { name: 'target-path', value: '$(workspaces.source.path)' },
            ],
            computeResources: guardResources,
          },
          {
            name: 'verify',
            ref: { name: 'workspace-guard' },
            params: [
              { name: 'mode', value: 'verify' },
              { name: 'run-uid', value: '$(params.run-uid)' },
              { name: 'expected-digest', value: '$(steps.seal.results.manifest-digest)' },
              { name: 'target-path', value: '$(workspaces.source.path)' },
            ],
            computeResources: guardResources,
          },
        ],
      },
    },
  ],
});
