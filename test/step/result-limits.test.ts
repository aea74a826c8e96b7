// Inside a catalog Task, each result is checked against the bound its Task
// declares (TEKTON_CATALOG_RESULT_LIMITS, written by the generator), counted
// as Tekton's termination message counts it: JSON-escaped.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declaredResultLimits, formatResultLimits, resultLimit, RESULT_LIMITS_ENV, writeResultSync } from '../../src/step/results.ts';

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
