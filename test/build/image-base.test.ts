import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildStepImage, parseBaseReference } from '../../src/build/image.ts';
import { RuntimeLayers } from '../../src/build/runtime/layers.ts';
import { loadRuntimeLock } from '../../src/build/runtime/lock.ts';
import { buildImageConfig, buildImageIndex, buildImageManifest, linuxPlatform } from '../../src/oci/image-config.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, type ImageManifest } from '../../src/oci/media-types.ts';
import { requireRoot } from '../harness/shared.ts';
import { bundleProgram, repoCacheDir, runEntrypoint, unpackImage } from '../harness/step-image.ts';

t.test('a base given by tag, by registry name or with a malformed digest is refused', async (t) => {
  t.throws(() => parseBaseReference('oci:/tmp/base:latest'), { code: 'IMAGE_BASE_NOT_PINNED' });
  t.throws(() => parseBaseReference('gcr.io/distroless/cc-debian12:nonroot'), { code: 'IMAGE_BASE_NOT_PINNED' });
  t.throws(() => parseBaseReference(`gcr.io/distroless/cc-debian12@sha256:${'a'.repeat(64)}`), { code: 'IMAGE_BASE_UNSUPPORTED' });
  t.throws(() => parseBaseReference('oci:/tmp/base@sha256:ABC'), { code: 'IMAGE_BASE_INVALID' });
  t.same(parseBaseReference(`oci:/tmp/my@base@sha256:${'b'.repeat(64)}`), { transport: 'oci', dir: '/tmp/my@base', digest: `sha256:${'b'.repeat(64)}` });
});

t.test('a step image builds on an upstream base read from an OCI layout, pinned by digest', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'image-base-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // The upstream base here is a one-layer image made of the Debian runtime base: real libraries, built by a different path.
  const baseLayout = await OciLayout.create(join(work, 'base'));
  const runtime = new RuntimeLayers(await loadRuntimeLock(), repoCacheDir);
  const layer = await runtime.baseLayer(baseLayout, 'amd64', 1_600_000_000);
  const config = await baseLayout.writeJson(
    buildImageConfig({ arch: 'amd64', created: '2020-09-13T12:26:40Z', container: { User: '0' }, layers: [{ diffId: layer.diffId, createdBy: 'upstream' }] }),
    MediaType.imageConfig,
  );
  const manifest = await baseLayout.writeJson(buildImageManifest(config.descriptor, [layer.descriptor]), MediaType.imageManifest);
  const index = await baseLayout.writeJson(buildImageIndex([{ manifest: manifest.descriptor, platform: linuxPlatform('amd64') }]), MediaType.imageIndex);

  const layout = await OciLayout.create(join(work, 'out'));
  const bundle = await bundleProgram(`console.log('on base', process.getuid());\n`);
  const common = { layout, program: 'on-base', bundle, cacheDir: repoCacheDir, sourceDateEpoch: 1_700_000_000, platforms: ['amd64' as const] };
  await t.rejects(buildStepImage({ ...common, base: `oci:${baseLayout.dir}:latest` }), { code: 'IMAGE_BASE_NOT_PINNED' });
  await t.rejects(buildStepImage({ ...common, platforms: ['arm64'], base: `oci:${baseLayout.dir}@${index.descriptor.digest}` }), {
    code: 'IMAGE_BASE_PLATFORM',
  });

  const image = await buildStepImage({ ...common, base: `oci:${baseLayout.dir}@${index.descriptor.digest}` });
  const built = await layout.readJson<ImageManifest>(image.platforms[0]!.manifest.digest);
  t.equal(built.layers.length, 3, 'base layer, node, program');
  t.equal(built.layers[0]!.digest, layer.descriptor.digest, 'the base layer is reused as is');
  const builtConfig = await layout.readJson<{ rootfs: { diff_ids: string[] }; history: { created_by: string }[] }>(built.config.digest);
  t.equal(builtConfig.rootfs.diff_ids[0], layer.diffId);
  t.same(builtConfig.history.map((entry) => entry.created_by).slice(0, 1), ['upstream'], 'base history kept');

  const again = await buildStepImage({ ...common, base: `oci:${baseLayout.dir}@${index.descriptor.digest}` });
  t.equal(again.index.digest, image.index.digest, 'reproducible with a base too');

  if (!requireRoot(t, 'chroot')) return;
  const unpacked = await unpackImage(layout.dir, 'step-on-base', 'amd64');
  t.teardown(unpacked.cleanup);
  const run = await runEntrypoint(unpacked.rootfs, unpacked.config, {});
  t.equal(run.code, 0, run.stderr.slice(0, 300));
  t.equal(run.stdout.trim(), 'on base 65532');
});
