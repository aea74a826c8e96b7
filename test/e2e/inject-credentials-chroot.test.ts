// The real inject-credentials image, unpacked by umoci and run under chroot
// as uid 65532 with the args and env Tekton would give it from the catalog
// Task YAML: inject writes scoped credentials with the right modes, cleanup
// leaves the workspace empty, and no secret reaches any output.
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { findLeaks, token } from '../credentials/fixtures.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';

type ParamValues = Record<string, string | string[]>;

t.test('inject-credentials from its real image: scoped files with the right modes, then an empty workspace', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const built = await builtCatalog();
  const { record, spec, defaults } = await loadCatalogTask(built, 'inject-credentials');
  const step = spec.steps[0]!;
  t.equal(step.image, record.images['inject-credentials']!.reference, 'the Task runs the image the index records');

  const image = await unpackImage(built.layoutDir, 'step-inject-credentials', 'amd64');
  t.teardown(image.cleanup);
  t.equal(image.config.User, '65532:65532');

  const rootfs = image.rootfs;
  const inside = { secret: '/workspace/secret', credentials: '/workspace/credentials', results: '/tekton/results' };
  const outside = (path: string) => join(rootfs, path);
  await mkdir(outside(inside.secret), { recursive: true, mode: 0o755 });
  for (const dir of [inside.credentials, inside.results]) {
    await mkdir(outside(dir), { recursive: true });
    await chown(outside(dir), 65532, 65532);
  }
  const ghcr = token('ghp');
  const evil = token('evil');
  const secretJson = JSON.stringify({
    auths: { 'https://ghcr.io/v2/': { auth: Buffer.from(`bot:${ghcr}`).toString('base64') }, 'evil.example.com': { username: 'x', password: evil } },
  });
  await writeFile(join(outside(inside.secret), '.dockerconfigjson'), secretJson, { mode: 0o444 });
  const secrets = [ghcr, evil, `bot:${ghcr}`, secretJson];

  const run = async (params: ParamValues) => {
    const { args, env } = renderStep(step, {
      params: { ...defaults, ...params },
      workspaces: { secret: inside.secret, credentials: inside.credentials },
    });
    await rm(outside(inside.results), { recursive: true, force: true });
    await mkdir(outside(inside.results));
    await chown(outside(inside.results), 65532, 65532);
    const result = await runEntrypoint(rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: inside.results }, timeoutMs: 60_000 });
    const results: Record<string, string> = {};
    for (const name of await readdir(outside(inside.results))) results[name] = await readFile(join(outside(inside.results), name), 'utf8');
    const outputs = [
      { name: 'stdout', content: result.stdout },
      { name: 'stderr', content: result.stderr },
      ...Object.entries(results).map(([name, content]) => ({ name: `result ${name}`, content })),
    ];
    t.same(findLeaks(outputs, secrets), [], 'no secret in stdout, stderr or results');
    return { ...result, results };
  };

  const injected = await run({
    'secret-name': 'registry-push-creds',
    'secret-type': 'kubernetes.io/dockerconfigjson',
    'allowed-hosts': ['ghcr.io'],
    expires: '15m',
  });
  t.equal(injected.code, 0, injected.stderr);
  const creds = outside(inside.credentials);
  const config = JSON.parse(await readFile(join(creds, 'docker/config.json'), 'utf8'));
  t.same(Object.keys(config.auths), ['ghcr.io'], 'only the allowed registry');
  t.same(findLeaks([{ name: 'config.json', content: JSON.stringify(config) }], [evil]), [], 'the other registry is absent');
  for (const [path, mode] of [
    ['docker', 0o700],
    ['docker/config.json', 0o400],
    ['.inject-credentials', 0o700],
    ['.inject-credentials/manifest.json', 0o400],
    ['.inject-credentials/expires-at', 0o400],
  ] as const) {
    const info = await lstat(join(creds, path));
    t.equal(info.mode & 0o777, mode, `${path} is ${mode.toString(8)}`);
    t.equal(info.uid, 65532, `${path} is owned by the step user`);
  }
  const digest = createHash('sha256').update(await readFile(join(creds, 'docker/config.json'))).digest('hex');
  t.same(JSON.parse(injected.results.fingerprints!), { 'docker/config.json': `sha256:${digest}` });
  t.same(JSON.parse(injected.results.paths!), ['docker/config.json']);

  const cleaned = await run({ mode: 'cleanup' });
  t.equal(cleaned.code, 0, cleaned.stderr);
  t.same(await readdir(creds), [], 'cleanup leaves the workspace empty');
  t.equal(cleaned.results.fingerprints, '{}');
});
