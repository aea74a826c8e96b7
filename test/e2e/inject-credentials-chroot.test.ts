// The real inject-credentials image, unpacked by umoci and run under chroot
// as uid 65532 with the args and env Tekton would give it from the catalog
// Task YAML: inject writes scoped credentials with the right modes, a
// re-injection presents the first one's digest, cleanup leaves the workspace
// empty (after success and after a half-failed run), every generated planted
// workspace is refused, and no secret reaches any output. There is no /proc
// in the chroot, so this also covers the path-based fallback of the
// descriptor-relative file access.
import { createHash } from 'node:crypto';
import { chown, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { findLeaks, token } from '../credentials/fixtures.ts';
import { listTree, prepareOutside, rotatedCases, snapshotOutside, type MarkerAfter } from '../credentials/planted.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';

type ParamValues = Record<string, string | string[]>;
const STEP_UID = 65532;
const inside = { secret: '/workspace/secret', credentials: '/workspace/credentials', outside: '/workspace/outside', results: '/tekton/results' };

async function setUp(t: Test) {
  const built = await builtCatalog();
  const { record, spec, defaults } = await loadCatalogTask(built, 'inject-credentials');
  const step = spec.steps[0]!;
  t.equal(step.image, record.images['inject-credentials']!.reference, 'the Task runs the image the index records');
  const image = await unpackImage(built.layoutDir, 'step-inject-credentials', 'amd64');
  t.equal(image.config.User, '65532:65532');
  const outside = (path: string) => join(image.rootfs, path);
  // The workspaces are memory-backed, as the emptyDir (medium: Memory) the Task recommends: fsync costs nothing there.
  await mkdir(outside('/workspace'), { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', outside('/workspace')]);
  t.teardown(async () => {
    await execa('umount', ['-l', outside('/workspace')], { reject: false });
    await image.cleanup();
  });
  await mkdir(outside(inside.secret), { recursive: true, mode: 0o755 });
  await resetCredentials(outside(inside.credentials));
  const secrets: string[] = [];

  const run = async (t: Test, params: ParamValues) => {
    const { args, env } = renderStep(step, {
      params: { ...defaults, ...params },
      workspaces: { secret: inside.secret, credentials: inside.credentials },
    });
    await rm(outside(inside.results), { recursive: true, force: true });
    await mkdir(outside(inside.results), { recursive: true });
    await chown(outside(inside.results), STEP_UID, STEP_UID);
    const result = await runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: inside.results }, timeoutMs: 60_000 });
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
  return { rootfs: image.rootfs, outside, run, secrets };
}

async function resetCredentials(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  await chown(path, STEP_UID, STEP_UID);
}

const dockerParams = { 'secret-name': 'registry-push-creds', 'secret-type': 'kubernetes.io/dockerconfigjson', 'allowed-hosts': ['ghcr.io'], expires: '15m' };
const opaqueParams = { 'secret-type': 'Opaque', 'opaque-files': ['token=api'] };

t.test('inject-credentials from its real image: scoped files with the right modes, a re-injection, then an empty workspace', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const { outside, run, secrets } = await setUp(t);
  const ghcr = token('ghp');
  const evil = token('evil');
  const apiToken = token('api');
  const secretJson = JSON.stringify({
    auths: { 'https://ghcr.io/v2/': { auth: Buffer.from(`bot:${ghcr}`).toString('base64') }, 'evil.example.com': { username: 'x', password: evil } },
  });
  await writeFile(join(outside(inside.secret), '.dockerconfigjson'), secretJson, { mode: 0o444 });
  await writeFile(join(outside(inside.secret), 'token'), apiToken, { mode: 0o444 });
  secrets.push(ghcr, evil, `bot:${ghcr}`, secretJson, apiToken);

  const injected = await run(t, dockerParams);
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
    t.equal(info.uid, STEP_UID, `${path} is owned by the step user`);
  }
  const digest = createHash('sha256').update(await readFile(join(creds, 'docker/config.json'))).digest('hex');
  t.same(JSON.parse(injected.results.fingerprints!), { 'docker/config.json': `sha256:${digest}` });
  t.same(JSON.parse(injected.results.paths!), ['docker/config.json']);
  const injectionDigest = injected.results['injection-digest']!;
  t.match(injectionDigest, /^sha256:[0-9a-f]{64}$/);

  const refused = await run(t, opaqueParams);
  t.equal(refused.code, 1, 'a second injection without the digest is refused');
  t.match(refused.stderr, /\[CREDENTIALS_WORKSPACE_NOT_EMPTY\].*previous-injection-digest is empty/);

  const again = await run(t, { ...opaqueParams, 'previous-injection-digest': injectionDigest });
  t.equal(again.code, 0, again.stderr);
  t.equal(await readFile(join(creds, 'files/api'), 'utf8'), apiToken);
  t.not(again.results['injection-digest'], injectionDigest, 'the re-injection returns a new digest');

  const cleaned = await run(t, { mode: 'cleanup' });
  t.equal(cleaned.code, 0, cleaned.stderr);
  t.same(await readdir(creds), [], 'cleanup leaves the workspace empty');
  t.equal(cleaned.results.fingerprints, '{}');
  t.equal(cleaned.results['injection-digest'], '');
});

