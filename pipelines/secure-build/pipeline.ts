import { definePipeline, validateAllParams } from '../../src/build/pipeline-definition.ts';
import { ParamDefinitionSchema } from '../../src/build/definition.ts';
import { TelemetryParam } from '../../src/telemetry/config.ts';
import { TELEMETRY_PARAMS } from '../../src/telemetry/task-params.ts';

/**
 * The seed's secure build (step 3), made of the catalog's gates around the
 * team's own clone, build and push Tasks, which the Pipeline runs from
 * their Tekton bundles, pinned by digest and verified first. Three
 * workspaces, one per security domain: the source, the build output, and
 * the credentials only the push task sees.
 */

const HOST = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$';
const pinned = { type: 'image-reference', requireDigest: true } as const;

const params = [
  { name: 'git-url', description: 'The repository to build: the https URL your clone Task fetches.', rule: { type: 'https-url' } },
  { name: 'git-revision', description: 'The commit to build, as its full SHA (never a branch: a branch moves).', rule: { type: 'git-sha' } },
  { name: 'image', description: 'Where your push Task pushes the image: registry/repository, without tag or digest.', rule: { type: 'image-reference' } },
  {
    name: 'images',
    type: 'array',
    description: 'The base and tool images your build and push use, each pinned by digest; all are verified before the clone starts (at most 4: one verify-image run records each as a Chains input).',
    rule: pinned,
  },
  { name: 'clone-task-bundle', description: 'Your clone Task\'s Tekton bundle, pinned by digest (registry/repository:tag@sha256:…).', rule: pinned },
  { name: 'clone-task-name', description: 'The Task\'s name inside the clone bundle.', default: 'git-clone', rule: { type: 'k8s-name' } },
  { name: 'build-task-bundle', description: 'Your build Task\'s Tekton bundle, pinned by digest.', rule: pinned },
  { name: 'build-task-name', description: 'The Task\'s name inside the build bundle.', default: 'build', rule: { type: 'k8s-name' } },
  { name: 'push-task-bundle', description: 'Your push Task\'s Tekton bundle, pinned by digest.', rule: pinned },
  { name: 'push-task-name', description: 'The Task\'s name inside the push bundle.', default: 'push', rule: { type: 'k8s-name' } },
  {
    name: 'task-signer-identity',
    description: 'Keyless identity (certificate SAN) that signed the three Task bundles, e.g. your release workflow https://github.com/my-org/tasks/.github/workflows/release.yml@refs/heads/main.',
    rule: { type: 'text', maxLength: 1024 },
  },
  { name: 'task-signer-issuer', description: 'OIDC issuer of that identity.', default: 'https://token.actions.githubusercontent.com', rule: { type: 'https-url' } },
  {
    name: 'image-signer-identity-regexp',
    description: 'A regular expression the whole signer identity of every image in images must match (RE2, anchored), e.g. https://github.com/my-org/.*',
    rule: { type: 'text', maxLength: 1024 },
  },
  { name: 'image-signer-issuer', description: 'OIDC issuer of the image signers.', default: 'https://token.actions.githubusercontent.com', rule: { type: 'https-url' } },
  { name: 'registry-host', description: 'The registry host the push credentials are for, e.g. registry.example.com: they are written for this host only.', rule: { type: 'regex', pattern: HOST, maxLength: 260 } },
  { name: 'registry-secret-name', description: 'The kubernetes.io/dockerconfigjson Secret with the push credentials; inject-credentials reads it from the API, and the kit\'s Role allows a get of this name only.', rule: { type: 'k8s-name' } },
  // The gates' telemetry (src/telemetry): passed to every catalog task, empty by default.
  ...TELEMETRY_PARAMS.filter((param) => param.name !== TelemetryParam.failClosed),
].map((param) => ParamDefinitionSchema.parse(param));

/** Every catalog gate reports to the same collectors. */
const telemetry = TELEMETRY_PARAMS.filter((param) => param.name !== TelemetryParam.failClosed).map((param) => ({ name: param.name, value: `$(params.${param.name})` }));

