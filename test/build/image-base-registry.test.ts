// The online runtime option: an upstream base image pinned by digest in a
// real registry is pulled (digest-checked) and a step image is built on it.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStepImage } from '../../src/build/image.ts';
import { pullBaseImage } from '../../src/build/image/pull-base.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { requireRoot } from '../harness/shared.ts';
import { bundleProgram, runEntrypoint, unpackImage } from '../harness/step-image.ts';

/** Pushes one tagged multi-arch image from a layout: blobs, then manifests, then the index. */
async function pushImage(layout: OciLayout, refName: string, client: RegistryClient, repository: string) {
  const tagged = (await layout.resolve(refName))!;
  const index = await layout.readJson<ImageIndex>(tagged.digest);
  for (const entry of index.manifests) {
    const manifest = await layout.readJson<ImageManifest>(entry.digest);
    for (const blob of [manifest.config, ...manifest.layers]) {
      await client.pushBlob(repository, blob.digest, () => layout.readBlob(blob.digest));
    }
    await client.putManifest(repository, entry.digest, await layout.readBlob(entry.digest), entry.mediaType);
  }
  await client.putManifest(repository, 'latest', await layout.readBlob(tagged.digest), tagged.mediaType);
  return { digest: tagged.digest, index };
}

t.test('a base image pinned by digest in a registry is pulled and built on', async (t) => {
  if (!requireRegistryTools(t)) return;
  const registry = await startRegistry();
  t.teardown(registry.stop);
  const work = await mkdtemp(join(tmpdir(), 'base-registry-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));

  // Our own validate-params image stands in for an upstream base: it has glibc and node.
  const built = await builtCatalog();
  const source = await OciLayout.open(built.layoutDir);
  const client = new RegistryClient(registry.host, { plainHttp: true });
  t.teardown(() => client.close());
  const base = await pushImage(source, 'step-validate-params', client, 'upstream/base');

  await t.rejects(
    pullBaseImage(`${registry.host}/upstream/base:latest`, { cacheDir: work, platforms: ['amd64'], plainHttp: true }),
    { code: 'IMAGE_BASE_NOT_PINNED' },
    'a base named by tag alone is refused',
  );

  const reference = await pullBaseImage(`${registry.host}/upstream/base@${base.digest}`, {
    cacheDir: work,
    platforms: ['amd64'],
    plainHttp: true,
  });
  t.equal(reference, `oci:${join(work, 'base-images')}@${base.digest}`);

  const layout = await OciLayout.create(join(work, 'layout'));
  const image = await buildStepImage({
    layout,
    program: 'base-probe',
    bundle: await bundleProgram("console.log(`node ${process.versions.node} uid ${process.getuid?.()}`);"),
    cacheDir: join(work, 'cache'),
    sourceDateEpoch: 0,
    platforms: ['amd64'],
    base: reference,
  });
  const baseAmd64 = await source.readJson<ImageManifest>(base.index.manifests.find((m) => m.platform?.architecture === 'amd64')!.digest);
  const ours = await layout.readJson<ImageManifest>(image.platforms[0]!.manifest.digest);
  t.same(
    ours.layers.slice(0, baseAmd64.layers.length).map((l) => l.digest),
    baseAmd64.layers.map((l) => l.digest),
    'the step image starts with every layer of the base',
  );

  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const unpacked = await unpackImage(layout.dir, 'step-base-probe', 'amd64');
  t.teardown(unpacked.cleanup);
  const run = await runEntrypoint(unpacked.rootfs, unpacked.config, { timeoutMs: 60_000 });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^node 24\.\d+\.\d+ uid 65532$/m, 'the program runs on the pulled base as 65532');
});
