import t from 'tap';
import { compileRuleSet } from '../../src/params/compile.ts';
import { findDuplicateKey, parseRuleSource } from '../../src/params/rule-source.ts';

t.test('reads JSON and YAML rule sets to the same rules', async (t) => {
  const json = await parseRuleSource('{"git-revision": {"type": "git-sha"}, "env": {"type": "enum", "values": ["dev", "prod"]}}');
  const yaml = await parseRuleSource('git-revision: {type: git-sha}\nenv:\n  type: enum\n  values: [dev, prod]\n');
  t.same(json, yaml);
  t.same(json['git-revision'], { type: 'git-sha' });
});

t.test('bad rule sets fail with CONFIG_* codes naming the field', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['', 'CONFIG_RULES_MISSING', /^the "rules" param is empty$/],
    ['   ', 'CONFIG_RULES_MISSING', /empty/],
    ['{"a": ', 'CONFIG_RULES_SYNTAX', /not valid JSON/],
    ['a: [unclosed', 'CONFIG_RULES_SYNTAX', /YAML/],
    ['[1, 2]', 'CONFIG_RULES_INVALID', /mapping/],
    ['just text', 'CONFIG_RULES_INVALID', /mapping/],
    ['{"a": {"type": "regexp"}}', 'CONFIG_RULES_INVALID', /rules\.a\.type: must be one of the types git-sha, .*, text$/],
    ['{"a": {"pattern": "x"}}', 'CONFIG_RULES_INVALID', /rules\.a\.type: is missing: every rule needs a "type"/],
    ['{"a": {"type": "regex", "pattern": "[a-z]+"}}', 'CONFIG_RULES_INVALID', /rules\.a\.maxLength: is required: a regex rule needs maxLength, .*e\.g\. "maxLength": 256/],
    ['{"a": {"type": "enum"}}', 'CONFIG_RULES_INVALID', /rules\.a\.values: is required: the list of accepted values/],
    ['{"a": {"type": "https-url", "allowQuery": "yes"}}', 'CONFIG_RULES_INVALID', /rules\.a\.allowQuery: must be true or false, not a string/],
    ['{"a": {"type": "git-sha", "allowUpper": true}}', 'CONFIG_RULES_INVALID', /rules\.a: has "allowUpper", which a git-sha rule does not take \(its options: optional\)/],
    ['{"a": {"type": "integer", "min": "1"}}', 'CONFIG_RULES_INVALID', /rules\.a\.min: must be a number, not a string/],
    ['{"a": {"type": "integer", "min": 1.5}}', 'CONFIG_RULES_INVALID', /rules\.a\.min/],
    ['{"a": {"type": "text"}}', 'CONFIG_RULES_INVALID', /rules\.a\.maxLength/],
    ['{"a": {"type": "text", "maxLength": 100000}}', 'CONFIG_RULES_INVALID', /rules\.a\.maxLength/],
    ['{"a": {"type": "regex", "pattern": "", "maxLength": 5}}', 'CONFIG_RULES_INVALID', /rules\.a\.pattern/],
    ['{"a": {"type": "enum", "values": []}}', 'CONFIG_RULES_INVALID', /rules\.a\.values/],
    ['{"a": "git-sha"}', 'CONFIG_RULES_INVALID', /rules\.a: must be a mapping, not a string/],
    ['{"bad name": {"type": "bool"}}', 'CONFIG_RULES_INVALID', /rules\."bad name"/],
    ['{"__proto__": {"type": "bool"}}', 'CONFIG_RULES_INVALID', /__proto__/],
    ['{"a\u202e": {"type": "bool"}}', 'CONFIG_RULES_INVALID', /\\u202e/],
    ['{"a": {"type": "bool"}, "a": {"type": "git-sha"}}', 'CONFIG_RULES_DUPLICATE_KEY', /"a" twice/],
    ['a: {type: bool}\na: {type: git-sha}\n', 'CONFIG_RULES_SYNTAX', /YAML/],
    ['a: &x {type: bool}\nb: *x\nc: *x\nd: *x\ne: *x\nf: *x\ng: *x\nh: *x\ni: *x\nj: *x\nk: *x\nl: *x\n', 'CONFIG_RULES_SYNTAX', /YAML/],
    ['a: !!js/function "x"', 'CONFIG_RULES_SYNTAX', /YAML/],
    [`{"a": {"type": "text", "maxLength": 1, "optional": true}, "pad": "${'x'.repeat(70000)}"}`, 'CONFIG_RULES_TOO_LARGE', /larger than/],
  ];
  for (const [source, code, message] of cases) {
    await t.rejects(parseRuleSource(source), { code, message }, `${code}: ${source.slice(0, 50)}`);
  }
});

