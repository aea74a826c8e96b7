import { parse as parseYaml } from 'yaml';
import { isCatalogError, quoteUntrusted } from '../../errors.ts';
import { compileRuleSetWith, type CompiledRule } from '../../params/compile.ts';
import { loadedRegexEngine } from '../../params/regex/linear-pattern.ts';
import { checkRuleSet } from '../../params/rule-source.ts';
import type { ParamRule } from '../../params/rules.ts';
import { validateParams } from '../../params/validate.ts';
import type { TektonParam, TektonParamSpec, TektonPipelineSpec } from '../../tekton/models.ts';
import { checkSemantics } from '../../tekton/references.ts';
import { classify, findSubstitutions } from '../../tekton/substitution.ts';
import type { Path } from '../input/source.ts';
import type { PipelineTaskSite } from '../model/audit-model.ts';
import type { AuditDocument } from '../model/documents.ts';
import type { Resolution } from '../model/resolve.ts';
import type { Check, RuleContext, RuleMeta } from '../rules/rule.ts';
import { didYouMean } from './did-you-mean.ts';

/**
 * The lint: every pipeline task and run that references a Task we can
 * resolve (in the input, embedded, or one of our catalog's) is checked
 * against that Task's interface, the way Tekton would check it only once
 * the PipelineRun reaches a cluster. Param names are free strings, so the
 * CRD schema cannot catch a misspelled one.
 */

const lintRule = (id: string, name: string, summary: string, help: string): RuleMeta => ({ id, name, severity: 'error', group: 'lint', summary, help });

export const tektonSemantics = lintRule(
  'TL001',
  'tekton-reference',
  'A `$(...)` reference, name or pipeline graph that Tekton would reject or never substitute.',
  'The message names the field and what to change: declare the param, result or workspace it names, fix its spelling, or replace removed PipelineResources syntax (`$(inputs.params.x)`) with `$(params.x)`.',
);
export const unknownParam = lintRule(
  'TL101',
  'unknown-param',
  'A param is passed that the Task (or Pipeline) does not declare, most often a misspelling.',
  'Tekton ignores the value and the Task uses its default, so the setting you meant silently does not apply. Use the name the Task declares:\n\n```yaml\nparams:\n  - name: certificate-oidc-issuer   # not certificate-oidc-isuer\n    value: https://token.actions.githubusercontent.com\n```',
);
export const missingParam = lintRule(
  'TL102',
  'missing-required-param',
  'A param the Task (or Pipeline) requires (it has no default) is not passed.',
  'Tekton fails the run before it starts. Pass the param:\n\n```yaml\nparams:\n  - name: images\n    value: ["registry.example.com/app@sha256:<digest>"]\n```',
);
export const paramTypeMismatch = lintRule(
  'TL103',
  'param-type-mismatch',
  'A string is passed for an array param, or an array for a string param.',
  'Pass the kind of value the Task declares: a list for `type: array` (`value: ["a", "b"]` or `value: ["$(params.list[*])"]`), a single string otherwise.',
);
export const unboundWorkspace = lintRule(
  'TL104',
  'unbound-workspace',
  'A workspace the Task requires (not optional) is not bound.',
  'Bind it to a Pipeline workspace (or, in a run, to a volume):\n\n```yaml\nworkspaces:\n  - name: target\n    workspace: source\n```',
);
export const unknownWorkspace = lintRule(
  'TL105',
  'unknown-workspace',
  'A workspace is bound under a name the Task does not declare.',
  'Use the workspace name the Task declares; Tekton rejects the run otherwise.',
);
export const undeclaredResult = lintRule(
  'TL106',
  'undeclared-result',
  '`$(tasks.x.results.y)` names a result that Task x does not declare.',
  'Tekton rejects the Pipeline. Use a result the Task declares (the message lists the closest one).',
);
export const ruleViolated = lintRule(
  'TL107',
  'param-rule-violated',
  'A literal param value breaks the validate-params rule the catalog Task declares for it.',
  'The catalog Task validates its params and would fail the run with this value. Change the value to one the rule accepts; the rule is in the Task\'s README (catalog/task/<name>/<version>/README.md).',
);

type Kind = 'string' | 'array' | 'object';

function declaredKind(spec: TektonParamSpec): Kind {
  if (spec.type) return spec.type;
  if (Array.isArray(spec.default)) return 'array';
  if (spec.default !== undefined && typeof spec.default === 'object') return 'object';
  return spec.properties ? 'object' : 'string';
}

