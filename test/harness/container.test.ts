// The chroot harness behaves like a Kubernetes container with our
// securityContext where our Tasks depend on it, checked with a real step
// image: the root filesystem is read-only (a mount, not file modes: the
// test writes where the image's owner and modes would allow it), only the
// volumes Tekton mounts are writable, HOME and the working directory are
// what the runtime sets, and the harness runs the YAML's command.
import t from 'tap';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtCatalog } from './catalog-build.ts';
import { loadCatalogTask, renderStep } from './catalog-task.ts';
import { requireRoot } from './shared.ts';
import { runEntrypoint, unpackImage } from './step-image.ts';
import { ImageCache, runTaskRun } from './task-run.ts';

const NODE = '/usr/local/bin/node';

/** A program that tries to write each path and reports what happened, plus what it sees of its process. */
const PROBE = `const fs = require('fs');
const writes = {};
for (const path of JSON.parse(process.argv[1])) {
  try { fs.writeFileSync(path, 'x'); writes[path] = 'written'; } catch (error) { writes[path] = error.code; }
}
console.log(JSON.stringify({ writes, home: process.env.HOME, cwd: process.cwd(), uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() }));`;

t.test('a step sees a read-only root with writable Tekton volumes, HOME and workingDir as the runtime sets them', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const image = await unpackImage(built.layoutDir, 'step-validate-params', 'amd64');
  t.teardown(image.cleanup);
  t.equal((await stat(join(image.rootfs, 'home', 'nonroot'))).uid, 65532, '/home/nonroot belongs to the step user, so only a read-only mount can stop a write there');

  const readOnly = ['/probe', '/app/probe', '/etc/probe', '/usr/probe', '/home/nonroot/probe'];
  const writable = ['/tmp/probe', '/workspace/probe', '/tekton/results/probe', '/tekton/home/probe'];
  const run = await runEntrypoint(image.rootfs, image.config, { command: [NODE, '-e', PROBE], args: [JSON.stringify([...readOnly, ...writable])] });
  t.equal(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout);
  for (const path of readOnly) t.equal(seen.writes[path], 'EROFS', `${path}: read-only file system`);
  for (const path of writable) t.equal(seen.writes[path], 'written', `${path}: writable`);
  t.equal(await readFile(join(image.rootfs, 'tekton', 'results', 'probe'), 'utf8'), 'x', 'what the step wrote under /tekton/results is where the test reads it');
  t.equal(seen.home, '/home/nonroot', "HOME: Tekton sets none (since v0.24, pipeline#2013), so runc takes the user's home from the image's /etc/passwd");
  t.equal(seen.cwd, '/home/nonroot', "workingDir: Tekton sets none (pipeline#1836), so the image's WorkingDir applies");
  t.same([seen.uid, seen.gid], [65532, 65532]);

  const overridden = await runEntrypoint(image.rootfs, image.config, { command: [NODE, '-e', PROBE], args: ['[]'], env: { HOME: '/tekton/home' }, cwd: '/' });
  t.same([JSON.parse(overridden.stdout).home, JSON.parse(overridden.stdout).cwd], ['/tekton/home', '/'], 'a HOME in the env and a step workingDir win');

  const offline = await runEntrypoint(image.rootfs, image.config, {
    command: [NODE, '-e', 'require("net").connect(443, "127.0.0.1").on("error", (e) => { console.log(e.code); })'],
    network: 'none',
  });
  t.equal(offline.stdout.trim(), 'ENETUNREACH', 'network none: not even loopback');
});

