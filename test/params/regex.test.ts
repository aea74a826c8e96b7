import { spawnSync } from 'node:child_process';
import t from 'tap';
import { RE2JS } from 're2js';
import { compileRulePattern, loadRegexEngine, MATCH_BUDGET, usesCaseFolding } from '../../src/params/regex/linear-pattern.ts';

const engine = await loadRegexEngine();
const compile = (pattern: string, maxLength = 256) => compileRulePattern(engine, pattern, maxLength);

/** Patterns rules use, in RE2 syntax; all compile and match only whole values. */
const ACCEPTED = [
  '[a-z]+(-[a-z]+)*', '[a-z0-9]([-a-z0-9]*[a-z0-9])?', '\\d{1,3}(\\.\\d{1,3}){3}', '(foo|bar)+', '(a|ab)*c', '.*foo',
  'v?\\d+\\.\\d+\\.\\d+', '[^/]+(/[^/]+)*', '\\p{L}+', '[a-z]*[0-9]*', '(?:[a-z]+\\.)*[a-z]+', '(?<name>[a-z]+)', '(?P<name>[a-z]+)',
  '(?:ab?)*b', '(?:[^"\\\\]|\\\\.)*', 'sha256:[0-9a-f]{64}', '^[A-Za-z0-9._*?@+=,~/-]{1,1000}$', '^[0-9]{1,10}(,[0-9]{1,10})*$',
  '[\\x{1F600}-\\x{1F64F}]+', '[\\w.-]+@[\\w-]+(\\.[\\w-]+)+', 'a{0}b*', '(?:x|y|z)+', '\\bword\\b', '(?:a?)+', '[[:alpha:]]+',
  '\\Qa.b\\E', '(?s).+', '(?m)^x$', '(?-i)x', '[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*', '[a-z]{1,1000}',
  // Patterns V8's backtracking engine would take exponential or polynomial time on; re2js runs them in linear time.
  '(a+)+', '(a|a)*', '(a|aa)*b', '(a*)*', '(a*b*)*', '(\\w+\\s?)+', '(?:x+x+)+y', '([a-z]+)*$', '(.*a){12}', '\\d+\\d+', '.*x.*y',
  '^(~|/)([A-Za-z0-9._-]+/?)*$', '(?:\\p{L}|\\d)+', '(?:\\d|[0-9]){40}', '(?:\\d|[0-9])'.repeat(40),
];

const UNSUPPORTED: [string, RegExp][] = [
  ['(a)\\1', /a backreference/],
  ['(?<n>a)\\k<n>', /a named backreference/],
  ['(?=a)a', /a lookahead/],
  ['(?!-)[a-z]+', /a lookahead/],
  ['(?<=a)b', /a lookbehind/],
  ['(?<!a)b', /a lookbehind/],
  ['\\u0041', /the escape \\u/],
  ['[\\u{1F600}-\\u{1F64F}]+', /the escape \\u/],
  ['\\uD83D\\uDE00+', /the escape \\u/],
  ['\\cA', /a control-character escape/],
  ['a++', /a possessive quantifier/],
];

const CASE_FOLDING = ['(?i)abc', '(?i:abc)', 'x(?mi)y', '(?s-m:a)(?i)b'];

const SYNTAX = ['(', ')', '[z-a]', 'a{2,1}', '\\q', '*', 'a{1001}', '(a{100}){100}', '[a-z]{1,1024}', '[a', 'a\\', '(?P<n>a)(?P<n>b)', '\\p{Nonsense}'];

t.test('accepted patterns compile to a re2js program and match whole values only', async (t) => {
  for (const pattern of ACCEPTED) {
    const compiled = compile(pattern, 64);
    t.ok(compiled.program instanceof RE2JS, `${pattern} runs on re2js`);
    t.ok(compiled.programSize > 0);
  }
  t.ok(compile('[a-z]+').matches('abc'));
  t.notOk(compile('[a-z]+').matches('abc1'), 'no partial match at the end');
  t.notOk(compile('[a-z]+').matches('1abc'), 'no partial match at the start');
  t.notOk(compile('a|b').matches('ab'), 'alternation is anchored as a whole');
  t.ok(compile('a|b').matches('b'));
  t.notOk(compile('^v[0-9]+$').matches('v1\n'), '$ does not match before a trailing newline');
  t.ok(compile('[\\x{1F600}-\\x{1F64F}]+').matches('\u{1F600}\u{1F64F}'), 'code points, not UTF-16 halves');
  t.notOk(compile('..').matches('\u{1F600}'), '. is one code point');
});

t.test('RE2 meanings that differ from ECMAScript are pinned', async (t) => {
  t.notOk(compile('a\\sb').matches('a\u00a0b'), '\\s is ASCII whitespace only: no no-break space');
  t.ok(compile('a\\sb').matches('a b'));
  t.notOk(compile('\\w').matches('\u00e9'), '\\w is ASCII');
  t.notOk(compile('\\d').matches('\u0661'), '\\d is ASCII');
  t.ok(compile('\\pL+').matches('\u00e9\u65e5'), '\\pL is any letter');
});

