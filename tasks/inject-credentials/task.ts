import { defineTask } from '../../src/build/definition.ts';
import { catalogTaskRef } from '../../src/build/sample-refs.ts';
import { MAX_OPAQUE_FILES, MAX_OPAQUE_PATH_CHARS } from '../../src/credentials/writers/opaque.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS, telemetryNotes } from '../../src/telemetry/task-params.ts';

/**
 * The fingerprints result at its largest, escaped as in Tekton's termination
 * message: the most files any Secret type writes (Opaque's, under files/),
 * each `\"path\":\"sha256:<64 hex>\"`, in braces and separated by commas.
 */
const FINGERPRINTS_MAX_BYTES = 2 + MAX_OPAQUE_FILES * (2 + 'files/'.length + MAX_OPAQUE_PATH_CHARS + 2 + 1 + 2 + 71 + 2) + (MAX_OPAQUE_FILES - 1);

const HOST = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$';

export default defineTask({
  name: 'inject-credentials',
  version: '0.1.0',
  displayName: 'Inject credentials',
  summary: 'Write one Secret, scoped to named hosts, into a dedicated credentials workspace; clean it up in finally.',
  description: `Makes the safe credential pattern the easy one: only the named Secret, only for the named hosts, written into a workspace that only trusted tasks get, removed afterwards even after failures, never printed.

- **inject** reads one Secret, either mounted read-only through the \`secret\` workspace or fetched with a GET of that one named Secret from the Kubernetes API (never a list), and writes scoped files into the \`credentials\` workspace: a docker \`config.json\` holding only the allowed registries, a git credential store and \`.netrc\` for the allowed hosts only, an SSH key with a known_hosts and an ssh config that checks host keys strictly, or named files from an Opaque Secret. Folders are 0700, files 0400, owned by the step user (65532), written atomically. The workspace must be empty, unless \`previous-injection-digest\` carries the \`injection-digest\` result of the injection before and the workspace still matches it exactly: nothing found in the workspace vouches for itself.
- **cleanup** (for the Pipeline's \`finally\`) overwrites, then removes, everything in the credentials workspace, whatever it holds and whatever its marker says, never acting outside it, checks that it is empty, and succeeds even when the injection stopped half-way. Running it twice is harmless.

Every injection leaves \`.inject-credentials/manifest.json\` (paths and sha256 fingerprints, never content) and \`.inject-credentials/expires-at\`, and returns the digest of everything it left as \`injection-digest\`. A re-injection trusts the marker (and its expiry) only once the workspace matched that digest; cleanup and workspace-guard report credentials past their expiry as a violation. Secret values never appear in logs, results or errors: each value loaded is masked in every message, in its raw, base64, JSON- and URL-escaped forms.`,
  categories: ['Security'],
  tags: ['security', 'credentials', 'secrets'],
  params: [
    {
      name: 'mode',
      description: 'inject writes the credentials; cleanup overwrites and removes them (put it in finally).',
      default: 'inject',
      rule: { type: 'enum', values: ['inject', 'cleanup'] },
    },
    {
      name: 'secret-source',
      description: 'workspace: the Secret is bound to the secret workspace. kubernetes-api: GET the Secret named secret-name with the service account token (needs a Role with resourceNames, see the README).',
      default: 'workspace',
      rule: { type: 'enum', values: ['workspace', 'kubernetes-api'] },
    },
    {
      name: 'secret-name',
      description: 'The Secret\'s name. Required for kubernetes-api; with a workspace it labels messages and the manifest.',
      default: '',
      rule: { type: 'k8s-name', optional: true },
    },
    {
      name: 'secret-type',
      description: 'The Secret\'s type (a mounted Secret does not carry it): kubernetes.io/dockerconfigjson, kubernetes.io/basic-auth, kubernetes.io/ssh-auth or Opaque. Required for inject.',
      default: '',
      rule: { type: 'enum', values: ['kubernetes.io/dockerconfigjson', 'kubernetes.io/basic-auth', 'kubernetes.io/ssh-auth', 'Opaque'], optional: true },
    },
    {
      name: 'allowed-hosts',
      type: 'array',
      description: 'Hosts the credentials are for, e.g. ["ghcr.io"] or ["git.example.com:2222"]: exact, lower case, no scheme or wildcard; Docker Hub is docker.io. Every other host in the Secret is left out.',
      default: [],
      rule: { type: 'regex', pattern: HOST, maxLength: 260 },
    },
    {
      name: 'basic-auth-formats',
      type: 'array',
      description: 'basic-auth only: which files to write: git-credentials (basic-auth/.git-credentials and .gitconfig), netrc (basic-auth/.netrc), docker-config (docker/config.json).',
      default: ['git-credentials', 'netrc'],
      rule: { type: 'enum', values: ['git-credentials', 'netrc', 'docker-config'] },
    },
    {
      name: 'opaque-files',
      type: 'array',
      description: 'Opaque only: "key=relative/path" (or "key") for each key to write to files/<path>; at most 8, paths at most 48 characters.',
      default: [],
      rule: { type: 'regex', pattern: '^[-._a-zA-Z0-9]{1,253}(=[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*)?$', maxLength: 302 },
    },
    {
      name: 'expires',
      description: 'How long the credentials may live: a TTL such as 15m or 1h (at most 24h), or an RFC 3339 time.',
      default: '1h',
      rule: { type: 'regex', pattern: '^([0-9]{1,5}[smh]|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))$', maxLength: 40 },
    },
    {
      name: 'previous-injection-digest',
      description:
        'inject only: for a second injection into the same credentials workspace, the injection-digest result of the inject-credentials task before it (pass that task\'s results.injection-digest). Empty (the default): the workspace must be empty.',
      default: '',
      rule: { type: 'regex', pattern: '^sha256:[0-9a-f]{64}$', maxLength: 71, optional: true },
    },
    {
      name: 'ssh-known-hosts',
      description: 'ssh-auth only: known_hosts lines for the allowed hosts, checked out of band. Required for ssh-auth unless the Secret has a known_hosts key.',
      default: '',
      rule: { type: 'text', maxLength: 65536, allowNewlines: true, optional: true },
    },
    {
      name: 'ssh-user',
      description: 'ssh-auth only: the user the ssh config names for the allowed hosts.',
      default: 'git',
      rule: { type: 'regex', pattern: '^[a-z_][a-z0-9_.-]{0,31}$', maxLength: 32 },
    },
    {
      name: 'ssh-dir',
      description: 'ssh-auth only: where the consuming step sees the ssh folder; the ssh config\'s IdentityFile and UserKnownHostsFile point there.',
      default: '~/.ssh',
      rule: { type: 'regex', pattern: '^(~(/[A-Za-z0-9._-]+)*|(/[A-Za-z0-9._-]+)+)/?$', maxLength: 256 },
    },
    ...TELEMETRY_PARAMS,
  ],
  workspaces: [
    {
      name: 'secret',
      description: 'The one Secret to inject, bound read-only (workspaces: secret: {secretName: ...}). Leave unbound with secret-source kubernetes-api and in cleanup mode.',
      optional: true,
      readOnly: true,
    },
    {
      name: 'credentials',
      description: 'Where the scoped credentials go. Bind it only to this Task and to the trusted tasks that use the credentials; never to user-controlled tasks.',
    },
  ],
  kubernetesAccess: [
    {
      resource: 'secrets',
      verbs: ['get'],
      nameParam: 'secret-name',
      when: { param: 'secret-source', equals: 'kubernetes-api' },
      why: 'secret-source kubernetes-api reads the one Secret to inject with a GET of its name, never a list',
    },
  ],
  results: [
    {
      name: 'fingerprints',
      description: 'JSON object: each written path to sha256:<hex> of its content (never the content). "{}" after cleanup.',
      bound: {
        kind: 'json',
        maxBytes: FINGERPRINTS_MAX_BYTES,
        why: `at most ${MAX_OPAQUE_FILES} paths of at most ${'files/'.length + MAX_OPAQUE_PATH_CHARS} bytes, each with its sha256`,
      },
    },
    {
      name: 'paths',
      description: 'JSON list of the paths written (inject) or removed (cleanup), relative to the credentials workspace.',
      bound: { kind: 'json', maxBytes: 1536, why: 'cleanup lists what fits and ends with "… N more"' },
    },
    {
      name: 'injection-digest',
      description:
        'inject: sha256:<hex> of everything in the credentials workspace after this injection (paths, types, modes, owners, link counts and content digests, read back from disk); pass it as previous-injection-digest to the next inject-credentials on this workspace. Empty after cleanup.',
      bound: { kind: 'digest', orEmpty: true },
    },
  ],
  steps: [
    {
      name: 'inject-credentials',
      program: 'inject-credentials',
      args: [
        '--mode',
        '$(params.mode)',
        '--allowed-hosts',
        '$(params.allowed-hosts[*])',
        '--basic-auth-formats',
        '$(params.basic-auth-formats[*])',
        '--opaque-files',
        '$(params.opaque-files[*])',
      ],
      env: [
        { name: 'CREDENTIALS_DIR', value: '$(workspaces.credentials.path)' },
        { name: 'SECRET_DIR', value: '$(workspaces.secret.path)' },
        { name: 'SECRET_SOURCE', value: '$(params.secret-source)' },
        { name: 'SECRET_NAME', value: '$(params.secret-name)' },
        { name: 'SECRET_TYPE', value: '$(params.secret-type)' },
        { name: 'CREDENTIALS_EXPIRES', value: '$(params.expires)' },
        { name: 'PREVIOUS_INJECTION_DIGEST', value: '$(params.previous-injection-digest)' },
        { name: 'SSH_KNOWN_HOSTS', value: '$(params.ssh-known-hosts)' },
        { name: 'SSH_USER', value: '$(params.ssh-user)' },
        { name: 'SSH_DIR', value: '$(params.ssh-dir)' },
        ...TELEMETRY_ENV,
      ],
    },
  ],
  notes: `## Binding the workspaces
- **credentials** gets only this Task and the trusted tasks that use the credentials (the push task), never a user-controlled build. Give it a fresh volume per PipelineRun.
  - Inside one TaskRun (inject, use and cleanup as steps of one Task, or a TaskRun on its own), bind \`emptyDir: {medium: Memory}\`: the credentials live in RAM only (they count against the pod's memory limit) and vanish with the pod.
  - Across the Tasks of a Pipeline, an \`emptyDir\` does **not** carry data: Tekton gives every TaskRun its own. Bind a \`volumeClaimTemplate\` (ReadWriteOnce, small, ideally an encrypted StorageClass) listed only on the inject, push and cleanup tasks, as in \`samples/pipelinerun.yaml\`. Cleanup in \`finally\` is then what removes the credentials; overwriting first is best effort on disks (copy-on-write and flash may keep old blocks).
- **secret** is the one Secret, bound as \`secret: {secretName: <name>}\` to this Task only. Do not bind a projected volume of several Secrets: the Task reads only the keys the declared type needs.

Files are 0400 and folders 0700, owned by uid 65532 (the catalog's step user). The tasks that read them must run as uid 65532 too; running as root with all capabilities dropped does not help, since reading another user's 0400 file needs CAP_DAC_OVERRIDE. No file needs 0600: none of the target tools (docker-compatible registry clients, git's store helper, curl, ssh) writes them back. Cleanup makes them writable before overwriting.

## Outputs
| Secret type | Files (relative to the credentials workspace) | How a consumer uses them |
|---|---|---|
| kubernetes.io/dockerconfigjson | \`docker/config.json\` with only the allowed registries | \`DOCKER_CONFIG=<ws>/docker\` (crane, buildah \`REGISTRY_AUTH_FILE=<ws>/docker/config.json\`, kaniko) |
| kubernetes.io/basic-auth | \`basic-auth/.git-credentials\`, \`basic-auth/.gitconfig\`, \`basic-auth/.netrc\`, optionally \`docker/config.json\` | copy the folder to \`$HOME\` (tektoncd git-clone's basic-auth workspace), or \`curl --netrc-file\` |
| kubernetes.io/ssh-auth | \`ssh/id_credentials\`, \`ssh/known_hosts\`, \`ssh/config\` | the folder is \`~/.ssh\` in the consumer (set \`ssh-dir\` otherwise) |
| Opaque | \`files/<path>\` per \`opaque-files\` entry | read the named files |

Host scoping is an exact match after normalisation: the scheme (\`https://\`) and any path (\`/v1/\`) of a docker config key are dropped and host names are lower-cased; \`docker.io\`, \`index.docker.io\`, \`registry-1.docker.io\` and \`registry.hub.docker.com\` all mean Docker Hub, written under \`https://index.docker.io/v1/\`. A port is part of the host. Keys of the docker config other than \`auths\` (\`credHelpers\`, \`credsStore\`, \`proxies\`) are dropped. \`.netrc\` can only match by host name, so a port in \`allowed-hosts\` does not narrow it. The ssh config has one \`Host\` block per allowed host with \`StrictHostKeyChecking yes\`, \`IdentitiesOnly yes\` and \`UserKnownHostsFile\` pointing at the scoped known_hosts; \`StrictHostKeyChecking no\` is never written, and known_hosts is required. Passphrase-protected keys are refused (a step cannot type the passphrase).

## Fetching from the Kubernetes API
With \`secret-source: kubernetes-api\` the step reads the pod's service account token, \`ca.crt\` and namespace from \`/var/run/secrets/kubernetes.io/serviceaccount/\` and sends one \`GET /api/v1/namespaces/<ns>/secrets/<secret-name>\` to \`KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT\`, verifying TLS against that \`ca.crt\` only. It never lists. Grant exactly that, in the PipelineRun's namespace, to a service account used only by this Task (\`taskRunSpecs[].serviceAccountName\`):

\`\`\`yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: inject-git-deploy-key
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["git-deploy-key"]        # only this Secret: the one samples/taskrun-kubernetes-api.yaml reads
    verbs: ["get"]                           # never list or watch: they cannot be limited by name
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: inject-git-deploy-key
subjects:
  - kind: ServiceAccount
    name: credentials-injector
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: inject-git-deploy-key
\`\`\`

A 403 names the Secret and the rule to add; the response body is never printed. No cluster runs in this repository's tests: the API path is tested against a loopback HTTPS stub (self-signed CA handed to the step as \`ca.crt\`) that checks the bearer token, enforces \`resourceNames\` (403 for any other name) and answers every list with 403.

## Nothing in the workspace vouches for itself
Anyone who can write to the credentials workspace can plant files there, and a hand-written \`.inject-credentials/manifest.json\` that lists them. So the marker is never trusted on its own word:

- **inject with \`previous-injection-digest\` empty** (the default) needs an **empty** workspace. The only entry allowed is the \`lost+found\` folder a fresh ext4 volume has at its root, owned by root and 0700 (the step user cannot use it, and no tool looks there). Anything else, a marker included, is refused with \`CREDENTIALS_WORKSPACE_NOT_EMPTY\`.
- **inject with \`previous-injection-digest\`** reads the whole workspace from disk and computes its digest; it must equal the param, which the Pipeline passes from \`$(tasks.<previous inject>.results.injection-digest)\`. Tekton carries results from TaskRun to TaskRun, and no task that shares the workspace can change another task's result. Only then is the earlier marker trusted (the files it lists, its expiry). A difference is refused with \`CREDENTIALS_WORKSPACE_TAMPERED\`, and the message says what differs from what the marker lists (added, removed, changed, re-moded, re-owned, hard-linked entries).
- After writing, the injection reads the workspace back and checks that it is exactly what was there plus what it wrote (\`CREDENTIALS_WORKSPACE_FOREIGN\` if a task wrote to it at the same time). The \`injection-digest\` result is computed from what is on disk, not from what the marker claims.

The digest covers every entry below the workspace root, the marker included: its path (raw bytes), its type, its permission bits (setuid, setgid and sticky too), owner and group, and for a file its link count, size and sha256; for a link, its target. Times are left out, and so is the root folder itself. Each injection returns a new digest: a third injection passes the second one's, never the first one's.

\`\`\`yaml
    - name: inject-git-credentials
      runAfter: ["inject-registry-credentials"]
      taskRef: {name: inject-credentials}
      params:
        - name: secret-type
          value: kubernetes.io/basic-auth
        - name: allowed-hosts
          value: ["git.example.com"]
        - name: previous-injection-digest
          value: $(tasks.inject-registry-credentials.results.injection-digest)
\`\`\`

**What fails now that passed before.** An injection into a workspace that already holds anything, earlier credentials included, used to pass as long as each entry was listed in the marker with its fingerprint; that marker could be forged. It now fails with \`CREDENTIALS_WORKSPACE_NOT_EMPTY\` (exit 1) unless \`previous-injection-digest\` is passed as above. Bind the credentials workspace to a fresh volume per PipelineRun and clean it up in \`finally\`; a volume reused across runs must be emptied by cleanup first. With a pod-level \`securityContext.fsGroup\`, the kubelet may change the group and the group bits of every file on each mount, for volume types that support fsGroup (unless \`fsGroupChangePolicy: OnRootMismatch\`); that makes the credentials readable by that group and shows as a change here, so a re-injection fails (the message says so). Set \`fsGroupChangePolicy: OnRootMismatch\`, or no fsGroup, for pods that mount the credentials workspace.

## Cleanup
Cleanup removes **everything** in the credentials workspace, whatever the marker says: files, folders, links, FIFOs, sockets, devices, names that are not UTF-8, trees of any depth. It removes our output folders first, so nothing planted beside them can delay their removal. It never acts outside the workspace: no link is followed, every entry is reached through its folder's descriptor (openat via \`/proc/self/fd\`), and only a regular file of the step user's that has no other name, in one of the output folders, is overwritten with zeros before it is unlinked (at most 256 of them, so a flood of planted files cannot make cleanup outlast the Task's timeout); a hard link is unlinked without writing through it, and a FIFO, socket or device without being opened. Only a root-owned \`lost+found\` at the root stays. It takes no digest on purpose: Tekton skips a \`finally\` task whose params use a result of a task that failed, and cleanup matters most after a failure. It fails (exit 3, \`CREDENTIALS_CLEANUP_INCOMPLETE\`) when something cannot be removed, such as a folder owned by another user. It reads the marker only to report: an invalid marker, or one that says the credentials expired, is a violation (exit 1) once the workspace is empty; without a digest it cannot prove that a valid-looking marker is genuine.

## The mounted Secret
Kubernetes mounts each key of a Secret as a link into a timestamped folder (\`key -> ..data/key\`, \`..data -> ..2024_…\`). The step follows such links one component at a time through folder descriptors, only while each target is relative and goes downwards: an absolute target, a \`..\` or more than 8 links is refused (\`CONFIG_SECRET_MALFORMED\`), so a \`secret\` workspace bound to a folder a task can write cannot make the step read a file outside it. A key that is a FIFO or a device is refused without being opened, and no key is read past 1 MiB. The service account folder of the kubernetes-api source is read the same way.

## Expiry
\`expires\` (default 1h, at most 24h) is written to \`.inject-credentials/expires-at\` and the manifest. Nothing deletes credentials on a timer; instead a second injection into the same workspace (from the marker the digest vouches for), cleanup and workspace-guard report credentials found after that time as a violation (exit 1, \`tekton_workspace_access_violations_total{task,workspace}\`). \`expires-at\` is for tools that do not read JSON; nothing in the catalog trusts it.

## Exit codes and telemetry
0 ok; 1 violation (\`CREDENTIALS_WORKSPACE_NOT_EMPTY\`, \`CREDENTIALS_WORKSPACE_TAMPERED\`, \`CREDENTIALS_WORKSPACE_FOREIGN\`, \`CREDENTIALS_MARKER_INVALID\`, \`CREDENTIALS_EXPIRED\`; in cleanup, an invalid or expired marker, after the workspace has still been emptied); 2 bad params or a malformed Secret (the message names the param, or the Secret and the key, never the value); 3 failure (unwritable or full workspace, API unreachable, \`CREDENTIALS_CLEANUP_INCOMPLETE\`). Each injection counts \`tekton_credential_injections_total{secret_type,source,outcome}\` in the step log, and each violation \`tekton_workspace_access_violations_total{task,workspace}\`.

${telemetryNotes('`tekton_workspace_access_violations_total{task="inject-credentials",workspace="credentials"}`', 'one `dev.hardened-tekton.workspace.access.violated.v1` event per violation (its code and message, masked like the log: never a secret)')}`,
  samples: [
    {
      file: 'pipelinerun.yaml',
      description:
        'The seed\'s secure-build pipeline: only the trusted push task gets the credentials workspace, filled just before it and emptied in finally.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'secure-build-pipeline' },
          spec: {
            params: [
              { name: 'repo-url', type: 'string' },
              { name: 'image', type: 'string' },
            ],
            workspaces: [
              { name: 'source-code', description: 'Source code: read by user tasks.' },
              { name: 'build-output', description: 'Build artefacts: written by build, read by push.' },
              { name: 'registry-secret', description: 'The push Secret: bound only to the inject task.' },
              { name: 'credentials', description: 'Scoped credentials: bound only to inject, push and cleanup.' },
            ],
            tasks: [
              {
                name: 'clone',
                taskRef: { name: 'git-clone' },
                params: [{ name: 'url', value: '$(params.repo-url)' }],
                workspaces: [{ name: 'output', workspace: 'source-code' }],
              },
              {
                name: 'build',
                runAfter: ['clone'],
                taskRef: { name: 'user-build-task' },
                workspaces: [
                  { name: 'source', workspace: 'source-code' },
                  { name: 'output', workspace: 'build-output' },
                ],
              },
              {
                name: 'inject-credentials',
                runAfter: ['build'],
                taskRef: catalogTaskRef('inject-credentials'),
                params: [
                  { name: 'secret-name', value: 'registry-push-creds' },
                  { name: 'secret-type', value: 'kubernetes.io/dockerconfigjson' },
                  { name: 'allowed-hosts', value: ['registry.example.com'] },
                  { name: 'expires', value: '30m' },
                ],
                workspaces: [
                  { name: 'secret', workspace: 'registry-secret' },
                  { name: 'credentials', workspace: 'credentials' },
                ],
              },
              {
                name: 'push',
                runAfter: ['inject-credentials'],
                taskRef: { name: 'image-push' },
                params: [{ name: 'image', value: '$(params.image)' }],
                workspaces: [
                  { name: 'image', workspace: 'build-output' },
                  { name: 'creds', workspace: 'credentials' },
                ],
              },
            ],
            finally: [
              {
                name: 'cleanup-credentials',
                taskRef: catalogTaskRef('inject-credentials'),
                params: [{ name: 'mode', value: 'cleanup' }],
                workspaces: [{ name: 'credentials', workspace: 'credentials' }],
              },
            ],
          },
        },
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'PipelineRun',
          metadata: { generateName: 'secure-build-' },
          spec: {
            pipelineRef: { name: 'secure-build-pipeline' },
            params: [
              { name: 'repo-url', value: 'https://git.example.com/team/app.git' },
              { name: 'image', value: 'registry.example.com/team/app' },
            ],
            taskRunTemplate: { serviceAccountName: 'build-pipeline-sa' },
            workspaces: [
              {
                name: 'source-code',
                volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
              },
              {
                name: 'build-output',
                volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } },
              },
              { name: 'registry-secret', secret: { secretName: 'registry-push-creds' } },
              {
                // A per-run claim, because an emptyDir is not shared between the TaskRuns of a Pipeline.
                name: 'credentials',
                volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } } },
              },
            ],
          },
        },
      ],
    },
    {
      file: 'pipeline-reinjection.yaml',
      description:
        'Two Secrets into one credentials workspace: the second injection passes the first one\'s injection-digest, so it trusts nothing a task could have planted in between. Cleanup in finally takes no digest and empties the workspace whatever it holds.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'push-and-tag-pipeline' },
          spec: {
            workspaces: [
              { name: 'registry-secret', description: 'The registry Secret: bound only to the first inject task.' },
              { name: 'git-secret', description: 'The git basic-auth Secret: bound only to the second inject task.' },
              { name: 'credentials', description: 'Scoped credentials: bound only to the inject tasks, the trusted release task and cleanup.' },
            ],
            tasks: [
              {
                name: 'inject-registry-credentials',
                taskRef: catalogTaskRef('inject-credentials'),
                params: [
                  { name: 'secret-name', value: 'registry-push-creds' },
                  { name: 'secret-type', value: 'kubernetes.io/dockerconfigjson' },
                  { name: 'allowed-hosts', value: ['registry.example.com'] },
                  { name: 'expires', value: '30m' },
                ],
                workspaces: [
                  { name: 'secret', workspace: 'registry-secret' },
                  { name: 'credentials', workspace: 'credentials' },
                ],
              },
              {
                name: 'inject-git-credentials',
                runAfter: ['inject-registry-credentials'],
                taskRef: catalogTaskRef('inject-credentials'),
                params: [
                  { name: 'secret-name', value: 'git-tag-creds' },
                  { name: 'secret-type', value: 'kubernetes.io/basic-auth' },
                  { name: 'allowed-hosts', value: ['git.example.com'] },
                  { name: 'basic-auth-formats', value: ['git-credentials'] },
                  { name: 'expires', value: '30m' },
                  // The workspace is not empty any more: only the first injection's result may vouch for what is in it.
                  { name: 'previous-injection-digest', value: '$(tasks.inject-registry-credentials.results.injection-digest)' },
                ],
                workspaces: [
                  { name: 'secret', workspace: 'git-secret' },
                  { name: 'credentials', workspace: 'credentials' },
                ],
              },
              {
                name: 'release',
                runAfter: ['inject-git-credentials'],
                taskRef: { name: 'push-and-tag' },
                workspaces: [{ name: 'creds', workspace: 'credentials' }],
              },
            ],
            finally: [
              {
                // No digest here: Tekton skips a finally task whose params use a result of a task that failed.
                name: 'cleanup-credentials',
                taskRef: catalogTaskRef('inject-credentials'),
                params: [{ name: 'mode', value: 'cleanup' }],
                workspaces: [{ name: 'credentials', workspace: 'credentials' }],
              },
            ],
          },
        },
      ],
    },
    {
      file: 'taskrun-kubernetes-api.yaml',
      description: 'Fetch one named Secret with the service account token (Role with resourceNames in the README) into a memory-backed emptyDir.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'inject-credentials-api-' },
          spec: {
            taskRef: catalogTaskRef('inject-credentials'),
            serviceAccountName: 'credentials-injector',
            params: [
              { name: 'secret-source', value: 'kubernetes-api' },
              { name: 'secret-name', value: 'git-deploy-key' },
              { name: 'secret-type', value: 'kubernetes.io/ssh-auth' },
              { name: 'allowed-hosts', value: ['git.example.com'] },
              { name: 'ssh-known-hosts', value: 'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n' },
            ],
            workspaces: [{ name: 'credentials', emptyDir: { medium: 'Memory' } }],
          },
        },
      ],
    },
  ],
});
