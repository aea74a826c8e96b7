import t from 'tap';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CatalogError, quoteUntrusted } from '../../src/errors.ts';
import { envBoolean, readEnv } from '../../src/step/env.ts';
import { TASK_INPUTS_ENV } from '../../src/step/task-inputs.ts';
import { MAX_RESULT_BYTES, writeResult } from '../../src/step/results.ts';
import { ExitCode, formatError } from '../../src/step/run.ts';

t.test('writeResult writes atomically and refuses oversized results', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'results-'));
  await writeResult('VALIDATED', 'true', dir);
  t.equal(await readFile(join(dir, 'VALIDATED'), 'utf8'), 'true');
  t.same(await readdir(dir), ['VALIDATED'], 'no temp file left behind');
  await t.rejects(writeResult('BIG', 'x'.repeat(MAX_RESULT_BYTES + 1), dir), { code: 'RESULT_TOO_LARGE' });
  await t.rejects(writeResult('../escape', 'x', dir), { code: 'RESULT_NAME_INVALID' });
  t.same(await readdir(dir), ['VALIDATED'], 'failed writes leave nothing');
});

t.test('readEnv names every bad variable and never echoes values', async (t) => {
  const schema = z.object({ MODE: z.enum(['seal', 'verify']), STRICT: envBoolean(true) });
  t.same(readEnv(schema, { MODE: 'seal' }), { MODE: 'seal', STRICT: true });
  t.same(readEnv(schema, { MODE: 'verify', STRICT: 'false' }), { MODE: 'verify', STRICT: false });
  try {
    readEnv(schema, { MODE: 'secret-value-123', STRICT: 'yes' });
    t.fail('expected an error');
  } catch (error) {
    t.ok(error instanceof CatalogError);
    const message = (error as Error).message;
    t.match(message, /MODE/);
    t.match(message, /STRICT/);
    t.notMatch(message, /secret-value-123/, 'the bad value is not echoed');
  }
});

t.test('inside a Task, readEnv names the Task params and workspaces, and says which values the Task set itself', async (t) => {
  const schema = z.object({ MODE: z.enum(['seal', 'verify']), STRICT: envBoolean(true), ROOT: z.string().min(1), LIMITS: z.string().regex(/^x$/) });
  const inputs = { [TASK_INPUTS_ENV]: 'MODE=param:mode STRICT=param:strict ROOT=workspace:source' };
  const bad = { ...inputs, MODE: 'secret-value-123', STRICT: 'yes', ROOT: '', LIMITS: 'y' };
  const error = (() => {
    try {
      readEnv(schema, bad);
    } catch (caught) {
      return caught as CatalogError;
    }
    return undefined;
  })();
  t.equal(error?.code, 'USAGE_ENV');
  t.match(error?.message, /^invalid Task params:/);
  t.match(error?.message, /param "mode": /);
  t.match(error?.message, /param "strict": must be "true" or "false"/);
  t.match(error?.message, /workspace "source" path: /);
  t.match(error?.message, /LIMITS: /, 'a variable the Task sets keeps its name');
  t.notMatch(error?.message, /\bMODE\b|\bSTRICT\b|\bROOT\b/, 'no env var name a pipeline author cannot see');
  t.notMatch(error?.message, /secret-value-123/);
  t.match(error?.hint, /report it as a catalog bug/);
  t.throws(() => readEnv(schema, { ...inputs, MODE: 'x', STRICT: 'true', ROOT: 'r', LIMITS: 'x' }), { hint: /where your Pipeline or TaskRun passes them/ } as unknown as Error);
});

t.test('formatError gives one line per error, with code and exit code, and no stack', async (t) => {
  const usage = formatError('step', new CatalogError('USAGE_ENV', 'bad env', { hint: 'fix it' }));
  t.equal(usage.code, ExitCode.usage);
  t.equal(usage.text, 'step: error [USAGE_ENV]: bad env\n  hint: fix it');
  const failure = formatError('step', new Error('boom'));
  t.equal(failure.code, ExitCode.failure);
  t.notMatch(failure.text, /at .*\.ts:\d+/, 'no stack frames');
});

t.test('quoteUntrusted escapes control, bidi and look-alike characters and truncates', async (t) => {
  t.equal(quoteUntrusted('a\nb'), '"a\\nb"');
  t.equal(quoteUntrusted('\u202Eevil'), '"\\u202eevil"');
  t.equal(quoteUntrusted('\u0430pple'), '"\\u0430pple"', 'Cyrillic a is shown as a code point');
  t.equal(quoteUntrusted('\u0000'), '"\\u0000"');
  const long = quoteUntrusted('x'.repeat(1000), 10);
  t.equal(long, `"${'x'.repeat(10)}"… (1000 chars)`);
});

t.test('formatError lists a zod error by field, as a usage error', async (t) => {
  const parsed = z.object({ mode: z.enum(['seal']) }).safeParse({ mode: 'other' });
  t.notOk(parsed.success);
  const { text, code } = formatError('step', parsed.error);
  t.equal(code, ExitCode.usage);
  t.match(text, /^step: error \[USAGE_INVALID_INPUT\]: invalid input\n {2}mode: /);
  t.notMatch(text, /other/, 'the rejected value is not echoed');
});