t.test('from the real image: cleanup after an injection that ran out of space half-way', async (t) => {
  if (!requireRoot(t, 'chroot and a tmpfs mount')) return;
  const { outside, run, secrets } = await setUp(t);
  const small = token('small');
  const big = `${token('big')}${'x'.repeat(32 * 1024)}`;
  await writeFile(join(outside(inside.secret), 'small'), small, { mode: 0o444 });
  await writeFile(join(outside(inside.secret), 'big'), big, { mode: 0o444 });
  secrets.push(small, big);
  const creds = outside(inside.credentials);
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=12k,mode=0755', 'tmpfs', creds]);
  t.teardown(() => execa('umount', [creds], { reject: false }));
  await chown(creds, STEP_UID, STEP_UID);
  const failed = await run(t, { 'secret-type': 'Opaque', 'opaque-files': ['small=a', 'big=b'] });
  t.equal(failed.code, 3, failed.stderr);
  t.match(failed.stderr, /\[CREDENTIALS_WRITE_FAILED\]: cannot write files\/b .*ENOSPC/);
  t.ok((await readdir(creds, { recursive: true })).includes('files/a'), 'the injection stopped half-way');
  const cleaned = await run(t, { mode: 'cleanup' });
  t.equal(cleaned.code, 0, cleaned.stderr);
  t.same(await readdir(creds), [], 'cleanup empties the half-written workspace');
});

t.test('from the real image: every generated planted workspace is refused, and cleanup empties it and nothing else', async (t) => {
  if (!requireRoot(t, 'chroot, and planting as the step user')) return;
  const { outside, run, secrets } = await setUp(t);
  const ghcr = token('ghp');
  const apiToken = token('api');
  await writeFile(join(outside(inside.secret), '.dockerconfigjson'), JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from(`bot:${ghcr}`).toString('base64') } } }), { mode: 0o444 });
  await writeFile(join(outside(inside.secret), 'token'), apiToken, { mode: 0o444 });
  secrets.push(ghcr, apiToken);
  const creds = outside(inside.credentials);
  const sentinels = outside(inside.outside);

  const genuine = await run(t, dockerParams);
  t.equal(genuine.code, 0, genuine.stderr);
  const digest = genuine.results['injection-digest']!;
  const snapshot = outside('/workspace/genuine-snapshot');
  await execa('cp', ['-a', creds, snapshot]);

  const prepare = async (copyGenuine: boolean) => {
    await resetCredentials(creds);
    if (copyGenuine) await execa('cp', ['-a', `${snapshot}/.`, creds]);
    await rm(sentinels, { recursive: true, force: true });
    await prepareOutside(sentinels, STEP_UID);
    return { creds, outside: sentinels, outsideSeen: inside.outside, uid: STEP_UID, gid: STEP_UID, foreignUid: 65534 };
  };
  const cleanupAndCheck = async (t: Test, markerAfter: MarkerAfter) => {
    const before = await snapshotOutside(sentinels);
    const cleaned = await run(t, { mode: 'cleanup' });
    t.equal(cleaned.code, markerAfter === 'invalid' || markerAfter === 'expired' ? 1 : 0, `cleanup exit code (marker ${markerAfter}): ${cleaned.stderr}`);
    t.same(await listTree(creds), [], 'cleanup leaves the workspace empty');
    t.same(await snapshotOutside(sentinels), before, 'nothing outside the workspace changed');
  };

  let runs = 0;
  // Every case runs in process; here every class, each kind of entry in another place than the step-program test puts it.
  for (const plantedCase of rotatedCases(1)) {
    t.test(plantedCase.name, async (t) => {
      if (!plantedCase.needsGenuine) {
        await plantedCase.plant(await prepare(false));
        const fresh = await run(t, dockerParams);
        t.equal(fresh.code, 1, 'an injection without a digest is a violation');
        t.match(fresh.stderr, /violation \[CREDENTIALS_WORKSPACE_NOT_EMPTY\]: .* and previous-injection-digest is empty/);
        t.notOk((await listTree(creds)).includes('docker/config.json'), 'no credential was written');
        runs += 1;
        // Cleanup of the same planted entries runs below, on top of the genuine injection; a forged marker alone reads differently.
        if (plantedCase.markerAfterFresh !== 'none') {
          await cleanupAndCheck(t, plantedCase.markerAfterFresh);
          runs += 1;
        }
      }
      await plantedCase.plant(await prepare(true));
      const again = await run(t, { ...opaqueParams, 'previous-injection-digest': digest });
      t.equal(again.code, 1, 'a re-injection with the genuine digest is a violation');
      t.match(again.stderr, /violation \[CREDENTIALS_WORKSPACE_TAMPERED\]: the credentials workspace is not what the injection with previous-injection-digest sha256:[0-9a-f]{64} left/);
      t.notOk((await listTree(creds)).includes('files/api'), 'the new credential was not written');
      await cleanupAndCheck(t, plantedCase.markerAfter);
      runs += 2;
    });
  }
  t.teardown(() => t.comment(`${runs} runs of the real image on planted workspaces`));
});
