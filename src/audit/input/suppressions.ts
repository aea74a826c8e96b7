import type { Region } from '../findings.ts';
import type { SourceFile } from './source.ts';

/**
 * Inline suppressions, written as a YAML comment:
 *
 *   # tekton-audit-ignore TA401: the value is an enum checked by validate-params
 *   - name: build
 *     script: ...
 *
 * A comment on a line of its own covers the mapping entry or list item that
 * starts on the next non-comment line (the whole step above); a comment
 * after content covers the entry on its own line. Inside a block scalar (a
 * script) the comment is the script's own comment line and covers the next
 * line. The reason after the colon is required: a suppression without one
 * suppresses nothing and is itself reported (TA003).
 */

export const SUPPRESSION_MARKER = 'tekton-audit-ignore';

export interface SuppressionComment {
  /** 1-based line of the comment. */
  line: number;
  column: number;
  ruleIds: string[];
  reason: string | undefined;
  /** What it covers. */
  scope: Region;
}

const COMMENT = /#\s*tekton-audit-ignore\b[ \t]*([^\n]*)$/;
const RULE_LIST = /^([A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*)\s*(?::\s*(.*))?$/;

export function findSuppressions(file: SourceFile): SuppressionComment[] {
  if (!file.text.includes(SUPPRESSION_MARKER)) return [];
  const lines = file.text.split('\n');
  const lineStarts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    lineStarts.push(offset);
    offset += line.length + 1;
  }
  // The largest span starting on each line.
  const spanEnd = new Map<number, number>();
  for (const doc of file.documents) {
    doc.forEachNodeSpan((start, end) => {
      const line = file.position(start).line;
      if ((spanEnd.get(line) ?? -1) < end) spanEnd.set(line, end);
    });
  }
  const out: SuppressionComment[] = [];
  lines.forEach((text, i) => {
    const match = COMMENT.exec(text);
    if (!match) return;
    const line = i + 1;
    const column = match.index + 1;
    const parsed = RULE_LIST.exec(match[1]!.trim());
    const ruleIds = parsed ? parsed[1]!.split(',').map((id) => id.trim().toUpperCase()) : [];
    const reason = parsed?.[2]?.trim();
    const trailing = text.slice(0, match.index).trim() !== '';
    let target = line;
    if (!trailing) {
      target = line + 1;
      while (target <= lines.length && /^\s*(#.*)?$/.test(lines[target - 1]!)) target++;
    }
    const start = lineStarts[target - 1] ?? file.text.length;
    const lineEnd = start + (lines[target - 1]?.length ?? 0);
    const end = Math.max(spanEnd.get(target) ?? lineEnd, lineEnd);
    out.push({ line, column, ruleIds, reason: reason && /[A-Za-z]/.test(reason) ? reason : undefined, scope: file.region(start, end) });
  });
  return out;
}

/** True when `region` starts inside `scope`. */
export function covers(scope: Region, region: Region): boolean {
  const after = region.line > scope.line || (region.line === scope.line && region.column >= scope.column);
  const before = region.line < scope.endLine || (region.line === scope.endLine && region.column <= scope.endColumn);
  return after && before;
}
