import { defineRunTest } from '../../../src/build/definition.ts';

/** tests/run.yaml: one TaskRun with a value of every common type and array elements, all valid, so it must succeed. */
export default defineRunTest({
  description: 'one TaskRun checks a revision, a pinned image, a tag, an environment, a replica count, a path and two array elements against their rules; it must succeed with `VALIDATED` "true".',
  documents: [
    {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      metadata: { name: 'validate-params-run' },
      spec: {
        taskRef: { name: 'validate-params' },
        params: [
          {
            name: 'rules',
            value: `git-revision: {type: git-sha}
image: {type: image-reference, requireDigest: true}
image-tag: {type: image-tag}
deploy-env: {type: enum, values: [dev, staging, prod]}
replicas: {type: integer, min: 1, max: 10}
context-dir: {type: relative-path}
build-args: {type: regex, pattern: "[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*", maxLength: 256}
`,
          },
          {
            name: 'values',
            value: [
              'git-revision=3f786850e387550fdab836ed7e6dc881de23001b',
              'image=registry.example.com/team/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
              'image-tag=v1.4.2',
              'deploy-env=staging',
              'replicas=3',
              'context-dir=services/api',
            ],
          },
          { name: 'elements-name', value: 'build-args' },
          { name: 'elements', value: ['VERSION=1.4.2', 'CGO_ENABLED=0'] },
        ],
      },
    },
  ],
});
