import { compileRulePattern, type RegexEngine } from '../regex/linear-pattern.ts';
import type { TypeValidator } from './validator.ts';

/**
 * A custom pattern in RE2 syntax, matched against the whole value in linear
 * time by re2js (see ../regex/linear-pattern.ts). The length cap is checked
 * before the pattern runs.
 */
export function pattern(options: { pattern: string; maxLength: number }, engine: RegexEngine): TypeValidator {
  const compiled = compileRulePattern(engine, options.pattern, options.maxLength);
  return {
    maxLength: options.maxLength,
    check: (value) => (compiled.matches(value) ? undefined : 'does not match the rule\'s pattern'),
  };
}
