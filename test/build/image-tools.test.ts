import { readFile, mkdtemp, rm, stat, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { buildStepImage } from '../../src/build/image.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { requireRoot } from '../harness/shared.ts';
import { bundleProgram, readRuntimeSpec, repoCacheDir, runEntrypoint, unpackImage } from '../harness/step-image.ts';

// What the program sees inside the image, as JSON, so the test can check it from outside.
const PROBE = `
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { getCACertificates } from 'node:tls';
function canWrite(path: string): boolean {
  try { writeFileSync(path, 'x'); return true; } catch { return false; }
}
const bundle = readFileSync(process.env.SSL_CERT_FILE ?? '/nonexistent', 'utf8');
console.log(JSON.stringify({
  uid: process.getuid?.(), gid: process.getgid?.(), groups: process.getgroups?.(),
  cwd: process.cwd(), args: process.argv.slice(2), env: process.env,
  bundleCerts: bundle.split('BEGIN CERTIFICATE').length - 1,
  systemCerts: getCACertificates('system').length,
  defaultCerts: getCACertificates('default').length,
  bundledCerts: getCACertificates('bundled').length,
  shell: existsSync('/bin/sh') || existsSync('/usr/bin/sh') || existsSync('/bin/bash'),
  tmpWritable: canWrite('/tmp/probe'),
  appWritable: canWrite('/app/probe'),
  etcWritable: canWrite('/etc/probe'),
  version: process.version,
}));
if (process.argv.includes('--fail')) process.exit(7);
`;

const work = await mkdtemp(join(tmpdir(), 'image-tools-'));
t.teardown(() => rm(work, { recursive: true, force: true }));
const layout = await OciLayout.create(work);
const image = await buildStepImage({
  layout,
  program: 'probe',
  bundle: await bundleProgram(PROBE),
  cacheDir: repoCacheDir,
  sourceDateEpoch: 1_700_000_000,
});

t.test('skopeo reads the multi-arch index with both platforms', async (t) => {
  const raw = JSON.parse((await execa('skopeo', ['inspect', '--raw', `oci:${work}:step-probe`])).stdout);
  t.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.same(
    raw.manifests.map((m: { platform: unknown }) => m.platform),
    [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
  );
  for (const arch of ['amd64', 'arm64']) {
    const inspected = JSON.parse((await execa('skopeo', ['inspect', '--override-arch', arch, `oci:${work}:step-probe`])).stdout);
    t.equal(inspected.Architecture, arch, `${arch} config`);
    t.equal(inspected.Layers.length, 3, `${arch}: three layers`);
    t.equal(inspected.Labels['org.opencontainers.image.title'], 'step-probe');
  }
  // umoci cannot pick a platform itself, so it must refuse the multi-arch tag rather than guess.
  const ambiguous = await execa('umoci', ['stat', '--image', `${work}:step-probe`], { reject: false });
  t.not(ambiguous.exitCode, 0, 'umoci sees more than one manifest behind the tag');
});

t.test('umoci unpacks the amd64 image with the intended owners and modes', async (t) => {
  if (!requireRoot(t, 'umoci unpack keeps owners only as root')) return;
  const unpacked = await unpackImage(work, 'step-probe', 'amd64');
  t.teardown(unpacked.cleanup);
  const { rootfs, config } = unpacked;
  t.same(config.Entrypoint, ['/usr/local/bin/node', '/app/probe.mjs']);
  t.equal(config.User, '65532:65532');
  const spec = await readRuntimeSpec(rootfs);
  t.same(spec.process?.user && [spec.process.user.uid, spec.process.user.gid], [65532, 65532], 'umoci read the user');
  t.same(spec.process?.args, ['/usr/local/bin/node', '/app/probe.mjs'], 'umoci read the entrypoint');

  const mode = async (path: string) => (await lstat(join(rootfs, path))).mode & 0o7777;
  t.equal(await mode('tmp'), 0o1777, '/tmp is world-writable and sticky');
  t.equal((await stat(join(rootfs, 'home/nonroot'))).uid, 65532, '/home/nonroot belongs to nonroot');
  t.equal(await mode('usr/local/bin/node'), 0o755);
  t.equal((await stat(join(rootfs, 'usr/local/bin/node'))).uid, 0, 'node belongs to root');
  t.equal(await mode('app/probe.mjs'), 0o644);
  t.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^nonroot:x:65532:65532:/m);
  for (const doc of ['libc6', 'gcc-12-base', 'ca-certificates']) {
    t.ok((await stat(join(rootfs, 'usr/share/doc', doc, 'copyright'))).isFile(), `${doc} copyright shipped`);
  }
  await t.rejects(stat(join(rootfs, 'bin/sh')), { code: 'ENOENT' }, 'no shell');
  await t.rejects(stat(join(rootfs, 'usr/lib/x86_64-linux-gnu/gconv')), { code: 'ENOENT' }, 'unused glibc parts left out');
});

t.test('the entrypoint runs in the unpacked rootfs under chroot as 65532', async (t) => {
  if (!requireRoot(t, 'chroot')) return;
  const { rootfs, config, cleanup } = await unpackImage(work, 'step-probe', 'amd64');
  t.teardown(cleanup);
  const run = await runEntrypoint(rootfs, config, { args: ['a b', '$(params.x)'], env: { PARAM_X: 'value' } });
  t.equal(run.code, 0, `exit 0 (stderr: ${run.stderr.slice(0, 500)})`);
  const seen = JSON.parse(run.stdout);
  t.equal(seen.uid, 65532);
  t.equal(seen.gid, 65532);
  t.same(seen.groups, [65532], 'no supplementary groups');
  t.equal(seen.cwd, '/home/nonroot', 'WorkingDir applies');
  t.same(seen.args, ['a b', '$(params.x)'], 'args arrive verbatim, no shell in between');
  t.same(Object.keys(seen.env).sort(), ['HOME', 'NODE_ENV', 'NODE_USE_SYSTEM_CA', 'PARAM_X', 'PATH', 'SSL_CERT_FILE'], 'only image env plus ours, and HOME');
  t.equal(seen.env.HOME, '/home/nonroot', "HOME from the image's /etc/passwd, as runc sets it when neither image nor step does");
  t.equal(seen.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt');
  t.equal(seen.version, 'v24.21.0', 'the pinned node');
  t.ok(seen.bundleCerts > 100, `CA bundle has ${seen.bundleCerts} certificates`);
  t.ok(seen.systemCerts >= seen.bundleCerts, 'node reads the CA bundle as its system store');
  t.ok(seen.defaultCerts > seen.bundledCerts, 'and trusts it in addition to its compiled-in roots');
  t.equal(seen.shell, false, 'no shell');
  t.equal(seen.tmpWritable, true, '/tmp writable');
  t.equal(seen.appWritable, false, '/app not writable by the step user');
  t.equal(seen.etcWritable, false, '/etc not writable by the step user');

  const failing = await runEntrypoint(rootfs, config, { args: ['--fail'] });
  t.equal(failing.code, 7, 'exit codes come through');
  const asRootCwd = await runEntrypoint(rootfs, config, { cwd: '/' });
  t.equal(JSON.parse(asRootCwd.stdout).cwd, '/', 'plain chroot starts in /');
});

t.test('the sizes reported match the blobs', async (t) => {
  for (const platform of image.platforms) {
    const manifest = await layout.readJson<{ config: { size: number }; layers: { size: number }[] }>(platform.manifest.digest);
    t.equal(platform.compressedSize, manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0), `${platform.arch} compressed`);
    t.ok(platform.uncompressedSize > platform.compressedSize, `${platform.arch} uncompressed is larger`);
  }
});