/** The kind of value a binding passes, looking through an exact `$(params.x)` of the caller. */
function valueKind(value: unknown, callerParams: readonly TektonParamSpec[] | undefined): Kind | undefined {
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  if (typeof value !== 'string') return undefined;
  const subs = findSubstitutions(value);
  if (subs.length === 1 && subs[0]!.raw === value.trim()) {
    const ref = classify(subs[0]!);
    if (ref.kind === 'param') {
      const spec = callerParams?.find((p) => p.name === ref.name);
      if (!spec) return undefined;
      const kind = declaredKind(spec);
      if (ref.selector === 'all') return kind === 'string' ? undefined : 'array';
      return ref.selector === 'none' ? kind : 'string';
    }
    return ref.kind === 'task-result' && ref.selector === 'all' ? 'array' : undefined;
  }
  return 'string';
}

interface Call {
  doc: AuditDocument;
  /** The pipeline task or run spec. */
  path: Path;
  what: string;
  params: readonly TektonParam[] | undefined;
  matrixNames: Set<string>;
  workspaces: readonly { name: string }[] | undefined;
  callerParams: readonly TektonParamSpec[] | undefined;
  pac: boolean;
}

interface Target {
  label: string;
  embedded: boolean;
  params: readonly TektonParamSpec[] | undefined;
  workspaces: readonly { name: string; optional?: boolean | undefined }[] | undefined;
  rules: ReadonlyMap<string, ParamRule> | undefined;
  catalogName: string | undefined;
}

const compiledRules = new WeakMap<ParamRule, CompiledRule>();

function compiled(name: string, rule: ParamRule): CompiledRule | undefined {
  let entry = compiledRules.get(rule);
  if (!entry) {
    try {
      // Auditor.auditFiles loads the regex engine before any rule runs.
      entry = compileRuleSetWith({ [name]: rule }, { regexEngine: loadedRegexEngine() }).get(name);
    } catch {
      return undefined;
    }
    if (entry) compiledRules.set(rule, entry);
  }
  return entry;
}

function isLiteral(text: string, pac: boolean): boolean {
  return !text.includes('$(') && !(pac && text.includes('{{'));
}

function checkValueAgainstRule(context: RuleContext, call: Call, at: Path, param: string, value: string | readonly string[], rule: CompiledRule, target: Target): void {
  const result = validateParams(new Map([[param, value]]), new Map([[param, rule]]));
  for (const failure of result.failures) {
    const element = failure.index !== undefined ? ` element ${failure.index + 1}` : '';
    context.report(
      ruleViolated,
      { doc: call.doc, path: failure.index !== undefined ? [...at, failure.index] : at },
      `${call.what} passes ${quoteUntrusted(param)}${element} = ${failure.shownValue}, which ${failure.reason} (rule ${failure.rule} of ${target.label})`,
      { key: `${param}\0${failure.index ?? ''}` },
    );
  }
}

/** validate-params' own `rules` and `values`, when both are written out literally. */
function checkValidateParamsCall(context: RuleContext, call: Call): void {
  const params = call.params ?? [];
  const rulesIndex = params.findIndex((p) => p.name === 'rules');
  const rulesText = params[rulesIndex]?.value;
  if (typeof rulesText !== 'string' || !isLiteral(rulesText, call.pac)) return;
  const rulesPath = [...call.path, 'params', rulesIndex, 'value'];
  let rules;
  try {
    rules = checkRuleSet(parseYaml(rulesText, { uniqueKeys: true }), 'rules');
  } catch (error) {
    const message = isCatalogError(error) ? error.message.split('\n').slice(0, 3).join('; ') : 'is not JSON or YAML';
    context.report(ruleViolated, { doc: call.doc, path: rulesPath }, `${call.what} passes validate-params a rules value that validate-params refuses: ${message}`);
    return;
  }
  const valuesIndex = params.findIndex((p) => p.name === 'values');
  const values = params[valuesIndex]?.value;
  if (!Array.isArray(values)) return;
  values.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) return;
    const name = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (!isLiteral(value, call.pac)) return;
    const rule = Object.hasOwn(rules, name) ? rules[name] : undefined;
    const at: Path = [...call.path, 'params', valuesIndex, 'value', i];
    if (!rule) {
      context.report(ruleViolated, { doc: call.doc, path: at }, `${call.what} passes validate-params a value for ${quoteUntrusted(name)}, which its rules do not cover; validate-params fails on it`, { key: name });
      return;
    }
    const entryRule = compiled(name, rule);
    if (entryRule) checkValueAgainstRule(context, call, at, name, value, entryRule, { label: 'its rules param', embedded: false, params: undefined, workspaces: undefined, rules: undefined, catalogName: 'validate-params' });
  });
}

