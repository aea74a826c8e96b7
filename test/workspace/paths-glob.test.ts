import t from 'tap';
import { spawnSync } from 'node:child_process';
import { globSource, GlobSet } from '../../src/workspace/glob.ts';
import { comparePaths, hasControlCharacter } from '../../src/workspace/paths.ts';

t.test('paths sort component by component, parents first, by code point', async (t) => {
  const paths = ['a.b', 'a/b', 'a', '.', 'a/b/c', 'B', 'a-b', 'é', '\u{1F600}', '\uffff'];
  const sorted = [...paths].sort(comparePaths);
  t.same(sorted, ['.', 'B', 'a', 'a/b', 'a/b/c', 'a-b', 'a.b', 'é', '\uffff', '\u{1F600}']);
  t.equal(comparePaths('a/b', 'a/b'), 0);
  t.ok(comparePaths('a', 'a/b') < 0, 'a parent sorts before its child');
});

t.test('control and bidi characters in names are recognised', async (t) => {
  t.ok(hasControlCharacter('evil\nname'));
  t.ok(hasControlCharacter('\u202Etxt.exe'));
  t.ok(hasControlCharacter('bell\u0007'));
  t.notOk(hasControlCharacter('café-日本語.txt'));
});

t.test('globs: *, ? and ** with clear semantics', async (t) => {
  const set = await GlobSet.load(['dist/**', '*.log', 'src/?/gen-*.ts', '**/cache']);
  t.ok(set.matches('dist'));
  t.ok(set.matches('dist/a/.hidden/b'));
  t.notOk(set.matches('distx/a'));
  t.ok(set.matches('build.log'));
  t.notOk(set.matches('sub/build.log'), '* stays within one component');
  t.ok(set.matches('src/a/gen-x.ts'));
  t.notOk(set.matches('src/ab/gen-x.ts'));
  t.ok(set.matches('cache'));
  t.ok(set.matches('deep/er/cache'));
  t.notOk(set.matches('deep/er/cache/x'));
  t.ok((await GlobSet.load(['a.b'])).matches('a.b'));
  t.notOk((await GlobSet.load(['a.b'])).matches('axb'), '. is literal');
  t.ok((await GlobSet.load(['**'])).matches('new\nline'), 'names with newlines match too');
  t.ok((await GlobSet.load(['a+b/(x)|y$/^z'])).matches('a+b/(x)|y$/^z'), 'RE2 metacharacters are literal');
  t.notOk((await GlobSet.load(['a+b'])).matches('aab'), '+ is literal');
  t.ok((await GlobSet.load(['日本/*.txt'])).matches('日本/語.txt'), '? and * work on code points');
  t.ok((await GlobSet.load(['?.txt'])).matches('\u{1F600}.txt'), 'one ? is one code point, even outside the BMP');
});

t.test('globs outside the language are refused, not guessed', async (t) => {
  for (const bad of ['/abs/**', '../up', 'a/../b', '{a,b}', '[ab]', 'a\\b', '', 'a**b']) {
    t.throws(() => globSource(bad), { code: 'USAGE_GLOB_INVALID' }, bad);
    await t.rejects(GlobSet.load([bad]), { code: 'USAGE_GLOB_INVALID' }, `${bad}: refused before the engine loads`);
  }
});

t.test('globs against attacker-named paths finish (a watchdog fails only on a hang)', async (t) => {
  // Under V8's backtracking engine each of these takes polynomial time of high degree on its path.
  const cases: [string, string][] = [
    ['build/*-*-*-*-*-*-*-*.log', `build/${'-'.repeat(250)}.lo`],
    ['*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(255)],
    ['**/**/**/**/**/**/**/**/x', `${'d/'.repeat(2000)}y`],
  ];
  const moduleUrl = new URL('../../src/workspace/glob.ts', import.meta.url).href;
  const script = `
const { readFileSync } = await import('node:fs');
const { GlobSet } = await import(${JSON.stringify(moduleUrl)});
for (const [glob, path] of JSON.parse(readFileSync(0, 'utf8'))) process.stdout.write(String((await GlobSet.load([glob])).matches(path)) + '\\n');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 300_000 });
  t.equal(child.signal, null, 'the watchdog did not have to stop the child');
  t.equal(child.status, 0, child.stderr);
  t.same(child.stdout.trim().split('\n'), ['false', 'false', 'false'], 'every case finished, no match');
});
