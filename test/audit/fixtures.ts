/**
 * One realistic example per rule that must fire (`positive`, with the line
 * the first finding points at) and its fixed form that must stay quiet
 * (`negative`). The seed's adversaries are the examples of the TA1xx-TA5xx
 * rules.
 */

const DIGEST = `sha256:${'2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'}`;
const HARDENED = `      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      computeResources:
        limits: {memory: 256Mi}`;

/** A hardened Task with one step, for fixtures about something else. */
export function task(name: string, step: string, extra = ''): string {
  return `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: ${name}
spec:
${extra}  steps:
    - name: run
      image: registry.example.com/tools/run@${DIGEST}
${step}${HARDENED}
`;
}

export interface RuleFixture {
  positive: string;
  /** 1-based line of the first finding of the rule in `positive`. */
  line: number;
  /** When the example is worse than the rule's default severity. */
  severity?: 'error' | 'warning' | 'note';
  negative: string;
}

const pipeline = (tasks: string, extra = '') => `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: p
spec:
${extra}  tasks:
${tasks}`;

export const FIXTURES: Record<string, RuleFixture> = {
  TA001: { positive: 'kind: Task\nmetadata: {name: [unclosed\n', line: 3, negative: task('ok', '') },
  TA002: {
    positive: 'apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps: "not a list"\n',
    line: 6,
    negative: task('ok', ''),
  },
  TA003: {
    positive: `${task('t', '')}# tekton-audit-ignore TA401\n`,
    line: 16,
    negative: `# tekton-audit-ignore TA401: the value is an enum\n${task('t', '')}`,
  },
  TA004: {
    positive: `# tekton-audit-ignore TA999: no such rule\n${task('t', '')}`,
    line: 1,
    negative: task('t', ''),
  },
  // Adversary 1: the pipeline's service account bound to cluster-admin.
  TA101: {
    positive: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: build-pipeline-admin
subjects:
  - kind: ServiceAccount
    name: build-pipeline-sa
    namespace: tekton-pipelines
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
`,
    line: 12,
    negative: `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: build-pipeline-binding
  namespace: tekton-pipelines
subjects:
  - kind: ServiceAccount
    name: build-pipeline-sa
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: build-pipeline-role
`,
  },
  TA102: {
    positive: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: build-pipeline-role, namespace: tekton-pipelines}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
`,
    line: 6,
    negative: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: build-pipeline-role, namespace: tekton-pipelines}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["git-deploy-key", "registry-push-creds"]
    verbs: ["get"]
`,
  },
  TA103: {
    positive: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pipeline-runner}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["*"]
`,
    line: 7,
    negative: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: pipeline-runner}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "patch"]
`,
  },
  TA104: {
    positive: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: debug, namespace: ci}
rules:
  - apiGroups: [""]
    resources: ["pods/exec"]
    verbs: ["create"]
`,
    line: 7,
    negative: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: debug, namespace: ci}
rules:
  - apiGroups: [""]
    resources: ["pods/log"]
    verbs: ["get"]
`,
  },
  // Adversary 2: git-clone's ssh-directory workspace also bound to the user build.
  TA201: {
    positive: pipeline(`    - name: clone
      taskRef: {name: git-clone}
      workspaces:
        - {name: output, workspace: source-code}
        - {name: ssh-directory, workspace: credentials}
    - name: build
      runAfter: [clone]
      taskRef: {name: user-build-task}
      workspaces:
        - {name: source, workspace: source-code}
        - {name: cache, workspace: credentials}
`, '  workspaces:\n    - name: source-code\n    - name: credentials\n'),
    line: 20,
    negative: pipeline(`    - name: clone
      taskRef: {name: git-clone}
      workspaces:
        - {name: output, workspace: source-code}
        - {name: ssh-directory, workspace: credentials}
    - name: build
      runAfter: [clone]
      taskRef: {name: user-build-task}
      workspaces:
        - {name: source, workspace: source-code}
