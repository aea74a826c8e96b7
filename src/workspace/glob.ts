import { CatalogError, quoteUntrusted } from '../errors.ts';
import { loadRegexEngine, type RegexEngine } from '../params/regex/linear-pattern.ts';

/**
 * A deliberately small glob language for "changes allowed here" rules, with
 * semantics that do not depend on the Node version:
 *   `*`  any run of characters within one path component (dot files too)
 *   `?`  one character within a component
 *   `**` as a whole component: zero or more components
 * Everything else is literal. Brackets, braces and backslashes are refused
 * rather than guessed at, and a pattern may not be absolute or climb with "..".
 * `dist/**` matches `dist` itself and everything below it.
 *
 * The paths matched are named by whoever wrote the workspace (or the pull
 * request an audit reads), so globs run on RE2 (re2js), in time linear in
 * the path: under V8's backtracking engine `a*-*-*-*-*.log` takes polynomial
 * time of high degree on a crafted 255-byte name.
 */
export interface GlobMatcher {
  readonly pattern: string;
  matches(path: string): boolean;
}

export class GlobSet {
  readonly patterns: readonly string[];
  private readonly compiled: GlobMatcher[];

  /** Compiles the globs, loading the RE2 engine only when there is one to compile. */
  static async load(patterns: readonly string[]): Promise<GlobSet> {
    for (const pattern of patterns) globSource(pattern); // usage errors first, before anything is loaded
    return new GlobSet(patterns, patterns.length > 0 ? await loadRegexEngine() : undefined);
  }

  constructor(patterns: readonly string[], re2: RegexEngine | undefined) {
    if (patterns.length > 0 && re2 === undefined) throw new Error('GlobSet needs the RE2 engine to compile globs: use GlobSet.load');
    this.patterns = patterns;
    this.compiled = patterns.map((pattern) => compileGlob(pattern, re2!));
  }

  matches(path: string): boolean {
    return this.compiled.some((glob) => glob.matches(path));
  }

  get size(): number {
    return this.compiled.length;
  }
}

export function compileGlob(pattern: string, re2: RegexEngine): GlobMatcher {
  const program = re2.RE2JS.compile(globSource(pattern));
  return { pattern, matches: (path) => program.testExact(path) };
}

/** Checks a glob and returns the RE2 pattern that matches a whole path; throws USAGE_GLOB_INVALID. */
export function globSource(pattern: string): string {
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
      source += last ? '(?s:.*)' : '(?:[^/]*/)*';
      return;
    }
    if (component.includes('**')) reject('uses ** inside a component; ** must stand alone between slashes');
    source += [...component].map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : escapeRegex(ch))).join('');
    if (!last) source += '/';
  });
  // "dir/**" also matches "dir": drop the trailing "/" before a final "**".
  return source.replace(/\/\(\?s:\.\*\)$/, '(?s:/.*)?');
}

function escapeRegex(ch: string): string {
  return /[.*+?^$()|]/.test(ch) ? `\\${ch}` : ch;
}