t.test('RE2-incompatible syntax is refused, naming the feature and the way around it', async (t) => {
  for (const [pattern, message] of UNSUPPORTED) {
    t.throws(() => compile(pattern), { code: 'CONFIG_RULE_REGEX_UNSUPPORTED', message, hint: /RE2 syntax/ }, pattern);
  }
  for (const pattern of CASE_FOLDING) {
    t.throws(() => compile(pattern), { code: 'CONFIG_RULE_REGEX_UNSUPPORTED', message: /case folding with the "i" flag/, hint: /\[A-Za-z\].*Kelvin/ }, pattern);
  }
});

t.test('invalid patterns are syntax errors with RE2\'s reason', async (t) => {
  for (const pattern of SYNTAX) {
    t.throws(() => compile(pattern), { code: 'CONFIG_RULE_REGEX_SYNTAX', message: /not a valid RE2 regular expression \(/ }, pattern);
  }
});

t.test('a counted repeat above 1000 is refused with the limit named', async (t) => {
  t.throws(() => compile('[a-z]{1,1024}'), { code: 'CONFIG_RULE_REGEX_SYNTAX', hint: /up to \{1000\}/ });
});

t.test('the match budget: program size × maxLength', async (t) => {
  const big = compile('[a-z]{1000}', 256);
  t.ok(big.programSize >= 1000);
  t.throws(() => compile('[a-z]{1000}', 65536), { code: 'CONFIG_RULE_REGEX_TOO_COMPLEX', hint: /lower maxLength to at most \d+/ });
  const limit = Math.floor(MATCH_BUDGET / big.programSize);
  t.doesNotThrow(() => compile('[a-z]{1000}', limit), 'exactly at the budget');
  t.throws(() => compile('[a-z]{1000}', limit + 1), { code: 'CONFIG_RULE_REGEX_TOO_COMPLEX' });
  t.doesNotThrow(() => compile('[A-Za-z0-9._-]+', 65536), 'an everyday pattern fits even the largest maxLength');
});

t.test('the case-folding scan sees flags, not literal text', async (t) => {
  const cases: [string, boolean][] = [
    ['(?i)a', true], ['(?i:a)', true], ['(?mi)a', true], ['(?U-s:a)(?si)b', true], ['a(?i)', true],
    ['(?-i)a', false], ['(?m-i:a)', false], ['[(?i)]', false], ['\\(?i\\)', false], ['\\Q(?i)\\E', false],
    ['[]a(?i)]', false], ['[^]a(?i)]', false], ['[[:alpha:](?i)]', false], ['[\\](?i)]', false], ['(?P<i>a)', false], ['(?:i)', false],
  ];
  for (const [pattern, expected] of cases) {
    t.equal(usesCaseFolding(pattern), expected, pattern);
    if (!expected) t.doesNotThrow(() => compile(pattern), `${pattern} compiles`);
  }
});

t.test('the worst patterns under the limits finish on their worst values (a watchdog fails only on a hang)', async (t) => {
  // Each case: pattern, its maxLength, a value of that length, and whether it matches.
  // Run in a child with a generous timeout: a backtracking engine would take hours on the first three.
  const cases: [string, number, string, boolean][] = [
    ['(?:\\d|[0-9])'.repeat(40), 41, `${'1'.repeat(40)}x`, false],
    ['(?:\\d|[0-9])'.repeat(40), 40, '1'.repeat(40), true],
    ['(a+)+b', 65536, 'a'.repeat(65536), false],
    ['((a*)*)*b', 65536, 'a'.repeat(65536), false],
    ['(a|aa)*b', 65536, 'a'.repeat(65536), false],
    ['(.*a){12}', 65536, 'a'.repeat(65535) + 'b', false],
    ['(?:a|a?){500}', 1000, 'a'.repeat(1000), false],
    ['[ab]*a[ab]{400}c?[ab]{400}a[ab]*', 32768, pseudoRandomAb(32768), true],
    ['(?:[ab]*a[ab]{100}){4}(?:[ab]{100}a[ab]*){4}x', 32768, `${pseudoRandomAb(32767)}y`, false],
  ];
  const moduleUrl = new URL('../../src/params/regex/linear-pattern.ts', import.meta.url).href;
  const script = `
const { readFileSync } = await import('node:fs');
const { compileRulePattern, loadRegexEngine } = await import(${JSON.stringify(moduleUrl)});
const engine = await loadRegexEngine();
for (const [pattern, maxLength, value] of JSON.parse(readFileSync(0, 'utf8'))) {
  process.stdout.write(compileRulePattern(engine, pattern, maxLength).matches(value) ? 'match\\n' : 'no match\\n');
}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 1 << 20,
  });
  t.equal(child.error, undefined, 'the child started');
  t.equal(child.signal, null, 'the watchdog did not have to stop the child');
  t.equal(child.status, 0, child.stderr);
  t.same(child.stdout.trim().split('\n'), cases.map(([, , , matches]) => (matches ? 'match' : 'no match')), 'every case finished with the right answer');
});

function pseudoRandomAb(length: number): string {
  let state = 1;
  let text = '';
  for (let i = 0; i < length; i++) {
    state = (state * 48271) % 2147483647;
    text += state % 2 === 0 ? 'a' : 'b';
  }
  // Make sure the value matches [ab]*a[ab]{400}c?[ab]{400}a[ab]*: "a" at 1000 and 1801 from the start.
  return `${text.slice(0, 1000)}a${text.slice(1001, 1801)}a${text.slice(1802)}`;
}
