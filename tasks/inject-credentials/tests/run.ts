import { defineRunTest } from '../../../src/build/definition.ts';

// A throwaway credential for a host that does not exist; the Secret exists only in the test namespace.
const AUTH = Buffer.from('catalog-test:not-a-real-password').toString('base64');

/**
 * tests/run.yaml: a docker-config Secret with two registries, injected for
 * one of them into a memory-backed emptyDir, as the README recommends
 * within one TaskRun.
 */
export default defineRunTest({
  description:
    'a TaskRun injects a kubernetes.io/dockerconfigjson Secret holding two registries, scoped to one of them, into a memory-backed emptyDir; it must succeed with one fingerprinted docker/config.json.',
  documents: [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'inject-credentials-test-registry' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: {
        '.dockerconfigjson': JSON.stringify({
          auths: { 'registry.example.com': { auth: AUTH }, 'other.example.com': { auth: AUTH } },
        }),
      },
    },
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: { name: 'inject-credentials-run' },
      spec: {
        taskRef: { name: 'inject-credentials' },
        params: [
          { name: 'secret-name', value: 'inject-credentials-test-registry' },
          { name: 'secret-type', value: 'kubernetes.io/dockerconfigjson' },
          { name: 'allowed-hosts', value: ['registry.example.com'] },
          { name: 'expires', value: '15m' },
        ],
        workspaces: [
          { name: 'secret', secret: { secretName: 'inject-credentials-test-registry' } },
          { name: 'credentials', emptyDir: { medium: 'Memory' } },
        ],
      },
    },
  ],
});
