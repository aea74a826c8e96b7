import t from 'tap';
import { checkEnvNames, collectValues, envNameFor, parseArgs } from '../../src/params/inputs.ts';
import type { RuleSet } from '../../src/params/rules.ts';

const rules: RuleSet = {
  'git-revision': { type: 'git-sha' },
  'image.tag': { type: 'image-tag' },
  images: { type: 'image-reference' },
};

t.test('env names: upper case, "-" and "." become "_"', async (t) => {
  t.equal(envNameFor('git-revision'), 'PARAM_GIT_REVISION');
  t.equal(envNameFor('image.tag'), 'PARAM_IMAGE_TAG');
  t.equal(envNameFor('already_UP'), 'PARAM_ALREADY_UP');
});

t.test('rule names that share an env variable are refused', async (t) => {
  t.throws(() => checkEnvNames({ 'a-b': { type: 'bool' }, a_b: { type: 'bool' } }), { code: 'CONFIG_RULES_ENV_COLLISION', message: /the "rules" param names both a-b and a_b, .*both read the env variable PARAM_A_B/ });
  t.throws(() => checkEnvNames({ 'a.b': { type: 'bool' }, A_B: { type: 'bool' } }), { code: 'CONFIG_RULES_ENV_COLLISION' });
});

t.test('args: NAME=VALUE, --param, --param=, and --elements', async (t) => {
  t.same(parseArgs(['a=1', '--param', 'b=2', '--param=c=3=4', 'a=5']), { help: false, entries: [['a', '1'], ['b', '2'], ['c', '3=4'], ['a', '5']] });
  t.same(parseArgs(['a=', 'b==']).entries, [['a', ''], ['b', '=']], 'empty values and "=" in values are kept');
  t.same(parseArgs(['--elements', 'images', '--help', 'x=y', '--elements', '']), {
    help: false,
    entries: [],
    elements: { name: 'images', values: ['--help', 'x=y', '--elements', ''] },
  }, 'everything after --elements NAME is an element, verbatim');
  t.same(parseArgs(['a=1', '--elements', '']), { help: false, entries: [['a', '1']] }, '--elements "" with nothing after means none');
  t.same(parseArgs(['--help']), { help: true, entries: [] });
});

t.test('args: malformed input is a usage error, and --help only counts alone', async (t) => {
  t.throws(() => parseArgs(['novalue']), { code: 'USAGE_ARGS', message: /^the "values" entry "novalue" is not NAME=VALUE$/, hint: /each entry of the "values" param as NAME=VALUE/ });
  t.throws(() => parseArgs(['=value']), { code: 'USAGE_ARGS' });
  t.throws(() => parseArgs(['--param']), { code: 'USAGE_ARGS' });
  t.throws(() => parseArgs(['--elements']), { code: 'USAGE_ARGS' });
  t.throws(() => parseArgs(['--elements', '', 'stray']), { code: 'USAGE_ARGS', message: /the "elements" param holds 1 element\(s\), but "elements-name" is empty/, hint: /set the "elements-name" param/ });
  t.throws(() => parseArgs(['--verbose']), { code: 'USAGE_ARGS', message: /the "values" entry "--verbose" is not NAME=VALUE \(entries may not start with "--"\)/ });
  t.throws(() => parseArgs(['a=1', '--help']), { code: 'USAGE_ARGS', message: /only read as the sole argument/ });
  t.throws(() => parseArgs(['--help', '--elements', '']), { code: 'USAGE_ARGS' });
  t.throws(() => parseArgs(['--\u202eevil']), { code: 'USAGE_ARGS', message: /\\u202e/ }, 'the bad argument is shown escaped');
});

t.test('values from env and args are merged; repeats build arrays', async (t) => {
  const env = { PARAM_GIT_REVISION: 'abc', PARAM_IMAGE_TAG: 'v1', HOME: '/root' };
  const values = collectValues(rules, env, parseArgs(['images=a', 'images=b', '--elements', '']));
  t.same([...values.entries()], [['git-revision', 'abc'], ['image.tag', 'v1'], ['images', ['a', 'b']]]);
  const elements = collectValues(rules, {}, parseArgs(['--elements', 'images', 'x', 'y']));
  t.same(elements.get('images'), ['x', 'y']);
  const empty = collectValues(rules, {}, parseArgs(['--elements', 'images']));
  t.same(empty.get('images'), [], 'an empty array is an empty list, not a missing param');
});

t.test('PARAM_* variables without a rule are kept under their own name (to fail as unknown)', async (t) => {
  const values = collectValues(rules, { PARAM_EXTRA: 'x' }, parseArgs([]));
  t.equal(values.get('PARAM_EXTRA'), 'x');
});

t.test('a param given both in env and args is refused', async (t) => {
  t.throws(() => collectValues(rules, { PARAM_GIT_REVISION: 'a' }, parseArgs(['git-revision=b'])), { code: 'USAGE_PARAM_TWICE' });
  t.throws(() => collectValues(rules, {}, parseArgs(['images=a', '--elements', 'images', 'b'])), { code: 'USAGE_PARAM_TWICE' });
});
