/**
 * What the audit reports. A finding points at a place in a file (1-based
 * line and column, as the YAML parser counts them) and at the document path
 * it concerns (`spec.steps[0].script`), so reports can show both.
 */

export const SEVERITIES = ['error', 'warning', 'note'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is more severe. */
export const SEVERITY_RANK: Record<Severity, number> = { error: 3, warning: 2, note: 1 };

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold];
}

export interface Region {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface Location extends Region {
  /** As given on the command line (or `<stdin>`), relative when it was relative. */
  file: string;
}

export interface Suppression {
  kind: 'inSource' | 'config';
  /** Why the author accepted the finding; required, never empty. */
  reason: string;
  /** Where the suppression was written (file:line for a comment, the config file otherwise). */
  source: string;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  /** One line; document values inside it are escaped with quoteUntrusted. */
  message: string;
  location: Location;
  /** Path inside the document, e.g. `spec.steps[0].script`; empty for the whole file. */
  path: string;
  /** `Kind/name` of the document (or `file` for file-level findings). */
  resource: string;
  /** Stable across edits that only move lines: rule, file, resource, path and a discriminator. */
  fingerprint: string;
  suppression?: Suppression;
}
