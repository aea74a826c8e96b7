// The shell guarantee (src/params/shell.ts), tested for every built-in type
// it covers: shell metacharacters and sequences are put at the start, in the
// middle and at the end of a valid value and into each structural part of
// the type (URL host, port, path, query, fragment; image registry, path, tag,
// digest; semver pre-release and build; ...). Every generated value is either
// refused, or proven inert by dash and bash (./shell-check.ts).
import t from 'tap';
import { compileRuleSet } from '../../src/params/compile.ts';
import { findShellHazard, type ShellSafety } from '../../src/params/shell.ts';
import { validateParams } from '../../src/params/validate.ts';
import { allInert, SHELLS, shellVerdicts } from './shell-check.ts';
import { generate, HAZARDS, SHAPES, WORD_ACTIVE } from './shell-shapes.ts';

const passed = new Map<ShellSafety, Set<string>>([['word', new Set()], ['double-quoted', new Set()]]);
let generatedCount = 0;

for (const shape of SHAPES) {
  t.test(`${shape.name}: every metacharacter in every position is refused or inert`, async (t) => {
    const compiled = await compileRuleSet({ p: shape.rule });
    const whole = shape.parts[0]!.before + shape.parts[0]!.after;
    t.ok(validateParams({ p: whole }, compiled).ok, `the carrier ${whole} passes`);
    passed.get(shape.safety)!.add(whole);
    let refused = 0;
    for (const { value, hazard, label } of generate(shape)) {
      generatedCount++;
      const result = validateParams({ p: value }, compiled);
      if (!result.ok) {
        refused++;
        continue;
      }
      passed.get(shape.safety)!.add(value);
      // A passing value keeps the guarantee by the central check, and by the list of shell-active characters written out here.
      const leaks = shape.safety === 'word' ? WORD_ACTIVE.filter((ch) => value.includes(ch)) : [];
      t.same({ hazard: findShellHazard(value, shape.safety), leaks }, { hazard: undefined, leaks: [] }, `${label}: ${JSON.stringify(hazard)} passes and is inert`);
    }
    t.ok(refused > 0, `${refused} of ${shape.parts.length * HAZARDS.length} generated values refused`);
  });
}

t.test('every generated value that passed is one inert word to dash and bash', async (t) => {
  let checked = 0;
  for (const [safety, values] of passed) {
    const list = [...values];
    for (const shell of SHELLS) {
      const verdicts = shellVerdicts(shell, list, safety);
      t.equal(verdicts.length, list.length, `${shell} judged every ${safety} value`);
      const broken = list.filter((_, i) => verdicts[i] !== allInert(safety));
      t.same(broken, [], `${shell}: ${list.length} ${safety}-level values stay one word, unexpanded`);
      checked += list.length;
    }
  }
  t.ok(passed.get('word')!.size > 100 && passed.get('double-quoted')!.size > 20, `enough values passed to make the shell check mean something (${checked} shell runs of ${generatedCount} generated)`);
});

t.test('the shell check can fail: known hazards are caught by the real shells', async (t) => {
  const hazards = ['a b', '$(id)', '`id`', '${HOME}', 'a;b', 'a&b', 'a|b', "a'b", 'a"b', '~', '~/x', '#x', 'a:~/b'];
  // bash alone: globs that match no file (nullglob), brace expansion, and tilde in an assignment-like argument.
  const bashOnly = ['*', 'a*', '[ab]', 'a?b', '{a,b}', 'x=~/b'];
  for (const shell of SHELLS) {
    const values = [...hazards, ...(shell.endsWith('bash') ? bashOnly : [])];
    const verdicts = shellVerdicts(shell, values, 'word');
    t.equal(verdicts.length, values.length);
    verdicts.forEach((verdict, i) => t.not(verdict, allInert('word'), `${shell} flags ${JSON.stringify(values[i])}`));
    const quoted = shellVerdicts(shell, ['$(id)', '`id`', '$HOME', 'a\\$b'], 'double-quoted');
    quoted.forEach((verdict) => t.not(verdict, allInert('double-quoted')));
  }
});

t.test('the central check refuses each shell-active character for every word-level value', async (t) => {
  for (const ch of WORD_ACTIVE) {
    t.type(findShellHazard(`a${ch}b`, 'word'), 'string', JSON.stringify(ch));
  }
  for (const ch of [...'$`"\'\\;|<>(){}*!^ ']) t.type(findShellHazard(`a${ch}b`, 'double-quoted'), 'string', JSON.stringify(ch));
  for (const value of ['~x', '#x', 'a:~x', 'a=~x']) t.type(findShellHazard(value, 'word'), 'string', value);
  for (const value of ['a~x', 'a#x', '-x', 'a=b', 'a:b', 'a%41', 'a@b+c,d/e.f_g']) t.equal(findShellHazard(value, 'word'), undefined, value);
  t.equal(findShellHazard('https://[::1]/?a=1&b=2', 'double-quoted'), undefined);
});
