import { createHash } from 'node:crypto';
import { quoteUntrusted } from '../errors.ts';
import { loadRegexEngine } from '../params/regex/linear-pattern.ts';
import { toYaml } from '../tekton/yaml.ts';
import { EMPTY_CONFIG, type AuditConfig } from './config.ts';
import { SEVERITY_RANK, atLeast, type Finding, type Region, type Severity } from './findings.ts';
import { collectInputs, type CollectOptions, type InputFile, type InputProblem } from './input/read-files.ts';
import { pathString, SourceFile, type Path } from './input/source.ts';
import { covers, findSuppressions, type SuppressionComment } from './input/suppressions.ts';
import { AuditModel } from './model/audit-model.ts';
import { TaskCatalog } from './model/catalog.ts';
import { classify, issuePath, type AuditDocument } from './model/documents.ts';
import { ALL_RULES, AUDIT_CHECKS, LINT_CHECKS, ruleById } from './rules/index.ts';
import { invalidDocument, parseError, suppressionUnknownRule, suppressionWithoutReason } from './rules/input-rules.ts';
import type { RuleContext, RuleMeta } from './rules/rule.ts';
import type { TaskDefinition } from '../build/definition.ts';

/**
 * The audit's one orchestrating class: reads the input, builds the model,
 * runs the rules (all of them for `audit`, the interface lint for `lint`),
 * applies inline and config suppressions, and returns a report the
 * reporters render. Problems in the input are findings, never exceptions:
 * one broken file does not stop the others.
 */

export type AuditMode = 'audit' | 'lint';

export interface AuditorOptions {
  mode?: AuditMode;
  config?: AuditConfig;
  /** Our catalog, for references to its Tasks; empty by default. */
  catalog?: TaskCatalog;
  /** Loads Task definitions for the catalog's param rules, only when a reference to a catalog Task needs them. */
  loadDefinitions?: () => Promise<readonly TaskDefinition[]>;
}

export interface AuditSummary {
  files: number;
  /** Documents of kinds the audit reads. */
  documents: number;
  /** Documents of other kinds (Deployments, ConfigMaps…), left alone. */
  otherDocuments: number;
  /** Pipeline tasks and runs whose Task could not be resolved, so were not linted. */
  unresolvedReferences: number;
  errors: number;
  warnings: number;
  notes: number;
  suppressed: number;
  /** True when a file could not be read or parsed (exit 2). */
  inputFailed: boolean;
}

export interface AuditReport {
  mode: AuditMode;
  findings: Finding[];
  /** The rules that ran, for SARIF's tool.driver.rules. */
  rules: RuleMeta[];
  summary: AuditSummary;
  /** Paths met but not read (symlinks, devices). */
  skipped: string[];
}

/** A document given as data (e.g. a generated Pipeline); it is rendered as YAML so findings have lines. */
export interface DocumentInput {
  name: string;
  document?: unknown;
  text?: string;
}

