import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { analyseAmbiguity } from './ambiguity.ts';
import { parseRegex } from './parse.ts';

/**
 * Turns a rule's pattern into the RegExp validate-params runs: checked for
 * syntax with the `u` flag, proven free of catastrophic backtracking (see
 * ambiguity.ts), then anchored as ^(?:pattern)$ so it must match the whole
 * value. Values are length-capped before they reach it.
 */
export function compileRulePattern(pattern: string): RegExp {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : 'invalid';
    throw new CatalogError('CONFIG_RULE_REGEX_SYNTAX', `the pattern ${quoteUntrusted(pattern, 80)} is not a valid regular expression with the u flag (${quoteUntrusted(detail, 120)})`, {
      hint: 'write an ECMAScript pattern; it is anchored for you, so leave out ^ and $',
    });
  }
  const verdict = analyseAmbiguity(parseRegex(pattern));
  if (!verdict.safe) {
    throw new CatalogError('CONFIG_RULE_REGEX_UNSAFE', `the pattern ${quoteUntrusted(pattern, 80)} is refused: ${verdict.reason}`, {
      hint: 'make each repetition end where the next part begins, e.g. [a-z]+(-[a-z]+)* instead of ([a-z]+-?)+',
    });
  }
  return new RegExp(`^(?:${pattern})$`, 'u');
}