`, '  workspaces:\n    - name: source-code\n    - name: credentials\n'),
  },
  // Adversary 3: registry.example.com/build-tools:latest.
  TA301: { positive: task('build', '').replace(`run@${DIGEST}`, 'build-tools:latest'), line: 8, negative: task('build', '') },
  TA302: { positive: task('build', '').replace(`run@${DIGEST}`, 'build-tools:1.4.2'), line: 8, negative: task('build', '').replace(`run@${DIGEST}`, `build-tools:1.4.2@${DIGEST}`) },
  TA303: {
    positive: `${task('builder', '', '  params:\n    - name: builder-image\n      default: registry.example.com/builder@' + DIGEST + '\n').replace(`image: registry.example.com/tools/run@${DIGEST}`, 'image: $(params.builder-image)')}---
${pipeline(`    - name: build
      taskRef: {name: builder}
      params:
        - name: builder-image
          value: $(params.builder-image)
`, '  params:\n    - name: builder-image\n')}`,
    line: 32,
    negative: `${task('builder', '', '  params:\n    - name: builder-image\n      default: registry.example.com/builder@' + DIGEST + '\n').replace(`image: registry.example.com/tools/run@${DIGEST}`, 'image: $(params.builder-image)')}---
${pipeline(`    - name: verify
      taskRef: {name: verify-image}
      params:
        - name: images
          value: ["$(params.builder-image)"]
    - name: build
      runAfter: [verify]
      taskRef: {name: builder}
      params:
        - name: builder-image
          value: $(params.builder-image)
`, '  params:\n    - name: builder-image\n')}`,
  },
  TA304: {
    positive: task('builder', '', '  params:\n    - name: builder-image\n').replace(`image: registry.example.com/tools/run@${DIGEST}`, 'image: $(params.builder-image)'),
    line: 7,
    negative: task('builder', '', '  params:\n    - name: builder-image\n      default: registry.example.com/builder@' + DIGEST + '\n').replace(`image: registry.example.com/tools/run@${DIGEST}`, 'image: $(params.builder-image)'),
  },
  // Adversary 4: docker build $BUILD_ARGS, with the param pasted into the script.
  TA401: {
    positive: task('build', '      script: |\n        #!/bin/sh\n        docker build $(params.BUILD_ARGS) .\n', '  params:\n    - name: BUILD_ARGS\n'),
    line: 13,
    negative: task('build', '      env:\n        - name: BUILD_ARGS\n          value: $(params.BUILD_ARGS)\n      script: |\n        #!/bin/sh\n        docker build "$BUILD_ARGS" .\n', '  params:\n    - name: BUILD_ARGS\n'),
  },
  TA402: {
    positive: task('t', '      script: |\n        cd $(workspaces.source.path)\n', '  workspaces:\n    - name: source\n'),
    line: 12,
    negative: task('t', '      workingDir: $(workspaces.source.path)\n      script: |\n        make\n', '  workspaces:\n    - name: source\n'),
  },
  TA403: {
    positive: task('t', '      command: ["/bin/sh", "-c"]\n      args: ["echo $(params.message)"]\n', '  params:\n    - name: message\n'),
    line: 12,
    negative: task('t', '      command: ["/bin/sh", "-c", "echo \\"$1\\"", "--"]\n      args: ["$(params.message)"]\n', '  params:\n    - name: message\n'),
  },
  TA404: {
    positive: `${task('deploy', '')}---
${pipeline(`    - name: deploy
      taskRef: {name: deploy}
      when:
        - cel: "'$(params.branch)' == 'main'"
`, '  params:\n    - name: branch\n')}`,
    line: 28,
    negative: `${task('deploy', '')}---
${pipeline(`    - name: deploy
      taskRef: {name: deploy}
      when:
        - input: $(params.branch)
          operator: in
          values: ["main"]
`, '  params:\n    - name: branch\n')}`,
  },
  TA405: {
    positive: `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: on-pull-request
  annotations:
    pipelinesascode.tekton.dev/on-event: "[pull_request]"
spec:
  pipelineSpec:
    tasks:
      - name: greet
        taskSpec:
          steps:
            - name: greet
              image: registry.example.com/tools/sh@${DIGEST}
              script: |
                echo "building {{ source_branch }}"
