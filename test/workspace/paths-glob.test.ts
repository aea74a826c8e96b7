import t from 'tap';
import { compileGlob, GlobSet } from '../../src/workspace/glob.ts';
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
  const set = new GlobSet(['dist/**', '*.log', 'src/?/gen-*.ts', '**/cache']);
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
  t.ok(new GlobSet(['a.b']).matches('a.b'));
  t.notOk(new GlobSet(['a.b']).matches('axb'), '. is literal');
  t.ok(new GlobSet(['**']).matches('new\nline'), 'names with newlines match too');
});

t.test('globs outside the language are refused, not guessed', async (t) => {
  for (const bad of ['/abs/**', '../up', 'a/../b', '{a,b}', '[ab]', 'a\\b', '', 'a**b']) {
    t.throws(() => compileGlob(bad), { code: 'USAGE_GLOB_INVALID' }, bad);
  }
});
