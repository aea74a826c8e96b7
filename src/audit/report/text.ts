import { styleText } from 'node:util';
import { quoteUntrusted } from '../../errors.ts';
import type { AuditReport } from '../auditor.ts';
import type { Finding, Severity } from '../findings.ts';
import { ruleById } from '../rules/index.ts';

/**
 * Human text: findings grouped by file, one line each
 * (`line:column  severity  id  message`), then what each rule that fired
 * means and how to fix it, then a summary. Colour only when asked (the CLI
 * asks on a TTY without NO_COLOR).
 */

export interface TextOptions {
  color?: boolean;
  /** Show each rule's whole help (with the fixed YAML), not its first paragraph. */
  verbose?: boolean;
  /** Also list suppressed findings. */
  showSuppressed?: boolean;
}

const SEVERITY_STYLE: Record<Severity, Parameters<typeof styleText>[0]> = { error: 'red', warning: 'yellow', note: 'cyan' };

/** File names come from the filesystem; show odd ones escaped. */
export function shownFile(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) ? name : quoteUntrusted(name, 200);
}

export function renderText(report: AuditReport, options: TextOptions = {}): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (options.color ? styleText(style, text, { validateStream: false }) : text);
  const shown = report.findings.filter((f) => options.showSuppressed || !f.suppression);
  const lines: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const finding of shown) {
    const list = byFile.get(finding.location.file) ?? [];
    list.push(finding);
    byFile.set(finding.location.file, list);
  }
  for (const [file, findings] of byFile) {
    lines.push(paint('bold', shownFile(file)));
    const width = Math.max(...findings.map((f) => `${f.location.line}:${f.location.column}`.length));
    for (const f of findings) {
      const where = `${f.location.line}:${f.location.column}`.padEnd(width);
      const severity = paint(SEVERITY_STYLE[f.severity], f.severity.padEnd(7));
      const suppressed = f.suppression ? paint('dim', ` (suppressed: ${f.suppression.reason})`) : '';
      lines.push(`  ${where}  ${severity}  ${f.ruleId}  ${f.message}${suppressed}`);
    }
    lines.push('');
  }
  const fired = [...new Set(shown.map((f) => f.ruleId))].sort();
  if (fired.length > 0) {
    lines.push(paint('bold', 'How to fix'));
    for (const id of fired) {
      const rule = ruleById(id)!;
      lines.push(`  ${id} ${paint('bold', rule.name)}: ${rule.summary}`);
      const help = options.verbose ? rule.help : rule.help.split('\n\n')[0]!;
      for (const line of help.split('\n')) lines.push(`      ${line}`);
    }
    if (!options.verbose) lines.push('  (--verbose shows the fixed YAML for each rule)');
    lines.push('');
  }
  const s = report.summary;
  const total = s.errors + s.warnings + s.notes;
  const counts = [
    paint(s.errors > 0 ? 'red' : 'green', `${s.errors} error${s.errors === 1 ? '' : 's'}`),
    `${s.warnings} warning${s.warnings === 1 ? '' : 's'}`,
    `${s.notes} note${s.notes === 1 ? '' : 's'}`,
  ].join(', ');
  const extra = [
    s.suppressed > 0 ? `${s.suppressed} suppressed` : '',
    s.unresolvedReferences > 0 ? `${s.unresolvedReferences} task reference${s.unresolvedReferences === 1 ? '' : 's'} not resolved (not linted)` : '',
    report.skipped.length > 0 ? `${report.skipped.length} path(s) skipped (symlinks or special files)` : '',
  ].filter(Boolean);
  lines.push(
    `${report.mode}: ${total === 0 ? paint('green', 'no findings') : counts} in ${s.documents} document${s.documents === 1 ? '' : 's'} from ${s.files} file${s.files === 1 ? '' : 's'}${extra.length > 0 ? `; ${extra.join('; ')}` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
