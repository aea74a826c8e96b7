import type { AuditReport } from '../auditor.ts';

/** The report as JSON, for scripts: stable field names, findings sorted by file, line and column. */
export const JSON_REPORT_VERSION = 1;

export function renderJson(report: AuditReport, tool: { name: string; version: string }): string {
  const fired = new Set(report.findings.map((f) => f.ruleId));
  return `${JSON.stringify(
    {
      version: JSON_REPORT_VERSION,
      tool,
      mode: report.mode,
      summary: report.summary,
      findings: report.findings,
      rules: report.rules
        .filter((r) => fired.has(r.id))
        .map((r) => ({ id: r.id, name: r.name, severity: r.severity, summary: r.summary, ...(r.securitySeverity !== undefined ? { securitySeverity: r.securitySeverity } : {}) })),
      skipped: report.skipped,
    },
    null,
    2,
  )}\n`;
}
