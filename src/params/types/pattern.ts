import { compileRulePattern } from '../regex/safe-regex.ts';
import type { TypeValidator } from './validator.ts';

/**
 * A custom pattern, anchored to the whole value and run with the `u` flag.
 * The length cap is checked before the pattern runs; the pattern itself is
 * refused at rule-parse time unless it is provably free of catastrophic
 * backtracking (see regex/ambiguity.ts).
 */
export function pattern(options: { pattern: string; maxLength: number }): TypeValidator {
  const regex = compileRulePattern(options.pattern);
  return {
    maxLength: options.maxLength,
    check: (value) => (regex.test(value) ? undefined : 'does not match the rule\'s pattern'),
  };
}
