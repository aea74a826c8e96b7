import { defineRunTest } from '../../../src/build/definition.ts';

/** A Task that pastes a param into its script: the injection the audit exists to find (TA401). */
const UNSAFE_TASK = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: greet
spec:
  params:
    - name: who
      type: string
  steps:
    - name: greet
      image: registry.example.com/tools/shell@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
      script: |
        #!/bin/sh
        echo "hello $(params.who)"
`;

/**
 * tests/run.yaml: the audit over a ConfigMap-mounted source. The kubelet
 * mounts each key as a link into a timestamped folder; the audit never
 * follows links, but walks that folder, so it reads the real file. With
 * fail-on none the run succeeds and reports the finding in its results.
 */
export default defineRunTest({
  description:
    'a TaskRun audits a ConfigMap holding a Task that pastes a param into its script; with `fail-on: none` it must succeed, report the TA401 finding in `findings` and `summary`, and write its SARIF and JSON reports to an emptyDir.',
  documents: [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'audit-run-source' },
      data: { 'greet-task.yaml': UNSAFE_TASK },
    },
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: { name: 'audit-run' },
      spec: {
        taskRef: { name: 'audit' },
        params: [{ name: 'fail-on', value: 'none' }],
        workspaces: [
          { name: 'source', configMap: { name: 'audit-run-source' } },
          { name: 'report', emptyDir: {} },
        ],
      },
    },
  ],
});
