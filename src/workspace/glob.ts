import { CatalogError, quoteUntrusted } from '../errors.ts';

/**
 * A deliberately small glob language for "changes allowed here" rules, with
 * semantics that do not depend on the Node version:
 *   `*`  any run of characters within one path component (dot files too)
 *   `?`  one character within a component
 *   `**` as a whole component: zero or more components
 * Everything else is literal. Brackets, braces and backslashes are refused
 * rather than guessed at, and a pattern may not be absolute or climb with "..".
 * `dist/**` matches `dist` itself and everything below it.
 */
export class GlobSet {
  readonly patterns: readonly string[];
  private readonly compiled: RegExp[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.compiled = patterns.map(compileGlob);
  }

  matches(path: string): boolean {
    return this.compiled.some((regex) => regex.test(path));
  }

  get size(): number {
    return this.compiled.length;
  }
}

export function compileGlob(pattern: string): RegExp {
  const reject = (rule: string): never => {
    throw new CatalogError('USAGE_GLOB_INVALID', `allow glob ${quoteUntrusted(pattern)} ${rule}`, {
      hint: 'use workspace-relative globs with *, ? and ** only, e.g. "dist/**" or "*.log"',
    });
  };
  if (pattern.length === 0) reject('is empty');
  if (pattern.length > 1024) reject('is longer than 1024 characters');
  if (pattern.startsWith('/')) reject('is absolute');
  if (/[[\]{}\\]/.test(pattern)) reject('uses [], {} or \\, which this glob language does not support');
  if (/[\u0000-\u001f\u007f]/.test(pattern)) reject('contains a control character');
  const components = pattern.replace(/\/+$/, '').split('/');
  if (components.some((c) => c === '..' || c === '')) reject('has an empty or ".." component');
  let source = '';
  components.forEach((component, index) => {
    const last = index === components.length - 1;
    if (component === '**') {
      // Zero or more whole components, each followed by "/" unless last.
      source += last ? '(?:.*)' : '(?:[^/]*/)*';
      return;
    }
    if (component.includes('**')) reject('uses ** inside a component; ** must stand alone between slashes');
    source += component
      .split('')
      .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : escapeRegex(ch)))
      .join('');
    if (!last) source += '/';
  });
  // "dir/**" also matches "dir": drop the trailing "/" before a final "**".
  source = source.replace(/\/\(\?:\.\*\)$/, '(?:/.*)?');
  return new RegExp(`^${source}$`, 'su');
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}
