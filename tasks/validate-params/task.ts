import { defineTask } from '../../src/build/definition.ts';

/** The rule set used by the samples: one param of each common type. */
const SAMPLE_RULES = `git-revision: {type: git-sha}
image: {type: image-reference, requireDigest: true}
image-tag: {type: image-tag}
deploy-env: {type: enum, values: [dev, staging, prod]}
replicas: {type: integer, min: 1, max: 10}
context-dir: {type: relative-path}
`;

export default defineTask({
  name: 'validate-params',
  version: '0.1.0',
  displayName: 'Validate params',
  summary: 'Check every param against a typed rule set before any other task uses it.',
  description: `Rejects injection attempts and malformed values at the start of a Pipeline. Each param is checked against a typed rule (git-sha, image-tag, image-reference, semver, dns-label, k8s-name, relative-path, https-url, enum, integer, bool, regex, text). Every type refuses NUL and other control characters, newlines (unless free text allows them), bidi overrides and isolates, zero-width and other invisible format characters.

On failure the step exits 1 and lists every failing param at once with its rule; values are shown JSON-escaped and truncated, never raw. Failures are counted as tekton_param_validation_failures_total{task,param}.`,
  categories: ['Security'],
  tags: ['security', 'validation', 'params'],
  params: [
    {
      name: 'rules',
      description: 'The rule set, JSON or YAML: a mapping from param name to rule, e.g. {"git-revision": {"type": "git-sha"}}.',
      rule: { type: 'text', maxLength: 65536, allowNewlines: true },
    },
    {
      name: 'values',
      type: 'array',
      description: 'The values to check, one NAME=VALUE entry each, e.g. "git-revision=$(params.git-revision)". Repeat a NAME for several elements.',
      default: [],
      rule: { type: 'text', maxLength: 65536, optional: true },
    },
    {
      name: 'elements-name',
      description: 'The name of one array param whose elements are passed in "elements" (empty: none).',
      default: '',
      rule: { type: 'regex', pattern: '[A-Za-z_][A-Za-z0-9_.-]*', maxLength: 128, optional: true },
    },
    {
      name: 'elements',
      type: 'array',
      description: 'The elements of the array param named by "elements-name"; pass "$(params.<array>[*])".',
      default: [],
      rule: { type: 'text', maxLength: 65536, optional: true },
    },
  ],
  results: [
    { name: 'VALIDATED', description: '"true" when every param passed its rule (the step fails otherwise).', bound: { kind: 'boolean' } },
    { name: 'PARAMS_DIGEST', description: 'sha256 of the validated names and values, sorted by name.', bound: { kind: 'digest' } },
  ],
  steps: [
    {
      name: 'validate',
      program: 'validate-params',
      // "--elements" always follows the values, so a value can never be read as --help.
      args: ['$(params.values[*])', '--elements', '$(params.elements-name)', '$(params.elements[*])'],
      env: [
        { name: 'RULES', value: '$(params.rules)' },
        { name: 'TASK_NAME', value: '$(context.task.name)' },
      ],
      computeResources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
    },
  ],
  notes: `## Usage
Run it first and make every other task \`runAfter\` it: when a value breaks its rule the TaskRun fails and nothing after it starts.

\`\`\`yaml
- name: validate
  taskRef: {name: validate-params}
  params:
    - name: rules
      value: |
        git-revision: {type: git-sha}
        image: {type: image-reference, requireDigest: true}
        deploy-env: {type: enum, values: [dev, staging, prod]}
        build-args: {type: regex, pattern: "[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*", maxLength: 256}
    - name: values
      value:
        - git-revision=$(params.git-revision)
        - image=$(params.image)
        - deploy-env=$(params.deploy-env)
    - name: elements-name
      value: build-args
    - name: elements
      value: ["$(params.build-args[*])"]
- name: build
  runAfter: [validate]
  ...
\`\`\`

Every param given needs a rule and every rule needs a value unless it says \`optional: true\` (an empty value then passes too). Write the \`NAME=\` prefix yourself in each \`values\` entry; an array param goes through \`elements-name\` and \`elements\`, one per Task run.

## Types
| type | accepts | options |
|---|---|---|
| git-sha | 40 or 64 lower-case hex digits | |
| image-tag | \`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\` | |
| image-reference | \`[registry/]repo[:tag][@sha256:<hex>]\` per the distribution grammar | \`requireDigest\` |
| semver | SemVer 2.0.0, no leading "v" | \`allowVPrefix\` |
| dns-label | RFC 1123 label, ≤ 63 | |
| k8s-name | DNS-1123 subdomain, ≤ 253 | |
| relative-path | relative, no \`..\`, no \`.\` or empty segments, no leading \`-\`; only \`A-Z a-z 0-9 . _ @ + -\` and \`/\` | |
| https-url | \`https://\` URLs, printable ASCII (IDN hosts as xn--), no user info, no backslash | \`allowedHosts\` (exact host[:port], compared after IDNA and lower-casing) |
| enum | one of \`values\`, exactly | \`values\` |
| integer | canonical decimal (no +, no leading zeros), safe range | \`min\`, \`max\` |
| bool | \`true\` or \`false\` | |
| regex | the whole value matches \`pattern\` (anchored for you, \`u\` flag) | \`pattern\`, \`maxLength\` (checked first) |
| text | anything printable up to \`maxLength\` | \`maxLength\`, \`allowNewlines\` |

All types refuse NUL, C0 and C1 control characters, DEL, newlines (free text may allow LF and CRLF), U+2028/U+2029, bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069), zero-width characters and every other format (Cf) or default-ignorable code point, lone surrogates and private-use characters.

A \`regex\` rule is refused (exit 2) unless validate-params can prove the pattern cannot backtrack catastrophically: no backreferences or lookbehinds, no repetition that can match the same text two ways (\`(a+)+\`, \`(a|a)*\`) and no two repetitions that can split the same text (\`\\d+\\d+\`, \`.*x.*\`). Write \`[a-z]+(-[a-z]+)*\` rather than \`([a-z]+-?)+\`. Unicode property escapes (\`\\p{L}\`) count as "any character" in that proof.

## In your own Task: env style
A Task that runs the validate-params image itself can pass one env variable per param: \`PARAM_<NAME>\`, where NAME is the param name upper-cased with "-" and "." turned into "_" (\`git-revision\` → \`PARAM_GIT_REVISION: $(params.git-revision)\`). Two rule names that map to the same variable are refused; a \`PARAM_*\` variable without a rule fails; a param may come from env or args, not both.

## Exit codes and telemetry
0 valid, 1 a value was rejected, 2 bad rules or arguments, 3 internal failure. Each failure adds to \`tekton_param_validation_failures_total{task,param}\` (a \`metrics:\` line on stderr, and Prometheus text appended to \`$TEKTON_CATALOG_METRICS_FILE\` when set).`,
  samples: [
    {
      file: 'taskrun.yaml',
      description: 'Validate a revision, an image, a tag, an environment, a replica count and a path.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'validate-params-' },
          spec: {
            taskRef: { name: 'validate-params' },
            params: [
              { name: 'rules', value: SAMPLE_RULES },
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
            ],
          },
        },
      ],
    },
    {
      file: 'pipeline.yaml',
      description: 'Validate the Pipeline params first; the build only starts after validation passed.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'validated-build' },
          spec: {
            params: [
              { name: 'git-revision', type: 'string', description: 'Commit to build.' },
              { name: 'image-tag', type: 'string', description: 'Tag for the built image.' },
              { name: 'build-args', type: 'array', description: 'KEY=value build arguments.', default: [] },
            ],
            tasks: [
              {
                name: 'validate',
                taskRef: { name: 'validate-params' },
                params: [
                  {
                    name: 'rules',
                    value: 'git-revision: {type: git-sha}\nimage-tag: {type: image-tag}\nbuild-args: {type: regex, pattern: "[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*", maxLength: 256, optional: true}\n',
                  },
                  { name: 'values', value: ['git-revision=$(params.git-revision)', 'image-tag=$(params.image-tag)'] },
                  { name: 'elements-name', value: 'build-args' },
                  { name: 'elements', value: ['$(params.build-args[*])'] },
                ],
              },
              {
                name: 'build',
                runAfter: ['validate'],
                params: [
                  { name: 'git-revision', value: '$(params.git-revision)' },
                  { name: 'image-tag', value: '$(params.image-tag)' },
                ],
                taskSpec: {
                  params: [
                    { name: 'git-revision', type: 'string' },
                    { name: 'image-tag', type: 'string' },
                  ],
                  steps: [
                    {
                      name: 'build',
                      // Placeholder: your build tool's image, pinned by digest.
                      image: 'registry.example.com/tools/build@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
                      // Params reach the program through env, never pasted into a script.
                      env: [
                        { name: 'GIT_REVISION', value: '$(params.git-revision)' },
                        { name: 'IMAGE_TAG', value: '$(params.image-tag)' },
                      ],
                      args: ['--revision-from-env', 'GIT_REVISION', '--tag-from-env', 'IMAGE_TAG'],
                      securityContext: {
                        runAsNonRoot: true,
                        runAsUser: 65532,
                        allowPrivilegeEscalation: false,
                        readOnlyRootFilesystem: true,
                        capabilities: { drop: ['ALL'] },
                      },
                      computeResources: { limits: { cpu: '500m', memory: '256Mi' } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
    },
  ],
});