t.test('rule messages never carry raw control or bidi characters', async (t) => {
  const error = await parseRuleSource('{"x\u202ey": {"type": "bool", "k\u0007": 1}}').catch((e: Error) => e);
  t.ok(error instanceof Error);
  t.notMatch((error as Error).message, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/u.source.replace('\\u000a', ''));
  t.notOk(/[\u0007\u202e]/u.test((error as Error).message));
});

t.test('semantic rule checks: min > max, unusable patterns, bad hosts and unusable enum values', async (t) => {
  await t.rejects(compileRuleSet({ n: { type: 'integer', min: 5, max: 1 } }), { code: 'CONFIG_RULE_RANGE', message: /rules\.n: min \(5\) is greater than max \(1\)/ });
  await t.rejects(compileRuleSet({ n: { type: 'integer', max: 2 ** 60 } }), { code: 'CONFIG_RULE_RANGE' });
  await t.rejects(compileRuleSet({ r: { type: 'regex', pattern: '(?=a)a', maxLength: 10 } }), { code: 'CONFIG_RULE_REGEX_UNSUPPORTED', message: /^rules\.r: .*lookahead/ });
  await t.rejects(compileRuleSet({ r: { type: 'regex', pattern: '[a-z]{1000}', maxLength: 65536 } }), { code: 'CONFIG_RULE_REGEX_TOO_COMPLEX', message: /^rules\.r: / });
  await t.rejects(compileRuleSet({ u: { type: 'https-url', allowedHosts: ['https://github.com'] } }), { code: 'CONFIG_RULE_ALLOWED_HOST' });
  await t.rejects(compileRuleSet({ u: { type: 'https-url', allowedHosts: ['github.com/path'] } }), { code: 'CONFIG_RULE_ALLOWED_HOST' });
  await t.rejects(compileRuleSet({ u: { type: 'https-url', allowedHosts: ['user@github.com'] } }), { code: 'CONFIG_RULE_ALLOWED_HOST' });
  await t.rejects(compileRuleSet({ e: { type: 'enum', values: ['ok', 'bad\n'] } }), { code: 'CONFIG_RULE_ENUM' });
  await t.rejects(compileRuleSet({ e: { type: 'enum', values: [''] } }), { code: 'CONFIG_RULE_ENUM' });
  await t.resolves(compileRuleSet({ u: { type: 'https-url', allowedHosts: ['GitHub.com', 'registry.example.com:8443', 'bücher.example'] } }));
});

t.test('duplicate-key scan handles nesting, arrays and escaped quotes', async (t) => {
  t.equal(findDuplicateKey('{"a": 1, "b": {"a": 2}}'), undefined, 'same key in different objects is fine');
  t.equal(findDuplicateKey('{"a": ["a", "a"], "b": 1}'), undefined, 'array strings are not keys');
  t.equal(findDuplicateKey('{"a\\"b": 1, "a\\"b": 2}'), 'a"b');
  t.equal(findDuplicateKey('{"x": {"k": 1, "k": 2}}'), 'k');
  t.equal(findDuplicateKey('{"\\u0061": 1, "a": 2}'), 'a', 'escapes are decoded before comparing');
  t.equal(findDuplicateKey('{"a": "}", "b": "{", "c": 1}'), undefined, 'braces inside strings do not count');
});