function lintCall(context: RuleContext, call: Call, target: Target): void {
  const declared = new Map((target.params ?? []).map((p) => [p.name, p]));
  const bound = new Set([...(call.params ?? []).map((p) => p.name), ...call.matrixNames]);
  (call.params ?? []).forEach((binding, i) => {
    const at: Path = [...call.path, 'params', i];
    const spec = declared.get(binding.name);
    if (!spec) {
      // Embedded specs may read params they do not declare (Tekton propagates them).
      if (target.embedded) return;
      const suggestion = didYouMean(binding.name, declared.keys());
      context.report(
        unknownParam,
        { doc: call.doc, path: [...at, 'name'] },
        `${call.what} passes param ${quoteUntrusted(binding.name)}, which ${target.label} does not declare${suggestion ? `; did you mean ${quoteUntrusted(suggestion)}?` : ''}`,
        { key: binding.name },
      );
      return;
    }
    const expected = declaredKind(spec);
    const actual = valueKind(binding.value, call.callerParams);
    if (actual !== undefined && actual !== expected) {
      context.report(paramTypeMismatch, { doc: call.doc, path: [...at, 'value'] }, `${call.what} passes ${actual === 'array' ? 'an array' : `a ${actual}`} for param ${quoteUntrusted(binding.name)}, which ${target.label} declares as ${expected}`, { key: binding.name });
      return;
    }
    const rule = target.rules?.get(binding.name);
    const entry = rule ? compiled(binding.name, rule) : undefined;
    if (!entry) return;
    const value = binding.value;
    if (typeof value === 'string' && isLiteral(value, call.pac)) checkValueAgainstRule(context, call, [...at, 'value'], binding.name, value, entry, target);
    else if (Array.isArray(value) && value.every((v) => isLiteral(v, call.pac))) checkValueAgainstRule(context, call, [...at, 'value'], binding.name, value, entry, target);
  });
  if (!target.embedded) {
    for (const spec of target.params ?? []) {
      if (spec.default === undefined && !bound.has(spec.name)) {
        context.report(missingParam, { doc: call.doc, path: [...call.path, call.params ? 'params' : 'name'] }, `${call.what} does not pass param ${quoteUntrusted(spec.name)}, which ${target.label} requires`, { key: spec.name });
      }
    }
  }
  const declaredWorkspaces = new Set((target.workspaces ?? []).map((w) => w.name));
  const boundWorkspaces = new Set((call.workspaces ?? []).map((w) => w.name));
  for (const ws of target.workspaces ?? []) {
    if (!ws.optional && !boundWorkspaces.has(ws.name)) {
      context.report(unboundWorkspace, { doc: call.doc, path: [...call.path, call.workspaces ? 'workspaces' : 'name'] }, `${call.what} does not bind workspace ${quoteUntrusted(ws.name)}, which ${target.label} requires`, { key: ws.name });
    }
  }
  if (!target.embedded) {
    (call.workspaces ?? []).forEach((binding, i) => {
      if (declaredWorkspaces.has(binding.name)) return;
      const suggestion = didYouMean(binding.name, declaredWorkspaces);
      context.report(
        unknownWorkspace,
        { doc: call.doc, path: [...call.path, 'workspaces', i, 'name'] },
        `${call.what} binds workspace ${quoteUntrusted(binding.name)}, which ${target.label} does not declare${suggestion ? `; did you mean ${quoteUntrusted(suggestion)}?` : ''}`,
        { key: binding.name },
      );
    });
  }
  if (target.catalogName === 'validate-params') checkValidateParamsCall(context, call);
}

function targetOf(resolution: Resolution): Target | undefined {
  if (resolution.kind === 'unresolved') return undefined;
  return {
    label: resolution.kind === 'embedded' ? resolution.label : resolution.label,
    embedded: resolution.kind === 'embedded',
    params: resolution.spec.params,
    workspaces: resolution.spec.workspaces,
    rules: resolution.catalogTask?.rules,
    catalogName: resolution.catalogTask?.name,
  };
}

function matrixNames(site: PipelineTaskSite): Set<string> {
  const matrix = site.task.matrix;
  return new Set([...(matrix?.params ?? []).map((p) => p.name), ...(matrix?.include ?? []).flatMap((inc) => (inc.params ?? []).map((p) => p.name))]);
}

const lintPipelineTasks: Check = (context) => {
  for (const site of context.model.pipelineTasks) {
    const target = targetOf(site.resolution);
    if (!target) continue;
    lintCall(
      context,
      {
        doc: site.pipeline.doc,
        path: site.path,
        what: `task ${quoteUntrusted(site.task.name)}`,
        params: site.task.params,
        matrixNames: matrixNames(site),
        workspaces: site.task.workspaces,
        callerParams: site.pipeline.spec.params,
        pac: site.pipeline.pipelinesAsCode,
      },
      target,
    );
  }
};

