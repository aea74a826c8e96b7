import { defineTask } from '../../src/build/definition.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS, telemetryNotes } from '../../src/telemetry/task-params.ts';

const GLOB_ELEMENT = { type: 'regex', pattern: '[A-Za-z0-9._*?@+=,~/-]+', maxLength: 1024, optional: true } as const;

export default defineTask({
  name: 'workspace-guard',
  version: '0.1.0',
  displayName: 'Workspace guard',
  summary: 'Seal, verify, police and scrub a workspace between tasks and between PipelineRuns.',
  description: `Gives a Pipeline evidence that a workspace holds exactly what a trusted task left there, and nothing dangerous.

- **seal** walks the workspace without following any symlink, writes a manifest of every entry (path, type, mode, owner, size, sha256, symlink target), marks the workspace with the PipelineRun uid and returns the manifest's digest.
- **verify** compares the workspace with that manifest and fails on any added, removed or changed entry that the allow globs do not cover.
- **police** (also run by seal and verify) fails on symlinks or hardlinks leaving the workspace, setuid/setgid files, devices, FIFOs, sockets, world-writable entries, unexpected owners, control characters in names, another PipelineRun's marker, and credential material (private keys, docker configs with auths, AWS keys, GCP service account keys, Kubernetes service account tokens, git credentials, .netrc passwords). Findings name the kind and the path, never the secret.
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
            taskRef: { name: 'workspace-guard' },
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
                taskRef: { name: 'workspace-guard' },
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
                taskRef: { name: 'workspace-guard' },
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
