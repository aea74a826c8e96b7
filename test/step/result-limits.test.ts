// Inside a catalog Task, each result is checked against the bound its Task
// declares (TEKTON_CATALOG_RESULT_LIMITS, written by the generator), counted
// as Tekton's termination message counts it: JSON-escaped.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declaredResultLimits, formatResultLimits, resultLimit, RESULT_LIMITS_ENV, RESULT_PATHS_ENV, RESULT_SHARED_ENV, writeResultSync } from '../../src/step/results.ts';

t.test('declared limits are enforced on the escaped size, and only declared results may be written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'result-limits-'));
  const before = process.env[RESULT_LIMITS_ENV];
  process.env[RESULT_LIMITS_ENV] = 'list=12,digest=71,text=6';
  t.teardown(() => {
    if (before === undefined) delete process.env[RESULT_LIMITS_ENV];
    else process.env[RESULT_LIMITS_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });
  t.throws(() => writeResultSync('list', '["a","b"]', dir), { code: 'RESULT_TOO_LARGE', message: /list would take 13 bytes .* allows it 12/ }, '9 raw bytes, 13 escaped');
  writeResultSync('list', '["ab"]', dir);
  t.equal(readFileSync(join(dir, 'list'), 'utf8'), '["ab"]', '10 escaped bytes fit');
  writeResultSync('text', 'abcdef', dir);
  t.throws(() => writeResultSync('text', 'a<', dir), { code: 'RESULT_TOO_LARGE' }, '"<" takes 6 bytes (\\u003c)');
  writeResultSync('digest', `sha256:${'f'.repeat(64)}`, dir);
  t.throws(() => writeResultSync('other', 'x', dir), { code: 'RESULT_UNDECLARED' }, 'a result the Task does not declare');
  process.env[RESULT_LIMITS_ENV] = 'list=12,bad entry';
  t.throws(() => declaredResultLimits(), { code: 'RESULT_LIMITS_INVALID' }, 'a malformed list is an error, never "no limits"');
  t.throws(() => writeResultSync('list', '[]', dir), { code: 'RESULT_LIMITS_INVALID' });
});

t.test('without declared limits, the 1024-byte default applies', async (t) => {
  const before = process.env[RESULT_LIMITS_ENV];
  delete process.env[RESULT_LIMITS_ENV];
  t.teardown(() => {
    if (before !== undefined) process.env[RESULT_LIMITS_ENV] = before;
  });
  t.equal(declaredResultLimits(), undefined);
  t.equal(resultLimit('anything'), 1024);
});

function withEnv(t: Test, values: Record<string, string>): void {
  const before = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  t.teardown(() => {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}

t.test('results sharing a pool may each take it all, and together no more', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'result-shared-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  withEnv(t, { [RESULT_LIMITS_ENV]: 'a=10,b=10,c=3', [RESULT_SHARED_ENV]: '10:a,b' });
  writeResultSync('a', '1234567890', dir);
  t.throws(() => writeResultSync('b', 'x', dir), { code: 'RESULT_TOO_LARGE', message: /a, b would take 11 bytes .* together/ }, 'a already took the pool');
  writeResultSync('a', '12345', dir);
  writeResultSync('b', '12345', dir);
  t.throws(() => writeResultSync('b', '12345"', dir), { code: 'RESULT_TOO_LARGE' }, 'counted escaped: the quote takes two bytes');
  writeResultSync('c', 'abc', dir);
  t.equal(readFileSync(join(dir, 'b'), 'utf8'), '12345');
  process.env[RESULT_SHARED_ENV] = '10:a';
  t.throws(() => writeResultSync('a', '1', dir), { code: 'RESULT_LIMITS_INVALID' }, 'a pool of one is malformed, never "no pool"');
});

t.test('a StepAction writes each result to the path Tekton gives it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'result-paths-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  withEnv(t, { [RESULT_LIMITS_ENV]: 'a=10,b=10', [RESULT_SHARED_ENV]: '10:a,b', [RESULT_PATHS_ENV]: `a=${dir}/step-x/results/a,b=${dir}/step-x/results/b` });
  writeResultSync('a', '123456');
  t.equal(readFileSync(join(dir, 'step-x', 'results', 'a'), 'utf8'), '123456', 'the folder is made and the file written there');
  t.throws(() => writeResultSync('b', '12345'), { code: 'RESULT_TOO_LARGE' }, 'the pool counts the other results at their own paths');
  process.env[RESULT_LIMITS_ENV] = 'a=10,b=10,c=10';
  t.throws(() => writeResultSync('c', '1'), { code: 'RESULT_UNDECLARED' }, 'a result without a path is not declared by the step');
  process.env[RESULT_PATHS_ENV] = `a=relative/a`;
  t.throws(() => writeResultSync('a', '1'), { code: 'RESULT_LIMITS_INVALID' }, 'a relative path is malformed');
  process.env[RESULT_PATHS_ENV] = `a=${dir}/../a`;
  t.throws(() => writeResultSync('a', '1'), { code: 'RESULT_LIMITS_INVALID' }, 'a path with .. is malformed');
});
