import t from 'tap';
import { compileRulePattern } from '../../src/params/regex/safe-regex.ts';
import { complement, fromRanges, intersection, overlaps, single, union, ANY } from '../../src/params/regex/char-set.ts';

const SAFE = [
  '[a-z]+(-[a-z]+)*', '[a-z0-9]([-a-z0-9]*[a-z0-9])?', '\\d{1,3}(\\.\\d{1,3}){3}', '(foo|bar)+', '(a|ab)*c', '.*foo',
  'v?\\d+\\.\\d+\\.\\d+', '[^/]+(/[^/]+)*', '\\p{L}+', '[a-z]*[0-9]*', '(?:[a-z]+\\.)*[a-z]+', '(?!-)[a-z]+', '(?<name>[a-z]+)',
  '(?:ab?)*b', '(?:[^"\\\\]|\\\\.)*', 'sha256:[0-9a-f]{64}', '^[A-Za-z0-9._*?@+=,~/-]{1,1024}$', '^[0-9]{1,10}(,[0-9]{1,10})*$',
  '[\\u{1F600}-\\u{1F64F}]+', '\\uD83D\\uDE00+', '[\\w.-]+@[\\w-]+(\\.[\\w-]+)+', 'a{0}b*', '(?:x|y|z)+', '\\bword\\b', '(?:a?)+',
];

const UNSAFE: [string, RegExp][] = [
  ['(a+)+', /exponential/],
  ['(a|a)*', /exponential/],
  ['(a|aa)*b', /exponential/],
  ['(a*)*', /exponential/],
  ['(a*b*)*', /exponential/],
  ['(\\w+\\s?)+', /exponential/],
  ['(?:x+x+)+y', /exponential/],
  ['([a-z]+)*$', /exponential/],
  ['(.*a){12}', /exponential|polynomial/],
  ['\\d+\\d+', /polynomial/],
  ['a*a*', /polynomial/],
  ['.*x.*y', /polynomial/],
  ['\\s*.*\\s*', /polynomial/],
  ['[\\s\\S]*\\s[\\s\\S]*', /polynomial/],
  ['a{1,5}a{1,5}', /polynomial/],
  ['(x+)?x*', /polynomial/],
  ['^(~|/)([A-Za-z0-9._-]+/?)*$', /exponential/],
  ['(?:\\p{L}|\\d)+', /exponential/],
];

const UNSUPPORTED: [string, string][] = [
  ['(a)\\1', 'CONFIG_RULE_REGEX_UNSUPPORTED'],
  ['(?<n>a)\\k<n>', 'CONFIG_RULE_REGEX_UNSUPPORTED'],
  ['(?<=a)b', 'CONFIG_RULE_REGEX_UNSUPPORTED'],
  ['(?<!a)b', 'CONFIG_RULE_REGEX_UNSUPPORTED'],
  ['(?=a+)a', 'CONFIG_RULE_REGEX_UNSUPPORTED'],
  ['(', 'CONFIG_RULE_REGEX_SYNTAX'],
  ['[z-a]', 'CONFIG_RULE_REGEX_SYNTAX'],
  ['a{2,1}', 'CONFIG_RULE_REGEX_SYNTAX'],
  ['\\q', 'CONFIG_RULE_REGEX_SYNTAX'],
  ['*', 'CONFIG_RULE_REGEX_SYNTAX'],
];

t.test('patterns without ambiguous repetition are accepted and anchored', async (t) => {
  for (const pattern of SAFE) {
    const regex = compileRulePattern(pattern);
    t.equal(regex.flags, 'u', `${pattern} runs with the u flag`);
    t.ok(regex.source.startsWith('^(?:') && regex.source.endsWith(')$'), `${pattern} is anchored`);
  }
  t.ok(compileRulePattern('[a-z]+').test('abc'));
  t.notOk(compileRulePattern('[a-z]+').test('abc1'), 'no partial match');
  t.notOk(compileRulePattern('a|b').test('ab'), 'alternation is anchored as a whole');
});

t.test('patterns that can backtrack catastrophically are refused with the reason', async (t) => {
  for (const [pattern, reason] of UNSAFE) {
    t.throws(() => compileRulePattern(pattern), { code: 'CONFIG_RULE_REGEX_UNSAFE', message: reason }, pattern);
  }
});

t.test('backreferences, lookbehinds, repeating lookaheads and syntax errors are refused', async (t) => {
  for (const [pattern, code] of UNSUPPORTED) t.throws(() => compileRulePattern(pattern), { code }, pattern);
});

t.test('accepted patterns stay fast on adversarial input (each run would hang if the proof were wrong)', async (t) => {
  const inputs = ['a'.repeat(20000) + '!', `${'a-'.repeat(10000)}!`, `${'1.'.repeat(10000)}x`, `${'ab'.repeat(10000)}`, ' '.repeat(20000)];
  for (const pattern of SAFE) {
    const regex = compileRulePattern(pattern);
    for (const input of inputs) regex.test(input);
  }
  t.pass(`${SAFE.length} patterns × ${inputs.length} inputs finished`);
});

t.test('an over-long pattern is refused as too complex rather than trusted', async (t) => {
  t.throws(() => compileRulePattern('a'.repeat(600)), { code: 'CONFIG_RULE_REGEX_TOO_COMPLEX' });
});

t.test('character sets: union, complement and intersection', async (t) => {
  const digits = fromRanges([[0x30, 0x39]]);
  t.ok(overlaps(digits, single(0x35)));
  t.notOk(overlaps(digits, single(0x41)));
  t.same(union([single(1), single(2), single(5)]).ranges, [[1, 2], [5, 5]]);
  t.notOk(overlaps(complement(digits), single(0x30)));
  t.same(complement(ANY), ANY, 'complement of an over-approximation stays "anything"');
  t.same(intersection(fromRanges([[0, 10]]), fromRanges([[5, 20]])).ranges, [[5, 10]]);
});
