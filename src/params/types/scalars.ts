import { quoteUntrusted } from '../../errors.ts';
import type { TypeValidator } from './validator.ts';

/** One of a fixed list, compared exactly (case-sensitive, no trimming). */
export function enumOf(options: { values: readonly string[] }): TypeValidator {
  const allowed = new Set(options.values);
  const shown = options.values.slice(0, 10).map((v) => quoteUntrusted(v, 40)).join(', ');
  const more = options.values.length > 10 ? `, … (${options.values.length} in all)` : '';
  const reason = `must be one of ${shown}${more}`;
  return {
    maxLength: Math.max(...options.values.map((v) => v.length)),
    tooLong: reason,
    check: (value) => (allowed.has(value) ? undefined : reason),
  };
}

/** Canonical decimal: optional "-", no "+", no leading zeros, no "-0"; 16 digits at most. */
const CANONICAL_INTEGER = /^-?(?:0|[1-9][0-9]{0,15})$/;

/** A safe integer (|n| < 2^53) written canonically, within [min, max] when given. */
export function integer(options: { min?: number | undefined; max?: number | undefined }): TypeValidator {
  return {
    maxLength: 17,
    shell: 'word',
    check(value) {
      if (!CANONICAL_INTEGER.test(value) || value === '-0') {
        return 'must be a whole number in plain decimal (no "+", no leading zeros, no spaces)';
      }
      const n = Number(value);
      if (!Number.isSafeInteger(n)) return 'is outside the safe integer range (±9007199254740991)';
      if (options.min !== undefined && n < options.min) return `must be at least ${options.min}`;
      if (options.max !== undefined && n > options.max) return `must be at most ${options.max}`;
      return undefined;
    },
  };
}

/** "true" or "false", exactly: "yes", "1" or "True" are refused so a typo cannot flip a switch. */
export function bool(): TypeValidator {
  return {
    maxLength: 5,
    shell: 'word',
    check: (value) => (value === 'true' || value === 'false' ? undefined : 'must be "true" or "false"'),
  };
}
