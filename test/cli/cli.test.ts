import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../harness/shared.ts';
import { buildFixtureLayout } from '../publish/layout-fixture.ts';

const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'src/cli/main.ts'), ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

t.test('every command has --help', async (t) => {
  for (const command of ['publish', 'show-task', 'build']) {
    const result = await run(command, '--help');
    t.equal(result.code, 0, command);
    t.match(result.stdout, new RegExp(`Usage: tekton-catalog ${command}`));
  }
  t.match((await run('--help')).stdout, /show-task/);
});

t.test('usage mistakes exit 2 with one clear line and no stack trace', async (t) => {
  for (const args of [['nope'], ['publish'], ['publish', '--registry', 'example.com/x', '--plain-http'], ['show-task', 'only-one'], ['publish', '--bogus']]) {
    const result = await run(...args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, /^tekton-catalog: error \[USAGE/);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack');
  }
});

t.test('show-task prints a Task from a bundle in a layout, byte for byte', async (t) => {
  const fixture = await buildFixtureLayout();
  t.teardown(() => rm(fixture.dir, { recursive: true, force: true }));
  const result = await run('show-task', 'bundle-hello-task-0.2', 'hello-task', '--layout', fixture.dir);
  t.equal(result.code, 0);
  t.equal(result.stdout, fixture.taskYaml['hello-task@0.2']);
  const missing = await run('show-task', 'bundle-hello-task-0.2', 'nope', '--layout', fixture.dir);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /BUNDLE_RESOURCE_NOT_FOUND/);
});
