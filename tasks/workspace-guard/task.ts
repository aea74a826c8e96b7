import { defineTask } from '../../src/build/definition.ts';
import { catalogTaskRef } from '../../src/build/sample-refs.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS, telemetryNotes } from '../../src/telemetry/task-params.ts';

const GLOB_ELEMENT = { type: 'regex', pattern: '[A-Za-z0-9._*?@+=,~/-]+', maxLength: 1024, optional: true } as const;

export default defineTask({
  name: 'workspace-guard',
  version: '0.1.0',
  displayName: 'Workspace guard',
  summary: 'Seal, verify, police and scrub a workspace between tasks and between PipelineRuns.',
  description: `Gives a Pipeline evidence that a workspace holds exactly what a trusted task left there, and nothing dangerous.

- **seal** walks the workspace without following any symlink, writes a manifest of every entry (path, type, mode, owner, size, sha256, symlink target, extended attributes, and with \`compare-mtimes\` the mtime), marks the workspace with the PipelineRun uid and returns the manifest's digest.
- **verify** compares the workspace with that manifest and fails on any added, removed or changed entry that the allow globs do not cover.
- **police** (also run by seal, verify and scrub) fails on symlinks or hardlinks leaving the workspace, setuid/setgid files, file capabilities, ACLs, devices, FIFOs, sockets, world-writable entries, unexpected owners, control characters in names, another PipelineRun's marker, anything in \`.tekton-workspace-guard/\` but the guard's own marker and manifest, and credential material (private keys, docker configs with auths, AWS keys, GCP service account keys, Kubernetes service account tokens, git credentials, .netrc passwords). Findings name the kind and the path, never the secret.
- **scrub** overwrites and removes credential files before a user-controlled task receives the workspace.`,
  categories: ['Security'],
  tags: ['security', 'workspace', 'integrity'],
  params: [
    { name: 'mode', description: 'seal, verify, police or scrub.', rule: { type: 'enum', values: ['seal', 'verify', 'police', 'scrub'] } },
    {
      name: 'run-uid',
      description: 'The PipelineRun uid: pass $(context.pipelineRun.uid). Required for seal, verify and police.',
      default: '',
      rule: { type: 'regex', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', maxLength: 128, optional: true },
    },
    {
      name: 'expected-digest',
      description: 'verify: the manifest-digest result of the seal run, sha256:<hex>.',
      default: '',
      rule: { type: 'regex', pattern: '^sha256:[0-9a-f]{64}$', maxLength: 71, optional: true },
    },
    {
      name: 'allow-changes',
      type: 'array',
      description: 'verify: globs under which changes are allowed, e.g. "dist/**". * and ? stay within a path component; ** spans components.',
      default: [],
      rule: GLOB_ELEMENT,
    },
    {
      name: 'allowed-uids',
      description: 'Comma-separated uids allowed to own entries (the root folder excepted); empty disables the owner check.',
      default: '65532',
      rule: { type: 'regex', pattern: '^[0-9]{1,10}(,[0-9]{1,10})*$', maxLength: 200, optional: true },
    },
    {
      name: 'compare-mtimes',
      description:
        'Strict mode: "true" makes seal record, and verify compare, the modification time of every file and symlink, so a build tool that skips work by mtime cannot be fooled with a stale output. Pass the same value to seal and verify.',
      default: 'false',
      rule: { type: 'enum', values: ['false', 'true'] },
    },
    {
      name: 'workspace-label',
      description: 'The workspace label on tekton_workspace_access_violations_total.',
      default: 'target',
      rule: { type: 'dns-label' },
    },
    ...TELEMETRY_PARAMS,
  ],
  workspaces: [
    { name: 'target', description: 'The workspace to seal, verify, police or scrub.' },
    {
      name: 'manifest',
      description: 'Where the manifest is kept (workspace-guard-manifest.ndjson). Unbound: inside target, in the reserved .tekton-workspace-guard folder.',
      optional: true,
    },
    { name: 'report', description: 'Receives the full JSON report (workspace-guard-<mode>-report.json).', optional: true },
  ],
  results: [
    {
      name: 'manifest-digest',
      description: 'seal: sha256 of the manifest; verify: the digest checked. Empty when seal found violations.',
      bound: { kind: 'digest', orEmpty: true },
    },
    { name: 'violations', description: 'Number of violations found (0 when the step passes).', bound: { kind: 'count', max: Number.MAX_SAFE_INTEGER } },
    {
      name: 'summary',
      description: 'Short JSON: mode, counts and violations by rule.',
      bound: { kind: 'json', maxBytes: 1024, why: 'counts and at most 12 rules (summarize in steps/workspace-guard)' },
    },
  ],
  steps: [
    {
      name: 'guard',
      program: 'workspace-guard',
      args: ['--', '$(params.allow-changes[*])'],
      env: [
        { name: 'MODE', value: '$(params.mode)' },
        { name: 'TARGET', value: '$(workspaces.target.path)' },
        { name: 'RUN_UID', value: '$(params.run-uid)' },
        { name: 'EXPECTED_DIGEST', value: '$(params.expected-digest)' },
        { name: 'ALLOWED_UIDS', value: '$(params.allowed-uids)' },
        { name: 'COMPARE_MTIMES', value: '$(params.compare-mtimes)' },
        { name: 'MANIFEST_DIR', value: '$(workspaces.manifest.path)' },
        { name: 'REPORT_DIR', value: '$(workspaces.report.path)' },
        { name: 'TASK_LABEL', value: '$(context.task.name)' },
        { name: 'WORKSPACE_LABEL', value: '$(params.workspace-label)' },
        ...TELEMETRY_ENV,
      ],
      // Hashing uses one worker thread per core: give it two.
      computeResources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } },
    },
  ],
  notes: `## Between tasks
Run \`seal\` right after the trusted task that fills a workspace, and \`verify\` right before the next task that consumes it, passing \`$(tasks.<seal>.results.manifest-digest)\` as \`expected-digest\`. Keep the manifest in its own workspace (\`manifest\`) that untrusted tasks do not get; if it stays in the target, a changed manifest is still caught by its digest. Allow the folders a task may legitimately write (for example \`dist/**\`) with \`allow-changes\`.

## Between runs
Every mode checks the run marker \`.tekton-workspace-guard/run\`. Seal writes the PipelineRun uid there; a later \`police\` or \`verify\` from another PipelineRun sharing the same ReadWriteMany volume fails with \`foreign-run-marker\`. Always pass \`run-uid: $(context.pipelineRun.uid)\` from the Pipeline (a Task cannot read it itself).

## Before a user-controlled task
Run \`scrub\` on any workspace a credential-injection step wrote to; it overwrites and deletes the files holding credential material and lists them (kind and path, never the value). Better still, never share that workspace.

## The reserved folder
\`.tekton-workspace-guard/\` belongs to the guard. It may hold the run marker \`run\` (a regular file of at most 256 bytes with one link) and, when no \`manifest\` workspace is bound, \`manifest.ndjson\` (a regular file with one link); their modes may be at most 0664 and the folder's at most 2775, which leaves room for what an fsGroup adds. Every mode (seal, verify, police and scrub) fails with \`reserved-folder\` on anything else there: other files, folders or links, a marker or manifest of the wrong type, mode, size or link count, or a manifest while the manifest workspace is bound. Earlier versions skipped the folder's contents, so a tree planted there (an executable git hook, say) went unnoticed.

Newly failing for that reason: temp files left by a seal that was killed while writing (\`.manifest.ndjson.tmp-…\`, \`.run.tmp-…\`), and a manifest left in the folder from before a manifest workspace was bound. Scrub reports these but does not delete them, since it removes only what it can prove to be credential material: delete the folder, or start from a fresh workspace, before the trusted task that fills it.

The guard skips nothing it walks, so what it writes must not be part of the target: a manifest path or report folder inside the target is a usage error, and a folder of the target that is the manifest or report workspace (one volume bound twice) fails with \`guard-state-in-target\`.

inject-credentials' \`.inject-credentials/manifest.json\` is read only to add violations (\`expired-credentials\`, \`credentials-marker-invalid\` when it is not a readable regular file); whatever it lists, every file there is policed like any other, and credential material is found by its content.

## Extended attributes
Seal records every extended attribute of every entry (its name and the sha256 of its value), and verify fails with \`xattrs-changed\` when one is added, removed or changed. Police fails on:
- \`file-capability\`: \`security.capability\`, which grants privileges when the file runs, as setuid does;
- \`acl\`: a POSIX ACL (\`system.posix_acl_access\` or \`system.posix_acl_default\`), which can grant more than the mode shows (Linux stores no access ACL that merely repeats the mode, and a default ACL decides what new files get); an NFSv4 ACL (\`system.nfs4_acl\`) only when it names a user or group other than OWNER@, GROUP@ and EVERYONE@, or cannot be decoded, because an NFSv4 volume shows one derived from the mode on every file;
- \`system-xattr\`: any other \`system.*\` attribute, which the guard cannot evaluate.

\`security.selinux\` is neither recorded nor policed: on SELinux nodes the container runtime relabels a volume for each pod, so the label changes between tasks without anyone attacking. \`user.*\` and the other \`security.*\` labels (IMA, EVM, Smack, AppArmor) are recorded and compared only. \`trusted.*\` attributes are visible only with CAP_SYS_ADMIN, which the step never has.

Newly failing for that reason: files with capabilities, and workspaces whose files or folders carry ACLs (volumes prepared with \`setfacl\`, for example). Remove them (\`setcap -r\`, \`setfacl -b\`) in the task that fills the workspace.

The attributes are read by the pinned Debian \`getfattr\` in the step image, in batches of entries, not once per file. If it cannot run, exits with an error or prints anything unexpected, the step fails (\`xattrs-unreadable\`, or exit code 3 when the program is missing); it never reports a workspace clean without having read them.

## Strict mode: mtimes
With \`compare-mtimes: "true"\` seal records the modification time (to the nanosecond) of every file and symlink, and verify fails with \`mtime-changed\` when one differs, even if the content is the same: build tools that skip work by mtime can otherwise be fooled into keeping a stale output. Folders are left out, because a folder's mtime changes whenever a file in it comes and goes, and its entries are compared one by one. A manifest sealed in strict mode is always verified in strict mode (the choice is covered by its digest); a verify that asks for strict mode against a manifest sealed without it fails with \`mtimes-not-sealed\`. It is off by default because restoring or copying a workspace without keeping times would fail it.

## Manifest format
The manifest is \`tekton-workspace-guard/manifest/v3\`: v2 plus extended attributes, mtimes in strict mode, and a reader that refuses any line not written exactly as seal writes it. A v2 manifest, written by an earlier version of this Task, is refused with a message: seal and verify with the same version.

## Ownership and permissions
The step runs as uid 65532 and must be able to read every file: set \`podTemplate.securityContext.fsGroup\` so files written by earlier tasks are readable, and list the uids of the tasks that write the workspace in \`allowed-uids\`. Unreadable files fail the step (fail closed).

## Exit codes and telemetry
0 clean, 1 violations, 2 usage error, 3 failure. Violations are counted as \`tekton_workspace_access_violations_total{task,workspace}\` (a \`metrics:\` line on stderr).

${telemetryNotes('`tekton_workspace_access_violations_total{task,workspace}`', 'one `dev.hardened-tekton.workspace.access.violated.v1` event per finding (rule, path, detail)')}`,
  samples: [
    {
      file: 'taskrun.yaml',
      description: 'Police a shared workspace on its own.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'workspace-guard-police-' },
          spec: {
            taskRef: catalogTaskRef('workspace-guard'),
            params: [
              { name: 'mode', value: 'police' },
              { name: 'run-uid', value: '5c3a2f0e-8d7b-4e2a-9f1c-0a1b2c3d4e5f' },
            ],
            workspaces: [{ name: 'target', persistentVolumeClaim: { claimName: 'shared-workspace' } }],
          },
        },
      ],
    },
    {
      file: 'pipeline.yaml',
      description: 'Seal after a trusted clone, verify and police before the user build.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'guarded-build' },
          spec: {
            params: [{ name: 'repo-url', type: 'string' }],
            workspaces: [{ name: 'source' }, { name: 'guard-state' }],
            tasks: [
              {
                name: 'clone',
                taskRef: { name: 'git-clone' },
                params: [{ name: 'url', value: '$(params.repo-url)' }],
                workspaces: [{ name: 'output', workspace: 'source' }],
              },
              {
                name: 'seal',
                runAfter: ['clone'],
                taskRef: catalogTaskRef('workspace-guard'),
                params: [
                  { name: 'mode', value: 'seal' },
                  { name: 'run-uid', value: '$(context.pipelineRun.uid)' },
                ],
                workspaces: [
                  { name: 'target', workspace: 'source' },
                  { name: 'manifest', workspace: 'guard-state' },
                ],
              },
              {
                name: 'verify',
                runAfter: ['seal'],
                taskRef: catalogTaskRef('workspace-guard'),
                params: [
                  { name: 'mode', value: 'verify' },
                  { name: 'run-uid', value: '$(context.pipelineRun.uid)' },
                  { name: 'expected-digest', value: '$(tasks.seal.results.manifest-digest)' },
                ],
                workspaces: [
                  { name: 'target', workspace: 'source' },
                  { name: 'manifest', workspace: 'guard-state' },
                ],
              },
              {
                name: 'build',
                runAfter: ['verify'],
                taskRef: { name: 'user-build' },
                workspaces: [{ name: 'source', workspace: 'source' }],
              },
            ],
          },
        },
      ],
    },
  ],
});
