import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../harness/shared.ts';
import { buildFixtureCatalog } from '../publish/layout-fixture.ts';

const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

t.test('every command has --help', async (t) => {
  for (const command of ['publish', 'show-task', 'build', 'list', 'release']) {
    const result = await run(command, '--help');
    t.equal(result.code, 0, command);
    t.match(result.stdout, new RegExp(`Usage: tekton-catalog ${command}`));
  }
  const main = (await run('--help')).stdout;
  for (const command of ['build', 'release', 'publish', 'list', 'show-task']) t.match(main, new RegExp(`\\n  ${command} `), `the main help lists ${command}`);
});

t.test('help examples name a Task the catalog has, with a semver version', async (t) => {
  const help = (await run('show-task', '--help')).stdout;
  const examples = [...help.matchAll(/tasks\/([a-z-]+):(\S+?)@/g)];
  t.ok(examples.length > 0, 'the help shows a full reference');
  for (const [, task, version] of examples) {
    t.ok(['validate-params', 'verify-image', 'inject-credentials', 'workspace-guard'].includes(task!), `${task} is one of ours`);
    t.match(version, /^\d+\.\d+\.\d+$/);
  }
});

t.test('usage mistakes exit 2 with one clear line and no stack trace', async (t) => {
  const mistakes = [
    ['nope'],
    ['publish', '--registry', 'example.com/x', '--plain-http'],
    ['publish', '--registry', 'example.com'],
    ['publish', '--registry', 'https://example.com/x'],
    ['build', '--registry', 'example.com'],
    ['build', '--registry', 'Example.com/x'],
    ['show-task'],
    ['show-task', 'a', 'b', 'c'],
    ['list', 'a', 'b'],
    ['release'],
    ['publish', '--bogus'],
  ];
  for (const args of mistakes) {
    const result = await run(...args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, /^tekton-catalog: error \[USAGE/);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack');
  }
  const bare = await run('publish', '--registry', 'example.com');
  t.match(bare.stderr, /has no namespace after the host\n  hint: add a namespace: --registry "example.com\/catalog"/);
});

t.test('show-task prints a Task from a bundle in a layout, byte for byte', async (t) => {
  const fixture = await buildFixtureCatalog({ registry: 'registry.example.com/cli' });
  t.teardown(() => rm(fixture.dir, { recursive: true, force: true }));
  const result = await run('show-task', 'bundle-hello-task-0.2.0', 'hello-task', '--layout', fixture.layoutDir);
  t.equal(result.code, 0);
  t.equal(result.stdout, fixture.taskYaml['hello-task@0.2.0']);
  const named = await run('show-task', 'bundle-hello-task-0.2.0', '--layout', fixture.layoutDir);
  t.equal(named.stdout, fixture.taskYaml['hello-task@0.2.0'], 'the name defaults to the Task the ref name holds');
  const missing = await run('show-task', 'bundle-hello-task-0.2.0', 'nope', '--layout', fixture.layoutDir);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /BUNDLE_RESOURCE_NOT_FOUND/);
});

t.test('list shows a local catalog: versions, status and bundle references', async (t) => {
  const fixture = await buildFixtureCatalog({ registry: 'registry.example.com/cli', statuses: { 'hello-task@0.1.0': 'released' } });
  t.teardown(() => rm(fixture.dir, { recursive: true, force: true }));
  const result = await run('list', '--catalog', fixture.catalogDir);
  t.equal(result.code, 0);
  t.match(result.stdout, /^catalog .*: 3 Task versions\nTASK\s+VERSION\s+STATUS\s+REFERENCE\n/);
  t.match(result.stdout, new RegExp(`hello-task\\s+0\\.1\\.0\\s+released\\s+registry\\.example\\.com/cli/tasks/hello-task:0\\.1\\.0@${fixture.bundles['hello-task@0.1.0']!.digest}`));
  t.match(result.stdout, /world-task\s+0\.1\.0\s+draft/);
  const json = JSON.parse((await run('list', '--catalog', fixture.catalogDir, '--json')).stdout) as { versions: { task: string; version: string }[] };
  t.same(json.versions.map((v) => `${v.task}@${v.version}`), ['hello-task@0.1.0', 'hello-task@0.2.0', 'world-task@0.1.0']);
});

t.test('release marks a version released from the command line and prints the tag to create', async (t) => {
  const fixture = await buildFixtureCatalog({ registry: 'registry.example.com/cli' });
  t.teardown(() => rm(fixture.dir, { recursive: true, force: true }));
  const result = await run('release', 'world-task', '--catalog', fixture.catalogDir);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^released world-task 0\.1\.0 {2}registry\.example\.com\/cli\/tasks\/world-task:0\.1\.0@sha256:/);
  t.match(result.stdout, /git tag world-task-v0\.1\.0/);
  t.match((await run('list', '--catalog', fixture.catalogDir)).stdout, /world-task\s+0\.1\.0\s+released/);
});
