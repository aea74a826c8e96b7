import type { TypeValidator } from './validator.ts';

/** POSIX portable file name characters, plus "@" and "+". */
const SEGMENT = /^[A-Za-z0-9._@+-]+$/;

/**
 * A path inside a workspace: relative, canonical and plain. Refused: absolute
 * paths, "..", "." segments (except "." alone, the workspace itself), empty
 * segments ("a//b", a trailing "/"), a leading "-" (a tool would read it as
 * an option), and every character outside A-Z a-z 0-9 . _ @ + - and "/",
 * which keeps out backslashes, spaces, globs, quotes and shell syntax.
 */
export function relativePath(): TypeValidator {
  return {
    maxLength: 4096,
    shell: 'word',
    check(value) {
      if (value === '.') return undefined;
      if (value.startsWith('/')) return 'must be relative, not absolute';
      if (value.startsWith('-')) return 'may not start with "-" (a tool would read it as an option)';
      const segments = value.split('/');
      for (const segment of segments) {
        if (segment === '') return 'may not hold empty segments ("//" or a trailing "/")';
        if (segment === '..') return 'may not hold ".." (it could leave the workspace)';
        if (segment === '.') return 'may not hold "." segments; write the path without them';
        if (!SEGMENT.test(segment)) return 'may only hold A-Z a-z 0-9 . _ @ + - and "/"';
      }
      return undefined;
    },
  };
}
