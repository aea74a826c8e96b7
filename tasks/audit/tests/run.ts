import { defineRunTest } from '../../../src/build/definition.ts';

/**
 * tests/run.yaml: audit a ConfigMap holding one hardened Task, written the way
 * this catalog writes its own: pinned image, params only through env, every
 * securityContext setting and limits. The audit must find nothing.
 */
const CLEAN_TASK = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: hello
spec:
  params:
    - name: greeting
      type: string
  steps:
    - name: greet
      image: registry.example.com/tools/hello@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
      command: ["/hello"]
      args: ["--greeting", "$(params.greeting)"]
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
      computeResources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {cpu: 100m, memory: 32Mi}
`;

export default defineRunTest({
  description: 'a TaskRun audits a ConfigMap holding one hardened Task; it must succeed with `findings` "0".',
  documents: [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'audit-run-source' }, data: { 'task.yaml': CLEAN_TASK } },
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: { name: 'audit-run' },
      spec: {
        taskRef: { name: 'audit' },
        params: [{ name: 'fail-on', value: 'note' }],
        workspaces: [
          { name: 'source', configMap: { name: 'audit-run-source' } },
          { name: 'report', emptyDir: {} },
        ],
      },
    },
  ],
});