const lintRuns: Check = (context) => {
  for (const doc of context.model.ofKind('TaskRun', 'PipelineRun')) {
    let target: Target | undefined;
    if (doc.kind === 'TaskRun' && doc.data.spec.taskRef) {
      target = targetOf(context.model.resolver.resolveTaskRef(doc.data.spec.taskRef, doc.source.file.name, (doc.data.spec.params ?? []).map((p) => p.name)));
    } else if (doc.kind === 'PipelineRun' && doc.data.spec.pipelineRef?.name && !doc.data.spec.pipelineRef.resolver) {
      const pipeline = context.model.resolver.localPipeline(doc.data.spec.pipelineRef.name, doc.source.file.name);
      if (pipeline?.kind === 'Pipeline') {
        target = { label: `Pipeline ${pipeline.name}`, embedded: false, params: pipeline.data.spec.params, workspaces: pipeline.data.spec.workspaces, rules: undefined, catalogName: undefined };
      }
    }
    if (!target) continue;
    lintCall(
      context,
      {
        doc,
        path: ['spec'],
        what: `${doc.kind} ${quoteUntrusted(doc.name)}`,
        params: doc.data.spec.params,
        matrixNames: new Set(),
        workspaces: doc.data.spec.workspaces,
        callerParams: undefined,
        pac: doc.kind === 'PipelineRun' && doc.pipelinesAsCode,
      },
      target,
    );
  }
};

/** Calls `visit` for every string under `value`, with its path. */
function eachString(value: unknown, path: Path, visit: (text: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, i) => eachString(item, [...path, i], visit));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) eachString(item, [...path, key], visit);
}

const lintResultReferences: Check = (context) => {
  const byPipeline = new Map<TektonPipelineSpec, PipelineTaskSite[]>();
  for (const site of context.model.pipelineTasks) {
    const list = byPipeline.get(site.pipeline.spec) ?? [];
    list.push(site);
    byPipeline.set(site.pipeline.spec, list);
  }
  for (const [spec, sites] of byPipeline) {
    const doc = sites[0]!.pipeline.doc;
    const byName = new Map(sites.map((s) => [s.task.name, s]));
    const visit = (text: string, path: Path) => {
      for (const sub of findSubstitutions(text)) {
        const ref = classify(sub);
        if (ref.kind !== 'task-result') continue;
        const producer = byName.get(ref.task);
        // Embedded specs are checked by the Tekton reference checks (TL001).
        if (!producer || producer.resolution.kind === 'unresolved' || producer.resolution.kind === 'embedded') continue;
        const results = (producer.resolution.spec.results ?? []).map((r) => r.name);
        if (results.includes(ref.result)) continue;
        const suggestion = didYouMean(ref.result, results);
        context.report(
          undeclaredResult,
          { doc, path, needle: sub.raw },
          `${quoteUntrusted(sub.raw, 80)} names result ${quoteUntrusted(ref.result)}, which ${producer.resolution.label} does not declare${suggestion ? `; did you mean ${quoteUntrusted(suggestion)}?` : results.length > 0 ? `; it declares ${results.map((r) => quoteUntrusted(r)).join(', ')}` : '; it declares no results'}`,
          { key: sub.raw },
        );
      }
    };
    for (const site of sites) {
      for (const key of ['params', 'when', 'matrix'] as const) eachString(site.task[key], [...site.path, key], visit);
    }
    eachString(spec.results, [...sites[0]!.pipeline.path, 'results'], visit);
  }
};

/** `spec.steps[0].env[1].value` or `spec.params["a.b"]` back into keys and indexes. */
export function parseDiagnosticPath(path: string): Path {
  const out: (string | number)[] = [];
  const token = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let match: RegExpExecArray | null;
  while (token.lastIndex < path.length && (match = token.exec(path))) {
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(Number(match[2]));
    else out.push(JSON.parse(match[3]!) as string);
  }
  return out;
}

const lintSemantics: Check = (context) => {
  if (!context.enabled(tektonSemantics)) return;
  for (const doc of context.model.documents) {
    if (doc.kind !== 'Task' && doc.kind !== 'Pipeline' && doc.kind !== 'TaskRun' && doc.kind !== 'PipelineRun' && doc.kind !== 'StepAction') continue;
    for (const d of checkSemantics(doc.data)) {
      context.report(tektonSemantics, { doc, path: parseDiagnosticPath(d.path) }, `${d.message} [${d.code}]`, { key: `${d.code}\0${d.message}` });
    }
  }
};

export const lintRules = {
  rules: [tektonSemantics, unknownParam, missingParam, paramTypeMismatch, unboundWorkspace, unknownWorkspace, undeclaredResult, ruleViolated],
  checks: [lintSemantics, lintPipelineTasks, lintRuns, lintResultReferences],
};