${HARDENED.replace(/^/gm, '        ')}
`,
    line: 16,
    negative: `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: on-pull-request
  annotations:
    pipelinesascode.tekton.dev/on-event: "[pull_request]"
spec:
  params:
    - name: source-branch
      value: "{{ source_branch }}"
  pipelineSpec:
    params:
      - name: source-branch
    tasks:
      - name: greet
        params:
          - name: source-branch
            value: $(params.source-branch)
        taskSpec:
          params:
            - name: source-branch
          steps:
            - name: greet
              image: registry.example.com/tools/sh@${DIGEST}
              env:
                - name: SOURCE_BRANCH
                  value: $(params.source-branch)
              script: |
                echo "building $SOURCE_BRANCH for {{ revision }}"
${HARDENED.replace(/^/gm, '        ')}
`,
  },
  // Adversary 5: two concurrent runs share a ReadWriteMany claim.
  TA501: {
    positive: `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared-workspace}
spec:
  accessModes: [ReadWriteMany]
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: build-}
spec:
  pipelineRef: {name: secure-build-pipeline}
  workspaces:
    - name: source-code
      persistentVolumeClaim:
        claimName: shared-workspace
`,
    line: 15,
    negative: `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: build-}
spec:
  pipelineRef: {name: secure-build-pipeline}
  workspaces:
    - name: source-code
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
`,
  },
  TA502: {
    positive: `apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {generateName: build-}
spec:
  taskRef: {name: build}
  workspaces:
    - name: source
      persistentVolumeClaim: {claimName: build-cache}
`,
    line: 8,
    negative: `apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {generateName: build-}
spec:
  taskRef: {name: build}
  workspaces:
    - name: source
      emptyDir: {}
`,
  },
  TA601: { positive: task('t', '').replace('runAsNonRoot: true', 'runAsNonRoot: true\n        privileged: true'), line: 11, negative: task('t', '') },
  TA602: { positive: task('t', '').replace('        runAsNonRoot: true\n', ''), line: 10, negative: task('t', '').replace('runAsNonRoot: true', 'runAsUser: 65532') },
  TA603: { positive: task('t', '').replace('allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true'), line: 11, negative: task('t', '') },
  TA604: { positive: task('t', '').replace('        readOnlyRootFilesystem: true\n', ''), line: 10, negative: task('t', '') },
  TA605: { positive: task('t', '').replace('capabilities: {drop: [ALL]}', 'capabilities: {add: [NET_ADMIN]}'), line: 13, severity: 'error', negative: task('t', '') },
  TA701: { positive: task('t', '').replace('        limits: {memory: 256Mi}\n', '        requests: {memory: 64Mi}\n'), line: 15, negative: task('t', '') },
  TA801: {
    positive: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: tekton-pipelines}
spec:
  podSelector:
    matchLabels: {app: web}
  policyTypes: [Ingress]
`,
    line: 5,
    negative: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: taskrun-egress-policy, namespace: tekton-pipelines}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/managed-by: tekton-pipelines
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: {cidr: 10.0.50.0/24}
      ports:
        - port: 443
`,
  },
  TA901: {
    positive: `${task('build', '')}---\n${pipeline('    - name: build\n      taskRef: {name: build}\n', '  params:\n    - name: git-revision\n')}`,
    line: 23,
    negative: `${task('build', '')}---\n${pipeline('    - name: validate\n      taskRef: {name: validate-params}\n      params:\n        - name: rules\n          value: "git-revision: {type: git-sha}"\n        - name: values\n          value: ["git-revision=$(params.git-revision)"]\n    - name: build\n      runAfter: [validate]\n      taskRef: {name: build}\n', '  params:\n    - name: git-revision\n')}`,
  },
  TA902: {
    positive: `${task('deploy', '')}---\n${pipeline('    - name: deploy\n      taskRef: {name: deploy}\n', '  params:\n    - name: image\n')}`,
    line: 23,
    negative: `${task('deploy', '')}---\n${pipeline('    - name: verify\n      taskRef: {name: verify-image}\n      params:\n        - name: images\n          value: ["$(params.image)"]\n    - name: deploy\n      runAfter: [verify]\n      taskRef: {name: deploy}\n', '  params:\n    - name: image\n')}`,
  },
  TL001: {
    positive: task('t', '      args: ["$(params.nope)"]\n'),
    line: 9,
    negative: task('t', '      args: ["$(params.yes)"]\n', '  params:\n    - name: yes\n'),
  },
  // The lint against our own catalog Tasks: the issue's misspelled param.
  TL101: {
    positive: pipeline(`    - name: verify
      taskRef: {name: verify-image}
      params:
        - name: images
          value: ["registry.example.com/app@${DIGEST}"]
        - name: certificate-oidc-isuer
          value: https://token.actions.githubusercontent.com
