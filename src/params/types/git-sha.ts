import type { TypeValidator } from './validator.ts';

const SHA1_OR_SHA256 = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A full commit id: 40 hex digits (SHA-1 repositories) or 64 (SHA-256).
 * Lower case only, as git prints them; abbreviations and ref names are
 * refused because they can resolve to a different commit later.
 */
export function gitSha(): TypeValidator {
  return {
    maxLength: 64,
    shell: 'word',
    check: (value) =>
      SHA1_OR_SHA256.test(value) ? undefined : 'must be a full git commit id: 40 or 64 lower-case hex digits',
  };
}