function fingerprint(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

function compareFindings(a: Finding, b: Finding): number {
  if (a.location.file !== b.location.file) return a.location.file < b.location.file ? -1 : 1;
  return a.location.line - b.location.line || a.location.column - b.location.column || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

export class Auditor {
  readonly mode: AuditMode;
  readonly config: AuditConfig;
  readonly catalog: TaskCatalog;
  readonly #loadDefinitions: AuditorOptions['loadDefinitions'];

  constructor(options: AuditorOptions = {}) {
    this.mode = options.mode ?? 'audit';
    this.config = options.config ?? EMPTY_CONFIG;
    this.catalog = options.catalog ?? TaskCatalog.empty();
    this.#loadDefinitions = options.loadDefinitions;
  }

  /** The rules this mode runs. */
  get rules(): RuleMeta[] {
    return ALL_RULES.filter((rule) => (this.mode === 'audit' || rule.group === 'lint' || rule.group === 'input') && this.config.severityOf(rule.id) !== 'off');
  }

  /** Reads paths, folders, globs and `-`, then audits what was read. */
  async auditPaths(specs: readonly string[], options: CollectOptions = {}): Promise<AuditReport> {
    // The config's exclude and ignore globs run on RE2, and paths are excluded while they are read.
    await loadRegexEngine();
    const input = await collectInputs(specs, { ...options, exclude: (path) => this.config.excluded(path) || (options.exclude?.(path) ?? false) });
    const report = await this.auditFiles(input.files, input.problems);
    report.skipped = input.skipped;
    return report;
  }

  async auditFiles(files: readonly InputFile[], problems: readonly InputProblem[] = []): Promise<AuditReport> {
    // The interface lint checks values against param rules synchronously; regex rules need re2js loaded first.
    await loadRegexEngine();
    const findings: Finding[] = [];
    const seen = new Set<string>();
    const suppressions = new Map<string, SuppressionComment[]>();
    const enabledRules = new Set(this.rules.map((r) => r.id));
    let inputFailed = false;

    const add = (rule: RuleMeta, file: string, region: Region, path: string, resource: string, message: string, options: { severity?: Severity; key?: string } = {}) => {
      const configured = this.config.severityOf(rule.id);
      if (configured === 'off' || !enabledRules.has(rule.id)) return;
      const print = fingerprint([rule.id, file, resource, path, options.key ?? '']);
      if (seen.has(print)) return;
      seen.add(print);
      const finding: Finding = {
        ruleId: rule.id,
        severity: configured ?? options.severity ?? rule.severity,
        message,
        location: { file, ...region },
        path,
        resource,
        fingerprint: print,
      };
      const comment = (suppressions.get(file) ?? []).find((s) => s.reason && s.ruleIds.includes(rule.id) && covers(s.scope, region));
      if (comment && rule.group !== 'input') {
        finding.suppression = { kind: 'inSource', reason: comment.reason!, source: `${file}:${comment.line}` };
      } else {
        const reason = rule.group === 'input' ? undefined : this.config.ignoredBecause(rule.id, file);
        if (reason) finding.suppression = { kind: 'config', reason, source: this.config.source };
      }
      findings.push(finding);
    };

    for (const problem of problems) {
      inputFailed = true;
      add(parseError, problem.name, { line: 1, column: 1, endLine: 1, endColumn: 1 }, '', 'file', `${quoteUntrusted(problem.name, 200)} ${problem.message}`, { key: problem.message });
    }

    const documents: AuditDocument[] = [];
    let otherDocuments = 0;
    for (const input of files) {
      const file = new SourceFile(input.name, input.text);
      for (const problem of file.problems) {
        inputFailed = true;
        add(parseError, file.name, problem.region, '', 'file', `YAML error: ${problem.message}`, { key: `${problem.region.line}:${problem.region.column}` });
      }
      const comments = findSuppressions(file);
      suppressions.set(file.name, comments);
      for (const comment of comments) {
        const region = { line: comment.line, column: comment.column, endLine: comment.line, endColumn: comment.column };
        if (comment.ruleIds.length === 0 || !comment.reason) {
          add(suppressionWithoutReason, file.name, region, '', 'file', 'this tekton-audit-ignore comment needs rule ids and a reason ("# tekton-audit-ignore TA401: why"); it suppresses nothing', { key: String(comment.line) });
        }
        for (const id of comment.ruleIds) {
          if (!ruleById(id)) add(suppressionUnknownRule, file.name, region, '', 'file', `this tekton-audit-ignore comment names ${quoteUntrusted(id)}, which is not a rule id`, { key: `${comment.line}:${id}` });
        }
      }
      for (const source of file.documents) {
        const classified = classify(source);
        if ('audited' in classified) documents.push(classified.audited);
        else if ('invalid' in classified) {
          const doc = classified.invalid;
          const first = doc.issues[0];
          const more = doc.issues.length > 1 ? ` (and ${doc.issues.length - 1} more)` : '';
          add(
            invalidDocument,
            file.name,
            source.locate(first?.path ?? []),
            issuePath(first?.path ?? []),
            doc.resource,
            `${quoteUntrusted(doc.kind)} ${quoteUntrusted(doc.name)} was not audited: ${issuePath(first?.path ?? []) || '(document)'} ${first?.message ?? 'is invalid'}${more}`,
          );
        } else otherDocuments++;
      }
    }

    const model = new AuditModel(documents, this.catalog);
    if (this.#loadDefinitions && model.pipelineTasks.some((t) => t.resolution.kind === 'catalog' && t.resolution.catalogTask?.rules === undefined)) {
      this.catalog.attachDefinitions(await this.#loadDefinitions());
    }
    const context: RuleContext = {
      model,
      enabled: (rule) => enabledRules.has(rule.id),
      report: (rule, at, message, options) => {
        const region = at.doc.source.locate(at.path, at.needle);
        add(rule, at.doc.source.file.name, region, pathString(at.path), at.doc.resource, message, options);
      },
    };
    const checks = this.mode === 'audit' ? [...AUDIT_CHECKS, ...LINT_CHECKS] : LINT_CHECKS;
    for (const check of checks) check(context);

    findings.sort(compareFindings);
    const open = findings.filter((f) => !f.suppression);
    const count = (severity: Severity) => open.filter((f) => f.severity === severity).length;
    return {
      mode: this.mode,
      findings,
      rules: this.rules,
      skipped: [],
      summary: {
        files: files.length + problems.length,
        documents: documents.length,
        otherDocuments,
        unresolvedReferences: model.pipelineTasks.filter((t) => t.resolution.kind === 'unresolved').length,
        errors: count('error'),
        warnings: count('warning'),
        notes: count('note'),
        suppressed: findings.length - open.length,
        inputFailed,
      },
    };
  }
}

/**
 * Audits documents given as YAML text or as data (rendered to YAML first,
 * so findings still carry lines). For other code, e.g. a test that a
 * generated Pipeline audits clean.
 */
export async function auditDocuments(inputs: readonly DocumentInput[], options: AuditorOptions = {}): Promise<AuditReport> {
  const files = inputs.map((input) => ({
    name: input.name,
    text: input.text ?? (Array.isArray(input.document) ? input.document.map((d) => toYaml(d)).join('---\n') : toYaml(input.document)),
  }));
  return new Auditor(options).auditFiles(files);
}

/** Exit code: 2 when input could not be read, 1 when an open finding reaches `failOn`, else 0. */
export function exitCodeFor(report: AuditReport, failOn: Severity | 'none'): 0 | 1 | 2 {
  if (report.summary.inputFailed) return 2;
  if (failOn === 'none') return 0;
  return report.findings.some((f) => !f.suppression && atLeast(f.severity, failOn)) ? 1 : 0;
}

export { SEVERITY_RANK };
export type { Path };
