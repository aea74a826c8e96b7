import { defineRunTest } from '../../../src/build/definition.ts';

const CLAIM = { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } };

/**
 * tests/run.yaml: seal a fresh volume, verify it against the sealed digest,
 * police it. fsGroup 65532 makes the volume writable by the step user; uid
 * 0 is allowed because a fresh ext4 volume holds a root-owned lost+found.
 */
export default defineRunTest({
  description:
    'a PipelineRun seals a fresh volume, verifies it against the digest the seal returned and polices it, all with the PipelineRun uid as run marker; every task must succeed. It needs a default StorageClass that honours fsGroup.',
  documents: [
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      metadata: { name: 'workspace-guard-run' },
      spec: {
        pipelineSpec: {
          workspaces: [{ name: 'source' }, { name: 'guard-state' }],
          tasks: [
            {
              name: 'seal',
              taskRef: { name: 'workspace-guard' },
              params: [
                { name: 'mode', value: 'seal' },
                { name: 'run-uid', value: '$(context.pipelineRun.uid)' },
                { name: 'allowed-uids', value: '0,65532' },
              ],
              workspaces: [
                { name: 'target', workspace: 'source' },
                { name: 'manifest', workspace: 'guard-state' },
              ],
            },
            {
              name: 'verify',
              runAfter: ['seal'],
              taskRef: { name: 'workspace-guard' },
              params: [
                { name: 'mode', value: 'verify' },
                { name: 'run-uid', value: '$(context.pipelineRun.uid)' },
                { name: 'expected-digest', value: '$(tasks.seal.results.manifest-digest)' },
                { name: 'allowed-uids', value: '0,65532' },
              ],
              workspaces: [
                { name: 'target', workspace: 'source' },
                { name: 'manifest', workspace: 'guard-state' },
              ],
            },
            {
              name: 'police',
              runAfter: ['verify'],
              taskRef: { name: 'workspace-guard' },
              params: [
                { name: 'mode', value: 'police' },
                { name: 'run-uid', value: '$(context.pipelineRun.uid)' },
                { name: 'allowed-uids', value: '0,65532' },
              ],
              workspaces: [{ name: 'target', workspace: 'source' }],
            },
          ],
        },
        taskRunTemplate: { podTemplate: { securityContext: { fsGroup: 65532 } } },
        workspaces: [
          { name: 'source', volumeClaimTemplate: CLAIM },
          { name: 'guard-state', volumeClaimTemplate: CLAIM },
        ],
      },
    },
  ],
});
