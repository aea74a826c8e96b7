import type { RE2JS } from 're2js';
import { CatalogError, quoteUntrusted } from '../../errors.ts';

/**
 * Regex rules run on re2js, a pure-JavaScript port of RE2: its automata
 * match in time linear in the value's length, whatever the pattern, so no
 * pattern can make validate-params backtrack (V8's engine takes 2^40 steps
 * on `(?:\d|[0-9])` written 40 times, then given 41 characters). The price
 * is RE2's syntax: no backreferences and no lookaround, which are exactly
 * the features no linear-time engine can offer.
 *
 * The cost of a match is at most the pattern's program size times the
 * value's length; a rule whose program size times maxLength exceeds
 * MATCH_BUDGET is refused, which bounds one match to well under a second.
 *
 * The step loads re2js (150 KiB) only when a rule set holds a regex rule.
 */
export type RegexEngine = typeof import('re2js');

/** Program size × maxLength: 2^25 is about half a second of matching in the worst case on one core. */
export const MATCH_BUDGET = 2 ** 25;

let engine: Promise<RegexEngine> | undefined;
let loaded: RegexEngine | undefined;

/** re2js, imported on first use (esbuild keeps it in the bundle but runs its code only then). */
export function loadRegexEngine(): Promise<RegexEngine> {
  engine ??= import('re2js').then((module) => (loaded = module));
  return engine;
}

/** re2js once loadRegexEngine has loaded it, for code that must compile rules synchronously. */
export function loadedRegexEngine(): RegexEngine | undefined {
  return loaded;
}

export interface LinearPattern {
  /** The compiled RE2 program (re2js), for tests that check which engine runs. */
  readonly program: RE2JS;
  readonly programSize: number;
  /** True when the whole value matches. */
  matches(value: string): boolean;
}

const HINT = 'regex rules use RE2 syntax (as Go and Kubernetes CEL do), matched in linear time; the pattern must match the whole value, so ^ and $ are not needed';

/**
 * Compiles a rule's pattern, or throws a CONFIG_RULE_REGEX_* error that says what to change.
 * `user` names who refuses a feature in messages: validate-params' "regex rules", or a verify-image param.
 */
export function compileRulePattern(re2: RegexEngine, pattern: string, maxLength: number, user = 'regex rules'): LinearPattern {
  const shown = quoteUntrusted(pattern, 80);
  let program: RE2JS;
  try {
    program = re2.RE2JS.compile(pattern);
  } catch (error) {
    if (!(error instanceof re2.RE2JSException)) throw error;
    const description = error instanceof re2.RE2JSSyntaxException ? error.getDescription() : error.message;
    const input = error instanceof re2.RE2JSSyntaxException ? (error.getPattern() ?? '') : '';
    const feature = unsupportedFeature(description, input);
    if (feature) {
      throw new CatalogError('CONFIG_RULE_REGEX_UNSUPPORTED', `the pattern ${shown} uses ${feature.what}, which ${user} do not support`, {
        hint: `${feature.fix}; ${HINT}`,
      });
    }
    const limit = description === 'invalid repeat count' ? 'counted repeats go up to {1000} (nested ones multiplied), and maxLength already caps the length; ' : '';
    throw new CatalogError('CONFIG_RULE_REGEX_SYNTAX', `the pattern ${shown} is not a valid RE2 regular expression (${quoteUntrusted(description, 60)}${input ? ` at ${quoteUntrusted(input, 40)}` : ''})`, {
      hint: `${limit}${HINT}`,
    });
  }
  if (usesCaseFolding(pattern)) {
    throw new CatalogError('CONFIG_RULE_REGEX_UNSUPPORTED', `the pattern ${shown} turns on case folding with the "i" flag, which ${user} do not support`, {
      hint: 'write both cases out, e.g. [A-Za-z]: Unicode case folding also matches look-alikes such as the Kelvin sign "K" (U+212A) for "k"',
    });
  }
  const programSize = program.programSize();
  if (programSize * maxLength > MATCH_BUDGET) {
    throw new CatalogError(
      'CONFIG_RULE_REGEX_TOO_COMPLEX',
      `the pattern ${shown} compiles to ${programSize} instructions; with maxLength ${maxLength} one match could take ${programSize} × ${maxLength} steps, more than the ${MATCH_BUDGET} allowed`,
      { hint: `lower maxLength to at most ${Math.floor(MATCH_BUDGET / programSize)}, or shorten the pattern (large counted repeats such as {1000} cost the most)` },
    );
  }
  return { program, programSize, matches: (value) => program.testExact(value) };
}

/** RE2's refusal of a feature from Perl or ECMAScript syntax, in words, with the way around it. */
function unsupportedFeature(description: string, input: string): { what: string; fix: string } | undefined {
  if (/^\\[1-9]/.test(input)) return { what: 'a backreference', fix: 'match the repeated part with its own pattern instead' };
  if (input.startsWith('\\k')) return { what: 'a named backreference', fix: 'match the repeated part with its own pattern instead' };
  if (input.startsWith('(?=') || input.startsWith('(?!')) return { what: 'a lookahead', fix: 'express the condition in the pattern itself, e.g. [a-z][a-z0-9-]* instead of (?!-)[a-z0-9-]+' };
  if (input.startsWith('(?<=') || input.startsWith('(?<!')) return { what: 'a lookbehind', fix: 'express the condition in the pattern itself' };
  if (input.startsWith('\\u')) return { what: 'the escape \\u', fix: 'write a code point as \\x{41} or \\x{1F600}' };
  if (input.startsWith('\\c')) return { what: 'a control-character escape', fix: 'leave it out: no param value may hold a control character' };
  if (description === 'invalid nested repetition operator' && /^[*+?}][+]$/.test(input)) return { what: 'a possessive quantifier', fix: 'use a plain quantifier; RE2 never backtracks, so nothing is lost' };
  return undefined;
}

/**
 * Whether the pattern sets the "i" flag, as (?i) or (?i:...): a scan over a
 * pattern RE2 has already accepted, skipping escapes, \Q...\E quotes and
 * character classes, where "(?" is literal.
 */
export function usesCaseFolding(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        if (end === -1) return false;
        i = end + 1;
      } else i++;
    } else if (ch === '[') {
      i = classEnd(pattern, i);
    } else if (ch === '(' && pattern[i + 1] === '?') {
      const flags = /^\(\?([imsU-]*)[:)]/.exec(pattern.slice(i, i + 12));
      if (flags && flags[1]!.split('-', 1)[0]!.includes('i')) return true;
    }
  }
  return false;
}

/** The index of the "]" that closes the class opened at `start`. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a "]" first in a class is literal
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\') i += 2;
    else if (pattern.startsWith('[:', i)) {
      const end = pattern.indexOf(':]', i + 2);
      i = end === -1 ? i + 1 : end + 2;
    } else i++;
  }
  return i;
}
