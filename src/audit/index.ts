/**
 * The audit's public API: what the CLI, the audit step and other modules
 * (e.g. a check that a reference Pipeline audits clean) use.
 */
export { Auditor, auditDocuments, exitCodeFor, type AuditMode, type AuditorOptions, type AuditReport, type AuditSummary, type DocumentInput } from './auditor.ts';
export { configFromData, loadConfig, DEFAULT_CONFIG_FILE, EMPTY_CONFIG, type AuditConfig } from './config.ts';
export { AuditError, AuditErrorCodes } from './errors.ts';
export { SEVERITIES, atLeast, type Finding, type Severity } from './findings.ts';
export { TaskCatalog, type CatalogTask } from './model/catalog.ts';
export { ALL_RULES, ruleById } from './rules/index.ts';
export { renderJson } from './report/json.ts';
export { renderSarif } from './report/sarif.ts';
export { renderText } from './report/text.ts';

/** What reports name as the tool. */
export const AUDIT_TOOL = {
  name: 'tekton-catalog-audit',
  version: '0.1.0',
  informationUri: 'https://github.com/hardened-tekton/catalog',
} as const;