const catalog = (task: string) => ({ catalog: task });
const bundle = (which: 'clone' | 'build' | 'push') => ({
  resolver: 'bundles',
  params: [
    { name: 'bundle', value: `$(params.${which}-task-bundle)` },
    { name: 'name', value: `$(params.${which}-task-name)` },
    { name: 'kind', value: 'task' },
  ],
});
const guard = (name: string, mode: 'seal' | 'verify' | 'scrub', workspace: string, extra: Record<string, unknown> = {}) => ({
  name,
  taskRef: catalog('workspace-guard'),
  params: [
    { name: 'mode', value: mode },
    ...(mode === 'scrub' ? [] : [{ name: 'run-uid', value: '$(context.pipelineRun.uid)' }]),
    { name: 'workspace-label', value: workspace },
    ...(extra.expected ? [{ name: 'expected-digest', value: extra.expected }] : []),
    ...telemetry,
  ],
  workspaces: [{ name: 'target', workspace }],
  ...(extra.runAfter ? { runAfter: extra.runAfter } : {}),
});

const PIPELINE_RUN = {
  apiVersion: 'tekton.dev/v1',
  kind: 'PipelineRun',
  metadata: { generateName: 'secure-build-' },
  spec: {
    pipelineRef: { name: 'secure-build' },
    params: [
      { name: 'git-url', value: 'https://git.example.com/team/app.git' },
      { name: 'git-revision', value: '2c26b46b68ffc68ff99b453c1d30413413422d70' },
      { name: 'image', value: 'registry.example.com/team/app' },
      {
        name: 'images',
        value: [
          'registry.example.com/base/runtime:1.4.2@sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b',
          'registry.example.com/tools/builder:2.0.1@sha256:d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35',
        ],
      },
      { name: 'clone-task-bundle', value: 'registry.example.com/tasks/git-clone:0.9.0@sha256:4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce' },
      { name: 'build-task-bundle', value: 'registry.example.com/tasks/build:1.2.0@sha256:4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a' },
      { name: 'push-task-bundle', value: 'registry.example.com/tasks/push:1.0.3@sha256:ef2d127de37b942baad06145e54b0c619a1f22327b2ebbcfbec78f5564afe39d' },
      { name: 'task-signer-identity', value: 'https://github.com/my-org/tasks/.github/workflows/release.yml@refs/heads/main' },
      { name: 'image-signer-identity-regexp', value: 'https://github.com/my-org/.*' },
      { name: 'registry-host', value: 'registry.example.com' },
      { name: 'registry-secret-name', value: 'registry-push-creds' },
      { name: 'pushgateway-url', value: 'http://prometheus-pushgateway.monitoring.svc:9091' },
    ],
    taskRunTemplate: {
      // The kit's runner: no Role, no token mounted.
      serviceAccountName: 'secure-build-runner',
      podTemplate: {
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch' },
      },
    },
    // Only inject-credentials reads from the API, so only it runs as the account the Role is bound to.
    taskRunSpecs: [{ pipelineTaskName: 'inject-credentials', serviceAccountName: 'secure-build-api-reader' }],
    workspaces: [
      { name: 'source', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
      { name: 'output', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } } },
      { name: 'credentials', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } } },
    ],
  },
};

