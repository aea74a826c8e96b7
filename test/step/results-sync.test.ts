import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MAX_RESULT_BYTES, writeResultSync } from '../../src/step/results.ts';

t.test('writeResultSync: same checks and atomic write as writeResult', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'results-sync-')), 'nested', 'results');
  writeResultSync('VALIDATED', 'true', dir);
  t.equal(await readFile(join(dir, 'VALIDATED'), 'utf8'), 'true', 'creates the folder and writes the value');
  t.equal((await stat(join(dir, 'VALIDATED'))).mode & 0o777 & ~process.umask(), 0o644 & ~process.umask());
  t.same(await readdir(dir), ['VALIDATED'], 'no temp file left behind');

  writeResultSync('VALIDATED', 'false', dir);
  t.equal(await readFile(join(dir, 'VALIDATED'), 'utf8'), 'false', 'an existing result is replaced whole');
  writeResultSync('EXACT', 'x'.repeat(MAX_RESULT_BYTES), dir);

  t.throws(() => writeResultSync('BIG', 'x'.repeat(MAX_RESULT_BYTES + 1), dir), { code: 'RESULT_TOO_LARGE' });
  t.throws(() => writeResultSync('MULTIBYTE', '€'.repeat(342), dir), { code: 'RESULT_TOO_LARGE' }, 'the cap counts UTF-8 bytes, not characters');
  t.throws(() => writeResultSync('../escape', 'x', dir), { code: 'RESULT_NAME_INVALID' });
  t.throws(() => writeResultSync('', 'x', dir), { code: 'RESULT_NAME_INVALID' });
  t.same((await readdir(dir)).sort(), ['EXACT', 'VALIDATED'], 'refused writes leave nothing');
});

t.test('writeResultSync fails loudly when the folder cannot be made', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'results-sync-'));
  const blocker = join(base, 'file');
  await writeFile(blocker, 'not a folder');
  t.throws(() => writeResultSync('VALIDATED', 'true', join(blocker, 'results')), { code: 'ENOTDIR' });
});
