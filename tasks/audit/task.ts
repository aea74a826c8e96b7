import { defineTask } from '../../src/build/definition.ts';
import { catalogTaskRef } from '../../src/build/sample-refs.ts';

const PATH_ELEMENT = { type: 'regex', pattern: '[A-Za-z0-9._*?@+=,~/-]+', maxLength: 1024, optional: true } as const;

export default defineTask({
  name: 'audit',
  version: '0.1.0',
  displayName: 'Audit Tekton YAML',
  summary: 'Audit the Tekton and RBAC YAML in a workspace for the pipeline weaknesses attackers use.',
  description: `Runs \`tekton-catalog audit\` over the YAML in the source workspace: Tasks, Pipelines, runs, StepActions (also Pipelines-as-Code \`.tekton/\` folders), RBAC, ServiceAccounts, PersistentVolumeClaims and NetworkPolicies. It finds params, results and Pipelines-as-Code placeholders pasted into scripts, \`sh -c\` strings and CEL, step images not pinned by digest, service accounts bound to admin roles and Roles that read every secret, credential workspaces shared with other tasks, claims reused across runs, weak securityContexts, missing memory limits, open egress, and Pipelines without validate-params or verify-image gates. It also lints every pipeline task and run against the interface of the Task it uses (this catalog's Tasks included): unknown params with a suggestion, missing params, type mismatches, unbound workspaces, undeclared results and values that break a catalog Task's param rules.

Findings are printed grouped by file; the full report goes to the report workspace as SARIF 2.1.0 (for GitHub code scanning) and JSON. Symlinks in the source are never followed.`,
  categories: ['Security', 'Code Quality'],
  tags: ['security', 'audit', 'lint', 'sarif'],
  params: [
    { name: 'paths', type: 'array', description: 'Files, folders or globs to audit, relative to the source workspace.', default: ['.'], rule: PATH_ELEMENT },
    { name: 'mode', description: 'audit (every rule) or lint (interfaces only).', default: 'audit', rule: { type: 'enum', values: ['audit', 'lint'] } },
    { name: 'fail-on', description: 'Fail when a finding is at least this severe: error, warning, note or none.', default: 'error', rule: { type: 'enum', values: ['error', 'warning', 'note', 'none'] } },
    {
      name: 'config',
      description: 'Config file relative to the source (failOn, exclude, rule severities, ignores with reasons); empty: .tekton-audit.yaml if present.',
      default: '',
      rule: { type: 'relative-path', optional: true },
    },
  ],
  workspaces: [
    { name: 'source', description: 'The repository (or folder) holding the YAML to audit.', readOnly: true },
    { name: 'report', description: 'Receives audit-report.sarif and audit-report.json.', optional: true },
  ],
  results: [
    { name: 'findings', description: 'Number of findings not suppressed (every severity).', bound: { kind: 'count', max: Number.MAX_SAFE_INTEGER } },
    {
      name: 'summary',
      description: 'Short JSON: counts by severity and the most frequent rules.',
      bound: { kind: 'json', maxBytes: 768, why: 'eight counts and at most 12 rule ids with their counts (summarize in steps/audit)' },
    },
  ],
  steps: [
    {
      name: 'audit',
      program: 'audit',
      args: ['--', '$(params.paths[*])'],
      env: [
        { name: 'SOURCE', value: '$(workspaces.source.path)' },
        { name: 'MODE', value: '$(params.mode)' },
        { name: 'FAIL_ON', value: '$(params.fail-on)' },
        { name: 'CONFIG', value: '$(params.config)' },
        { name: 'REPORT_DIR', value: '$(workspaces.report.path)' },
      ],
      computeResources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    },
  ],
  notes: `## Usage
Run it on the repository a clone task fetched, before anything from that repository runs:

\`\`\`yaml
- name: audit
  runAfter: [clone]
  taskRef: {name: audit}
  params:
    - name: paths
      value: [".tekton", "pipelines"]
  workspaces:
    - {name: source, workspace: source-code}
    - {name: report, workspace: reports}
\`\`\`

Upload \`audit-report.sarif\` from the report workspace to GitHub code scanning, or read the findings in the step log. Rule ids, what each finds and how to fix it: \`tekton-catalog audit --list-rules\` and the top-level README.

## Suppressing a finding
Write the reason in the YAML, on the line above the entry: \`# tekton-audit-ignore TA401: the value is an enum\`. A comment without a reason suppresses nothing and is itself reported. Or list ignores with reasons in \`.tekton-audit.yaml\`.

## Exit codes
0 clean, 1 findings at \`fail-on\` or above, 2 a file could not be parsed or a usage/config error, 3 failure.`,
  samples: [
    {
      file: 'taskrun.yaml',
      description: 'Audit the .tekton folder of a checked-out repository.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'audit-' },
          spec: {
            taskRef: catalogTaskRef('audit'),
            params: [{ name: 'paths', value: ['.tekton'] }],
            workspaces: [
              { name: 'source', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } },
              { name: 'report', emptyDir: {} },
            ],
          },
        },
      ],
    },
  ],
});
