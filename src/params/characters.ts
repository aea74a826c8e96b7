/**
 * Characters no param value may hold, whatever its type: they either act on
 * a terminal or shell (C0/C1 controls, DEL, NUL), end a line (LF, CR, U+2028,
 * U+2029), or change how text looks without being seen (bidi overrides and
 * isolates, zero-width joiners and spaces, BOM, soft hyphen and every other
 * default-ignorable code point), or are not text at all (lone surrogates,
 * private-use code points). Reviewers read what an attacker chose to show
 * them; these characters are how the shown text differs from the real one.
 */
const FORBIDDEN =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

const FORBIDDEN_GLOBAL =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

export interface CharacterPolicy {
  /** LF, and CR directly before LF; only free text may allow them. */
  allowNewlines?: boolean;
}

/** Names the first forbidden character and where it is, or undefined when the value is clean. */
export function findForbiddenCharacter(value: string, policy: CharacterPolicy = {}): string | undefined {
  if (!FORBIDDEN.test(value)) return undefined;
  for (const match of value.matchAll(FORBIDDEN_GLOBAL)) {
    const ch = match[0];
    const index = match.index;
    if (policy.allowNewlines && (ch === '\n' || (ch === '\r' && value[index + 1] === '\n'))) continue;
    return `holds ${describeCharacter(ch)} at index ${index}`;
  }
  return undefined;
}

function describeCharacter(ch: string): string {
  const codePoint = ch.codePointAt(0)!;
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CHARACTER_NAMES[codePoint];
  if (name) return `${name} (${hex})`;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f)) return `a control character (${hex})`;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return `a lone surrogate (${hex})`;
  if (codePoint >= 0x202a && codePoint <= 0x202e) return `a bidi override (${hex})`;
  if (codePoint >= 0x2066 && codePoint <= 0x2069) return `a bidi isolate (${hex})`;
  return `an invisible or non-text character (${hex})`;
}

const CHARACTER_NAMES: Record<number, string> = {
  0x00: 'NUL',
  0x09: 'a tab',
  0x0a: 'a newline (LF)',
  0x0d: 'a carriage return (CR)',
  0x1b: 'an escape character (ESC)',
  0x7f: 'DEL',
  0x200b: 'a zero-width space',
  0x200c: 'a zero-width non-joiner',
  0x200d: 'a zero-width joiner',
  0x2028: 'a line separator',
  0x2029: 'a paragraph separator',
  0xfeff: 'a byte order mark',
};
