/**
 * Characters no param value may hold, whatever its type: they either act on
 * a terminal or shell (C0/C1 controls, DEL, NUL), end a line (LF, CR, U+2028,
 * U+2029), change how text looks without being seen (bidi overrides and
 * isolates, zero-width joiners and spaces, BOM, soft hyphen and every other
 * default-ignorable code point), look blank without being whitespace (the
 * braille blank and the others in BLANK_LOOKING), or are not text at all
 * (lone surrogates, private-use code points, unassigned code points and the
 * 66 noncharacters, which are unassigned by definition). Reviewers read what
 * an attacker chose to show them; these characters are how the shown text
 * differs from the real one.
 *
 * One exception keeps everyday emoji usable: the zero-width joiner, the
 * emoji variation selector U+FE0F and tag characters may appear inside an
 * emoji sequence from Unicode's RGI list (👨‍👩‍👧, ❤️, 1️⃣, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), where they turn
 * several pictographs into one visibly different glyph. Anywhere else, even
 * between two emoji that do not form an RGI sequence, they are refused.
 *
 * "Unassigned" is what the running Node's ICU says (Unicode 17.0 in Node
 * 24.21); test/e2e/validate-params-chroot.test.ts pins what the step
 * image's Node decides.
 */

/**
 * Blank-looking characters that are neither whitespace nor default-ignorable,
 * so no Unicode property catches them: U+2800 BRAILLE PATTERN BLANK, U+303F
 * IDEOGRAPHIC HALF FILL SPACE, U+FFFC OBJECT REPLACEMENT CHARACTER, U+16FE4
 * KHITAN SMALL SCRIPT FILLER and U+1D159 MUSICAL SYMBOL NULL NOTEHEAD. The
 * Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) and the musical beam and
 * slur controls (U+1D173–U+1D17A) are default-ignorable or format
 * characters and fall under the properties already.
 */
export const BLANK_LOOKING: readonly number[] = [0x2800, 0x303f, 0xfffc, 0x16fe4, 0x1d159];

const CLASS =
  '[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\p{Default_Ignorable_Code_Point}\\u2800\\u303f\\ufffc\\u{16fe4}\\u{1d159}]';
/**
 * Printable ASCII holds none of the characters above, and most values are
 * printable ASCII: they skip the Unicode property class, which V8 builds
 * from ICU's tables at a cost of about a million instructions per property
 * the first time it compiles it; only a value that needs it compiles it.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
let forbidden: { one: RegExp; all: RegExp } | undefined;

/** The invisible characters an RGI emoji sequence may hold: ZWJ, VS16 and the tag characters. */
const EMOJI_JOINERS = /[\u200d\ufe0f\u{e0020}-\u{e007f}]/u;

export interface CharacterPolicy {
  /** LF, and CR directly before LF; only free text may allow them. */
  allowNewlines?: boolean;
}

/** Names the first forbidden character and where it is, or undefined when the value is clean. */
export function findForbiddenCharacter(value: string, policy: CharacterPolicy = {}): string | undefined {
  const found = firstForbiddenCharacter(value, policy);
  return found && `holds ${found.description} at index ${found.index}`;
}

/** The first forbidden character, described in words, and its UTF-16 index. */
export function firstForbiddenCharacter(value: string, policy: CharacterPolicy = {}): { description: string; index: number } | undefined {
  if (PRINTABLE_ASCII.test(value)) return undefined;
  forbidden ??= { one: new RegExp(CLASS, 'u'), all: new RegExp(CLASS, 'gu') };
  if (!forbidden.one.test(value)) return undefined;
  let emoji: EmojiSpans | undefined;
  for (const match of value.matchAll(forbidden.all)) {
    const ch = match[0];
    const index = match.index;
    if (policy.allowNewlines && (ch === '\n' || (ch === '\r' && value[index + 1] === '\n'))) continue;
    if (EMOJI_JOINERS.test(ch)) {
      emoji ??= new EmojiSpans(value);
      if (emoji.covers(index)) continue;
    }
    return { description: describeCharacter(ch), index };
  }
  return undefined;
}

/**
 * Where the RGI emoji sequences in a value are. Built only for values that
 * hold a joiner: the \p{RGI_Emoji} set costs V8 about 15 ms to build.
 */
class EmojiSpans {
  private readonly spans: (readonly [number, number])[] = [];

  constructor(value: string) {
    for (const match of value.matchAll(/\p{RGI_Emoji}/gv)) this.spans.push([match.index, match.index + match[0].length]);
  }

  covers(index: number): boolean {
    return this.spans.some(([start, end]) => index > start && index < end);
  }
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
  if (isNoncharacter(codePoint)) return `a noncharacter (${hex})`;
  if (BLANK_LOOKING.includes(codePoint)) return `a blank-looking character that is not a space (${hex})`;
  if (/\p{Cn}/u.test(ch)) return `an unassigned code point (${hex})`;
  return `an invisible or non-text character (${hex})`;
}

/** U+FDD0..U+FDEF and the last two code points of every plane. */
export function isNoncharacter(codePoint: number): boolean {
  return (codePoint >= 0xfdd0 && codePoint <= 0xfdef) || (codePoint & 0xfffe) === 0xfffe;
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
  0x200d: 'a zero-width joiner outside an emoji sequence',
  0x2028: 'a line separator',
  0x2029: 'a paragraph separator',
  0x2800: 'a braille blank, which looks like a space',
  0xfe0f: 'an emoji variation selector outside an emoji sequence',
  0xfeff: 'a byte order mark',
  0xfffc: 'an object replacement character, which shows as blank',
};