t.test('volumes mount where Tekton mounts them, read-only when declared so', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const image = await unpackImage(built.layoutDir, 'step-validate-params', 'amd64');
  const host = await mkdtemp(join(tmpdir(), 'volume-'));
  t.teardown(async () => {
    await image.cleanup();
    await rm(host, { recursive: true, force: true });
  });
  await mkdir(join(host, 'ro'));
  await mkdir(join(host, 'rw'));
  await chmod(join(host, 'rw'), 0o777);
  await writeFile(join(host, 'ro', 'file'), 'mounted');
  const run = await runEntrypoint(image.rootfs, image.config, {
    command: [NODE, '-e', `${PROBE}\nconsole.log(fs.readFileSync('/workspace/ro/file', 'utf8'))`],
    args: [JSON.stringify(['/workspace/ro/new', '/workspace/rw/new'])],
    mounts: [
      { path: '/workspace/ro', source: join(host, 'ro'), readOnly: true },
      { path: '/workspace/rw', source: join(host, 'rw') },
    ],
  });
  t.equal(run.code, 0, run.stderr);
  const [probe, content] = run.stdout.split('\n');
  t.same(JSON.parse(probe!).writes, { '/workspace/ro/new': 'EROFS', '/workspace/rw/new': 'written' });
  t.equal(content, 'mounted', 'the read-only volume is readable');
});

t.test('the harness runs the YAML command and never the image Entrypoint', async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const { spec, defaults } = await loadCatalogTask(built, 'validate-params');
  const image = await unpackImage(built.layoutDir, 'step-validate-params', 'amd64');
  t.teardown(image.cleanup);
  const step = spec.steps[0]!;
  const withoutCommand = { ...step, command: undefined };
  const rendered = renderStep(withoutCommand, { params: { ...defaults, rules: '{}', values: [] }, context: { 'task.name': 'v' } });
  await t.rejects(runEntrypoint(image.rootfs, image.config, { args: rendered.args, env: rendered.env }), /no command in the Task YAML/, 'a step without command fails');
  const echo = renderStep({ ...step, command: [NODE, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))'] }, { params: { ...defaults, rules: '{}', values: ['a=1'] } , context: { 'task.name': 'v' } });
  const run = await runEntrypoint(image.rootfs, image.config, { args: echo.args, env: echo.env });
  t.same(JSON.parse(run.stdout), ['a=1', '--elements', ''], "the rendered args ran under the YAML's command, not /app/validate-params.mjs");

  const images = ImageCache.forCatalog(built.layoutDir, built.index);
  t.teardown(() => images.cleanup());
  await t.rejects(
    runTaskRun({ taskName: 'validate-params', spec: { ...spec, steps: [withoutCommand] }, params: { rules: '{}' }, workspaces: {}, context: { taskRunName: 'r' }, images }),
    /has no command/,
  );
});

t.test("Tekton's entrypoint: results go into the termination message, which must fit", async (t) => {
  if (!requireRoot(t, 'mount namespaces and chroot')) return;
  const built = await builtCatalog();
  const { spec } = await loadCatalogTask(built, 'validate-params');
  const images = ImageCache.forCatalog(built.layoutDir, built.index);
  t.teardown(() => images.cleanup());
  const writer = (size: number) => ({
    ...spec,
    params: [],
    results: [{ name: 'big' }],
    steps: [{ ...spec.steps[0]!, args: [], env: [], command: [NODE, '-e', `require('fs').writeFileSync('/tekton/results/big', 'x'.repeat(${size}))`] }],
  });
  const small = await runTaskRun({ taskName: 'demo', spec: writer(100), params: {}, workspaces: {}, context: { taskRunName: 'small' }, images });
  t.ok(small.succeeded);
  t.equal(small.results.big, 'x'.repeat(100));
  t.match(small.steps[0]!.terminationMessage, /^\[\{"key":"big","value":"x{100}","type":1\},\{"key":"StartedAt","value":"[^"]+","type":3\}\]$/);
  const big = await runTaskRun({ taskName: 'demo', spec: writer(4000), params: {}, workspaces: {}, context: { taskRunName: 'big' }, images });
  t.notOk(big.succeeded, 'the program exited 0, but Tekton fails the step');
  t.equal(big.steps[0]!.code, 0);
  t.match(big.steps[0]!.terminationError, /above max allowed size 4096/);
});
