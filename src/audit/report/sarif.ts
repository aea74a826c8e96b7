import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AuditReport } from '../auditor.ts';
import type { Severity } from '../findings.ts';
import type { RuleMeta } from '../rules/rule.ts';

/**
 * SARIF 2.1.0 as GitHub code scanning reads it: every rule in
 * tool.driver.rules with its help and `security-severity`, results with a
 * region (1-based lines and columns, end column exclusive, as the YAML
 * parser counts them), a partial fingerprint that survives lines moving,
 * and suppressions with their justification. File URIs are relative to the
 * %SRCROOT% base (the working directory), as code scanning expects.
 */

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifTool {
  name: string;
  version: string;
  informationUri: string;
}

export interface SarifOptions {
  /** Absolute folder the relative file names are relative to (the repository root). */
  baseDir: string;
}

const PROBLEM_SEVERITY: Record<Severity, string> = { error: 'error', warning: 'warning', note: 'recommendation' };

function pascalCase(slug: string): string {
  return slug.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}

function sarifRule(rule: RuleMeta) {
  const firstParagraph = rule.help.split('\n\n')[0]!;
  return {
    id: rule.id,
    name: pascalCase(rule.name),
    shortDescription: { text: rule.summary },
    fullDescription: { text: `${rule.summary} ${firstParagraph.replace(/`/g, '')}` },
    help: { text: rule.help.replace(/```[a-z]*\n?/g, ''), markdown: rule.help },
    defaultConfiguration: { level: rule.severity },
    properties: {
      tags: [rule.group === 'input' || rule.group === 'lint' ? 'correctness' : 'security', rule.group, ...(rule.adversary ? [`adversary-${rule.adversary}`] : [])],
      precision: rule.group === 'gates' || rule.id === 'TA402' ? 'medium' : 'high',
      'problem.severity': PROBLEM_SEVERITY[rule.severity],
      ...(rule.securitySeverity !== undefined ? { 'security-severity': rule.securitySeverity.toFixed(1) } : {}),
    },
  };
}

function artifactLocation(file: string) {
  if (isAbsolute(file)) return { uri: pathToFileURL(file).href };
  return { uri: file.split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

export function renderSarif(report: AuditReport, tool: SarifTool, options: SarifOptions): string {
  const rules = report.rules;
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const baseUri = pathToFileURL(options.baseDir.endsWith('/') ? options.baseDir : `${options.baseDir}/`).href;
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            semanticVersion: tool.version,
            informationUri: tool.informationUri,
            rules: rules.map(sarifRule),
          },
        },
        automationDetails: { id: `${tool.name}/${report.mode}/` },
        originalUriBaseIds: { '%SRCROOT%': { uri: baseUri } },
        // Unreadable files are results of rule TA001, so the run itself completed.
        invocations: [{ executionSuccessful: true }],
        columnKind: 'utf16CodeUnits',
        results: report.findings
          .filter((f) => index.has(f.ruleId))
          .map((f) => ({
            ruleId: f.ruleId,
            ruleIndex: index.get(f.ruleId)!,
            level: f.severity,
            message: { text: f.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: artifactLocation(f.location.file),
                  region: { startLine: f.location.line, startColumn: f.location.column, endLine: f.location.endLine, endColumn: f.location.endColumn },
                },
                ...(f.path ? { logicalLocations: [{ fullyQualifiedName: `${f.resource}:${f.path}`, kind: 'member' }] } : {}),
              },
            ],
            partialFingerprints: { 'tektonAudit/v1': f.fingerprint },
            ...(f.suppression
              ? { suppressions: [{ kind: f.suppression.kind === 'inSource' ? 'inSource' : 'external', status: 'accepted', justification: f.suppression.reason }] }
              : {}),
          })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