`),
    line: 12,
    negative: pipeline(`    - name: verify
      taskRef: {name: verify-image}
      params:
        - name: images
          value: ["registry.example.com/app@${DIGEST}"]
        - name: certificate-oidc-issuer
          value: https://token.actions.githubusercontent.com
`),
  },
  TL102: {
    positive: pipeline('    - name: verify\n      taskRef: {name: verify-image}\n      params:\n        - name: certificate-oidc-issuer\n          value: https://token.actions.githubusercontent.com\n'),
    line: 10,
    negative: pipeline(`    - name: verify\n      taskRef: {name: verify-image}\n      params:\n        - name: images\n          value: ["registry.example.com/app@${DIGEST}"]\n`),
  },
  TL103: {
    positive: pipeline(`    - name: verify\n      taskRef: {name: verify-image}\n      params:\n        - name: images\n          value: registry.example.com/app@${DIGEST}\n`),
    line: 11,
    negative: pipeline(`    - name: verify\n      taskRef: {name: verify-image}\n      params:\n        - name: images\n          value: ["registry.example.com/app@${DIGEST}"]\n`),
  },
  TL104: {
    positive: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: police}\n', '  workspaces:\n    - name: source\n'),
    line: 9,
    negative: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: police}\n      workspaces:\n        - {name: target, workspace: source}\n', '  workspaces:\n    - name: source\n'),
  },
  TL105: {
    positive: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: police}\n      workspaces:\n        - {name: target, workspace: source}\n        - {name: reports, workspace: source}\n', '  workspaces:\n    - name: source\n'),
    line: 15,
    negative: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: police}\n      workspaces:\n        - {name: target, workspace: source}\n        - {name: report, workspace: source}\n', '  workspaces:\n    - name: source\n'),
  },
  TL106: {
    positive: pipeline(`    - name: verify
      taskRef: {name: verify-image}
      params:
        - {name: images, value: ["registry.example.com/app@${DIGEST}"]}
    - name: deploy
      taskSpec:
        params: [{name: image}]
        steps:
          - name: deploy
            image: registry.example.com/tools/deploy@${DIGEST}
            env: [{name: IMAGE, value: $(params.image)}]
      params:
        - {name: image, value: $(tasks.verify.results.verified-digest)}
`),
    line: 19,
    negative: pipeline(`    - name: verify
      taskRef: {name: verify-image}
      params:
        - {name: images, value: ["registry.example.com/app@${DIGEST}"]}
    - name: deploy
      taskSpec:
        params: [{name: image}]
        steps:
          - name: deploy
            image: registry.example.com/tools/deploy@${DIGEST}
            env: [{name: IMAGE, value: $(params.image)}]
      params:
        - {name: image, value: $(tasks.verify.results.verified-images)}
`),
  },
  TL107: {
    positive: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: sael}\n      workspaces:\n        - {name: target, workspace: source}\n', '  workspaces:\n    - name: source\n'),
    line: 12,
    negative: pipeline('    - name: guard\n      taskRef: {name: workspace-guard}\n      params:\n        - {name: mode, value: seal}\n      workspaces:\n        - {name: target, workspace: source}\n', '  workspaces:\n    - name: source\n'),
  },
};