export default definePipeline({
  name: 'secure-build',
  version: '0.1.0',
  displayName: 'Secure build',
  summary: 'Clone, build and push with your own Tasks, wrapped in the catalog\'s gates.',
  description: `Runs your clone, build and push Tasks from their Tekton bundles (pinned by digest, signatures verified) between the catalog's gates: validate-params checks every param first; verify-image checks the signatures of your Task bundles and of every base and tool image; workspace-guard seals the source after the clone and verifies it before the build, and seals the build output and verifies it before the push; inject-credentials writes the registry credentials, read from the Kubernetes API, into a workspace only the push task gets; cleanup and scrub run in finally, whatever happened. One workspace per security domain: source, output, credentials.`,
  categories: ['Security', 'Build Tools'],
  tags: ['security', 'build', 'supply-chain'],
  params,
  workspaces: [
    { name: 'source', description: 'The source code: written by clone, sealed, read by build. Never holds credentials.' },
    { name: 'output', description: 'The build output (e.g. an OCI layout): written by build, sealed, read by push.' },
    { name: 'credentials', description: 'The push credentials: written by inject-credentials, read by push, emptied in finally. Bound to no other task.' },
  ],
  results: [
    { name: 'IMAGE_URL', description: 'The pushed image (Tekton Chains signs it and attests the PipelineRun provenance for it).', value: '$(tasks.push.results.IMAGE_URL)' },
    { name: 'IMAGE_DIGEST', description: 'Its digest, sha256:<hex>.', value: '$(tasks.push.results.IMAGE_DIGEST)' },
  ],
  tasks: [
    { name: 'validate', taskRef: catalog('validate-params'), params: [...validateAllParams(params), ...telemetry] },
    {
      name: 'verify-task-bundles',
      runAfter: ['validate'],
      taskRef: catalog('verify-image'),
      params: [
        { name: 'images', value: ['$(params.clone-task-bundle)', '$(params.build-task-bundle)', '$(params.push-task-bundle)'] },
        { name: 'certificate-identity', value: '$(params.task-signer-identity)' },
        { name: 'certificate-oidc-issuer', value: '$(params.task-signer-issuer)' },
        { name: 'require-digest', value: 'true' },
        ...telemetry,
      ],
    },
    {
      name: 'verify-images',
      runAfter: ['validate'],
      taskRef: catalog('verify-image'),
      params: [
        { name: 'images', value: '$(params.images[*])' },
        { name: 'certificate-identity-regexp', value: '$(params.image-signer-identity-regexp)' },
        { name: 'certificate-oidc-issuer', value: '$(params.image-signer-issuer)' },
        { name: 'require-digest', value: 'true' },
        ...telemetry,
      ],
    },
    {
      name: 'clone',
      runAfter: ['verify-task-bundles', 'verify-images'],
      taskRef: bundle('clone'),
      params: [
        { name: 'url', value: '$(params.git-url)' },
        { name: 'revision', value: '$(params.git-revision)' },
      ],
      workspaces: [{ name: 'output', workspace: 'source' }],
    },
    guard('seal-source', 'seal', 'source', { runAfter: ['clone'] }),
    guard('verify-source', 'verify', 'source', { expected: '$(tasks.seal-source.results.manifest-digest)' }),
    {
      name: 'build',
      runAfter: ['verify-source'],
      taskRef: bundle('build'),
      params: [{ name: 'verified-images', value: '$(tasks.verify-images.results.verified-images)' }],
      workspaces: [
        { name: 'source', workspace: 'source' },
        { name: 'output', workspace: 'output' },
      ],
    },
    guard('seal-output', 'seal', 'output', { runAfter: ['build'] }),
    guard('verify-output', 'verify', 'output', { expected: '$(tasks.seal-output.results.manifest-digest)' }),
    {
      name: 'inject-credentials',
      runAfter: ['verify-output'],
      taskRef: catalog('inject-credentials'),
      params: [
        { name: 'secret-source', value: 'kubernetes-api' },
        { name: 'secret-name', value: '$(params.registry-secret-name)' },
        { name: 'secret-type', value: 'kubernetes.io/dockerconfigjson' },
        { name: 'allowed-hosts', value: ['$(params.registry-host)'] },
        { name: 'expires', value: '30m' },
        ...telemetry,
      ],
      workspaces: [{ name: 'credentials', workspace: 'credentials' }],
    },
    {
      name: 'push',
      runAfter: ['inject-credentials'],
      taskRef: bundle('push'),
      params: [{ name: 'image', value: '$(params.image)' }],
      workspaces: [
        { name: 'image', workspace: 'output' },
        { name: 'credentials', workspace: 'credentials' },
      ],
    },
  ],
  finally: [
    { name: 'cleanup-credentials', taskRef: catalog('inject-credentials'), params: [{ name: 'mode', value: 'cleanup' }, ...telemetry], workspaces: [{ name: 'credentials', workspace: 'credentials' }] },
    guard('scrub-source', 'scrub', 'source'),
    guard('scrub-output', 'scrub', 'output'),
  ],
  diagram: `validate ─┬─► verify-task-bundles ─┐
          └─► verify-images ───────┴─► clone ─► seal-source ─► verify-source ─► build ─► seal-output ─► verify-output ─► inject-credentials ─► push
finally (always): cleanup-credentials, scrub-source, scrub-output

task                  source          output          credentials     runs from
validate              -               -               -               catalog bundle
verify-task-bundles   -               -               -               catalog bundle
verify-images         -               -               -               catalog bundle
clone                 writes          -               -               your bundle
seal-source           seals           -               -               catalog bundle
verify-source         verifies        -               -               catalog bundle
build                 reads           writes          -               your bundle
seal-output           -               seals           -               catalog bundle
verify-output         -               verifies        -               catalog bundle
inject-credentials    -               -               writes          catalog bundle (api-reader account)
push                  -               reads           reads           your bundle
cleanup-credentials   -               -               empties         catalog bundle
scrub-source          scrubs          -               -               catalog bundle
scrub-output          -               scrubs          -               catalog bundle
`,
  notes: `## Your Tasks
The Pipeline runs your three Tasks from Tekton bundles you publish and sign (the bundles resolver substitutes the \`*-task-bundle\` and \`*-task-name\` params), after verify-task-bundles checked the bundles' signatures against \`task-signer-identity\`. They must accept:

| Task | params | workspaces | results |
| --- | --- | --- | --- |
| clone | \`url\`, \`revision\` | \`output\` (the source) | (any) |
| build | \`verified-images\`: the JSON list of the verified base and tool images, \`registry/repository@sha256:…\`: build from these, never from tags | \`source\`, \`output\` | (any) |
| push | \`image\` | \`image\` (the build output), \`credentials\` (\`docker/config.json\` for \`registry-host\` only: set \`DOCKER_CONFIG=$(workspaces.credentials.path)/docker\`) | \`IMAGE_URL\`, \`IMAGE_DIGEST\` (Tekton Chains reads them) |

Their steps must run as uid 65532 (the PipelineRun's pod template sets it for steps that do not set their own): workspace-guard accepts files of that owner only, and the credentials are 0400 files of that user. Pin every step image by digest, and list the base and tool images in \`images\`.

## What stops the run
- a param that breaks its rule (validate): nothing else starts;
- a Task bundle or image without a valid signature from the given identity (verify-task-bundles, verify-images);
- the source changed between seal-source and verify-source, or the output between seal-output and verify-output (another run on a shared volume, a compromised node), or either holding credential material, links out of the workspace, setuid files or another run's marker (workspace-guard);
- a credentials workspace that is not empty, or a Secret the service account may not read (inject-credentials).

In each case the push never runs, and finally still empties the credentials and scrubs the source and output. Each stop is counted (\`tekton_param_validation_failures_total\`, \`tekton_workspace_access_violations_total\`, \`tekton_taskrun_image_pull_errors_total\`) and, with \`pushgateway-url\` set, pushed to the Pushgateway every gate reports to (and \`cloudevents-sink\` gets one CloudEvent per violation), for the kit's alerts. Allow the egress to them with \`collectors\` in kit.yaml.

## Service accounts
Every TaskRun runs as \`secure-build-runner\` (\`taskRunTemplate\`), which has no Role and no token: your clone, build and push Tasks cannot call the Kubernetes API at all. Only inject-credentials runs as \`secure-build-api-reader\` (\`taskRunSpecs\`), whose Role allows a \`get\` of the one Secret named in \`registry-secret-name\`. The kit generates both from this Pipeline and the Secret name.

## Chains
With the kit's \`chains-config\`, Tekton Chains writes SLSA v1.0 provenance for each PipelineRun: its subject is the pushed image (the Pipeline results \`IMAGE_URL\`/\`IMAGE_DIGEST\`), its resolved dependencies include every image verify-images verified (\`image<N>_ARTIFACT_INPUTS\`, read with deep inspection) and the step images of every task. verify-task-bundles records the Task bundles as inputs too.

## Why no Pipeline bundle
The Tasks are published as signed Tekton bundles; this Pipeline is not yet. Publishing it would add a new artefact kind to publish, sign and verify-catalog (its content is references to Task bundles, not step images), which is a change of its own. Apply the YAML, or resolve it with the git resolver pinned to a commit.`,
  samples: [
    {
      file: 'pipelinerun.yaml',
      description: 'A run: the kit\'s service accounts (runner for every task, api-reader for inject-credentials only), uid 65532 with fsGroup, and a fresh ReadWriteOnce volume per run for each workspace, since an emptyDir does not carry files between TaskRuns and a shared claim would carry them between runs.',
      documents: [PIPELINE_RUN],
    },
  ],
  kit: {
    namespace: 'ci',
    params: { 'registry-secret-name': 'registry-push-creds' },
    egress: {
      registries: [{ name: 'internal-registry', cidrs: ['10.0.50.0/24'], ports: [443] }],
      packageProxies: [{ name: 'nexus', cidrs: ['10.0.51.0/24'], ports: [443, 80] }],
      gitServers: [{ name: 'git-server', cidrs: ['10.0.52.0/24'], ports: [443] }],
      kubernetesApi: { cidrs: ['10.0.0.1/32'], port: 6443 },
      collectors: [{ name: 'pushgateway', namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus-pushgateway' }, ports: [9091] }],
    },
    chains: { signer: 'keyless' },
    observability: {
      ruleLabels: { release: 'prometheus' },
      production: { pipelines: 'secure-build|deploy-.*', approvedHoursUtc: { from: 7, to: 19 } },
    },
  },
});
