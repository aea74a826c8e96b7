/**
 * Telemetry carries values an attacker chose (param names, image references,
 * paths) to places that print or index them: the step log, a Pushgateway's
 * label values and a SIEM's CloudEvents. Before any of them sees a value it
 * becomes bounded, printable ASCII: every code point outside U+0020–U+007E,
 * and the backslash itself, is written as `\u{HEX}`, so a bidi override, a
 * newline or a look-alike shows as what it is, and every backslash in the
 * result starts such an escape (the text `\u{5c}` cannot pose as one). Past
 * `maxChars` the text is cut and ends in `...(N chars)`; so two long values
 * with the same start count as one label value, which also bounds how many
 * series one run can create.
 */
export function boundedText(value: string, maxChars: number): string {
  let out = '';
  let chars = 0;
  for (const ch of value) {
    chars++;
    if (out.length > maxChars) continue; // keep counting for the suffix
    const code = ch.codePointAt(0)!;
    out += code >= 0x20 && code <= 0x7e && code !== 0x5c ? ch : `\\u{${code.toString(16)}}`;
  }
  if (out === '') return '(empty)';
  if (out.length <= maxChars) return out;
  const suffix = `...(${chars} chars)`;
  return `${out.slice(0, Math.max(0, maxChars - suffix.length)).replace(/\\(u(\{[0-9a-f]*)?)?$/, '')}${suffix}`;
}

/** How long each kind of label value or event field may be, in characters. */
export const TextBounds = {
  /** Param names: rule-set keys, usually short. */
  param: 128,
  /** Image references: registry/repository:tag@sha256:<64 hex> fits. */
  image: 256,
  /** Workspace names are DNS-1123 labels. */
  workspace: 63,
  /** Pipeline task names are DNS-1123 labels; other labels get the same room. */
  task: 63,
  /** Messages and reasons in events. */
  message: 300,
  /** Paths inside a workspace, in events. */
  path: 200,
} as const;
