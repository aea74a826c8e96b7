import { defineTask } from '../../src/build/definition.ts';
import { catalogTaskRef } from '../../src/build/sample-refs.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS, telemetryNotes } from '../../src/telemetry/task-params.ts';

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
  description: `Rejects injection attempts and malformed values at the start of a Pipeline. Each param is checked against a typed rule (git-sha, image-tag, image-reference, semver, dns-label, k8s-name, relative-path, https-url, enum, integer, bool, regex, text). Every type refuses NUL and other control characters, newlines (unless free text allows them), bidi overrides and isolates, zero-width and other invisible format characters, blank-looking characters, unassigned code points and noncharacters. A value of any type but text, regex and enum is inert as one word in a POSIX shell.

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
    ...TELEMETRY_PARAMS,
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
        ...TELEMETRY_ENV,
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
| image-reference | \`[registry/]repo[:tag][@sha256:<hex>]\` per the distribution grammar | \`requireDigest\`, \`allowIpv6\` (a \`[::1]:5000/app\` registry; quote such values) |
| semver | SemVer 2.0.0, no leading "v" | \`allowVPrefix\` |
| dns-label | RFC 1123 label, ≤ 63 | |
| k8s-name | DNS-1123 subdomain, ≤ 253 | |
| relative-path | relative, no \`..\`, no \`.\` or empty segments, no leading \`-\`; only \`A-Z a-z 0-9 . _ @ + -\` and \`/\` | |
| https-url | \`https://\` URLs in one canonical spelling: RFC 3986 characters only, \`! $ ' ( ) * ;\` percent-encoded; a plain host (IDN as xn--, no percent-encoding, no user info, IPv4 as four decimal numbers); no dot segments, not even percent-encoded; \`%\` only as \`%XX\`, only where needed, UTF-8 without invisible characters | \`allowedHosts\` (exact host[:port], compared after IDNA and lower-casing), \`publicHostsOnly\`, \`allowQuery\` and \`allowIpv6\` (quote such values) |
| enum | one of \`values\`, exactly | \`values\` (required) |
| integer | canonical decimal (no +, no leading zeros), safe range | \`min\`, \`max\` |
| bool | \`true\` or \`false\` | |
| regex | the whole value matches \`pattern\`, RE2 syntax, linear time | \`pattern\` and \`maxLength\` (both required; the length is checked first) |
| text | anything visible up to \`maxLength\` | \`maxLength\` (required), \`allowNewlines\` |

All types refuse NUL, C0 and C1 control characters, DEL, newlines (free text may allow LF and CRLF), U+2028/U+2029, bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069), zero-width characters and every other format (Cf) or default-ignorable code point, lone surrogates, private-use characters, unassigned code points (as of Unicode 17, the version of the step image's Node), the 66 noncharacters (U+FDD0–U+FDEF and U+xFFFE/U+xFFFF in every plane), and blank-looking characters that are not whitespace (U+2800 braille blank, U+303F, U+FFFC, U+16FE4, U+1D159; the Hangul fillers are default-ignorable already). Spaces (U+0020, no-break and the other Unicode spaces) are allowed where the type allows text. One exception keeps emoji usable: the zero-width joiner U+200D, the emoji variation selector U+FE0F and tag characters pass inside an emoji sequence from Unicode's RGI list (👨‍👩‍👧, ❤️, 1️⃣, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), because there they visibly join several pictographs into one; anywhere else they are refused. Text whose spelling needs ZWNJ or ZWJ between letters (Persian, some Indic conjuncts) is refused for the same reason the joiners are invisible.

## Shell guarantee
A value that passes git-sha, image-tag, image-reference, semver, dns-label, k8s-name, relative-path, https-url, integer or bool is inert as one word in a POSIX shell (dash, bash), unquoted or inside double quotes, even when a script pastes it in with \`$(params.x)\`: it holds only \`A-Z a-z 0-9\` and \`. _ - + , : = / @ % # ~\`, never starts with \`~\` (tilde expansion) or \`#\` (a comment), and has no \`~\` after \`:\` or \`=\` (tilde expansion in an assignment). Every other printable character means something to a shell: white space splits words; \`$\` and backticks expand; \`\\ " '\` quote; \`; & | < > ( )\` are operators; \`* ? [ ]\` glob, depending on which files exist; \`{ }\` brace-expand in bash; \`!\` and \`^\` expand history in interactive bash. A leading \`-\` is allowed (integer needs it for negative numbers): it is an option to the program, not to the shell, so pass such values after \`--\`.

Three opt-ins make a value that needs quoting: \`allowQuery\` and \`allowIpv6\` on https-url and \`allowIpv6\` on image-reference add \`? & [ ]\`. Such a value is inert inside double quotes only: write \`"$(params.url)"\`, never \`$(params.url)\` alone. text, regex and enum values carry whatever their rule allows: pass them through \`env\` and quote the variable (\`"$URL"\`), or better, never through a script.

## https-url and internal hosts
Without \`allowedHosts\`, an https-url may name any host, including \`localhost\`, \`127.0.0.1\` and the cloud metadata address \`169.254.169.254\`. \`publicHostsOnly: true\` refuses every IP address (IPv4 and IPv6, including IPv4-mapped and NAT64 forms; the other spellings of IPv4 such as \`2130706433\`, \`0x7f.1\` or \`0177.0.0.1\` are refused for every rule, since clients read them differently) and names that only resolve inside a machine, network or cluster: single-label names (\`kubernetes\`, \`metadata\`), \`localhost\`, \`*.localhost\`, \`*.local\`, \`*.internal\` (\`metadata.google.internal\`), \`*.home.arpa\`, \`*.localdomain\`, \`*.test\`, \`*.invalid\`, \`*.svc\` and \`*.cluster.local\`. It cannot see what a public name resolves to (\`127.0.0.1.nip.io\`, DNS rebinding): where the destination matters, list it in \`allowedHosts\`.

## Regex rules
Patterns use RE2 syntax, as Go and Kubernetes CEL do, and run on re2js, whose automata match in time linear in the value's length: no pattern can make the step backtrack, so \`(a+)+\` is fine. The pattern must match the whole value (\`^\` and \`$\` are not needed). \`maxLength\` is required: it is checked before the pattern runs, and the pattern's size times \`maxLength\` must stay under 2^25 steps (the message says how far to lower \`maxLength\`). Refused: backreferences, lookahead and lookbehind (no linear-time engine has them; say the condition in the pattern itself, e.g. \`[a-z][a-z0-9-]*\` for "does not start with -"), the \`i\` flag (Unicode case folding also matches look-alikes such as the Kelvin sign for "k"; write \`[A-Za-z]\`), ECMAScript's \`\\u0041\` (write \`\\x{41}\`), and counted repeats above \`{1000}\`. As in RE2, \`\\d\`, \`\\w\`, \`\\s\` and \`\\b\` are ASCII-only; \`\\pL\`, \`\\p{Greek}\` and \`[[:alpha:]]\` name Unicode and POSIX classes.

## In your own Task: env style
A Task that runs the validate-params image itself can pass one env variable per param: \`PARAM_<NAME>\`, where NAME is the param name upper-cased with "-" and "." turned into "_" (\`git-revision\` → \`PARAM_GIT_REVISION: $(params.git-revision)\`). Two rule names that map to the same variable are refused; a \`PARAM_*\` variable without a rule fails; a param may come from env or args, not both.

## Changes that refuse values accepted before
- https-url: a query string needs \`allowQuery: true\`, an IPv6 host \`allowIpv6: true\` (and quoting); \`! $ ' ( ) * ;\` must be percent-encoded; refused are dot segments in any encoding, percent-encoded hosts and unreserved characters (\`%41\`, \`%2E\`), a lone \`%\`, percent-encoded bytes that are not UTF-8 or decode to control or invisible characters, \`_\` and a trailing \`.\` in host names, IPv4 hosts not written as four decimal numbers, IPv6 hosts not written as the URL standard prints them, empty ports and ports with leading zeros, an empty query or fragment, and \`~\` after \`:\` or \`=\`.
- image-reference: a registry written as a bracketed IPv6 address needs \`allowIpv6: true\`.
- All types: unassigned code points, noncharacters and blank-looking characters such as U+2800 are refused. (RGI emoji sequences with U+200D or U+FE0F, refused before, now pass.)
- regex: patterns are RE2 syntax. Lookahead (allowed before when it did not repeat), \`\\u\` and \`\\c\` escapes and counts above 1000 are refused; \`\\s\` no longer matches non-ASCII spaces such as U+00A0; a pattern whose size times \`maxLength\` exceeds 2^25 is refused. Patterns refused before as possibly slow (\`(a+)+\`, \`\\d+\\d+\`) are accepted now. Error code CONFIG_RULE_REGEX_UNSAFE is gone; CONFIG_RULE_REGEX_UNSUPPORTED, CONFIG_RULE_REGEX_SYNTAX and CONFIG_RULE_REGEX_TOO_COMPLEX remain.
- Messages name the Task's params (\`rules.git-revision.type: ...\`, \`the "values" entry ...\`) instead of the program's \`RULES\` variable and arguments.

## Exit codes and telemetry
0 valid, 1 a value was rejected, 2 bad rules or arguments, 3 internal failure. Each failure adds to \`tekton_param_validation_failures_total{task,param}\` (a \`metrics:\` line on stderr, and Prometheus text appended to \`$TEKTON_CATALOG_METRICS_FILE\` when set).

${telemetryNotes('`tekton_param_validation_failures_total{task,param}`', 'one `dev.hardened-tekton.param.validation.failed.v1` event per rejected value (the value itself only escaped and cut to 64 characters, as in the log)')}`,
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
            taskRef: catalogTaskRef('validate-params'),
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
                taskRef: catalogTaskRef('validate-params'),
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
