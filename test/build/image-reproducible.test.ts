import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildStepImage } from '../../src/build/image.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageManifest } from '../../src/oci/media-types.ts';
import { bundleProgram, freshLayerCache, repoCacheDir } from '../harness/step-image.ts';

const EPOCH = 1_700_000_000;
const program = await bundleProgram(`console.log(JSON.stringify({ hello: process.argv.slice(2) }));\n`);
const other = await bundleProgram(`console.log('another step');\n`);

async function blobs(layout: OciLayout): Promise<Map<string, Buffer>> {
  const dir = join(layout.dir, 'blobs', 'sha256');
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name))] as const)));
}

t.test('two clean builds give identical digests and identical blobs', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'image-repro-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const builds = [];
  for (const name of ['first', 'second']) {
    // Each build gets its own layer cache: nothing built is reused, only downloads are.
    const cache = await freshLayerCache();
    t.teardown(cache.cleanup);
    const layout = await OciLayout.create(join(work, name));
    const image = await buildStepImage({ layout, program: 'repro', bundle: program, cacheDir: cache.dir, sourceDateEpoch: EPOCH });
    // workspace-guard also carries its own Debian packages (getfattr): that layer must be reproducible too.
    const guard = await buildStepImage({ layout, program: 'workspace-guard', bundle: other, cacheDir: cache.dir, sourceDateEpoch: EPOCH });
    builds.push({ layout, image, guard });
  }
  const [first, second] = builds as [(typeof builds)[0], (typeof builds)[0]];
  t.equal(second.image.index.digest, first.image.index.digest, 'index digest');
  t.equal(second.guard.index.digest, first.guard.index.digest, 'index digest of an image with step packages');
  for (const platform of first.guard.platforms) {
    const layers = (await first.layout.readJson<ImageManifest>(platform.manifest.digest)).layers.map((l) => l.digest);
    const plain = (await first.layout.readJson<ImageManifest>(first.image.platforms.find((p) => p.arch === platform.arch)!.manifest.digest)).layers.map((l) => l.digest);
    t.equal(layers.length, 4, `${platform.arch}: base, node, step packages, program`);
    t.same(layers.slice(0, 2), plain.slice(0, 2), `${platform.arch}: the runtime layers are the same as every other image's`);
  }
  t.same(
    second.image.platforms.map((p) => [p.arch, p.manifest.digest]),
    first.image.platforms.map((p) => [p.arch, p.manifest.digest]),
    'manifest digest per platform',
  );
  t.same(first.image.platforms.map((p) => p.arch), ['amd64', 'arm64'], 'both platforms by default');
  const [a, b] = [await blobs(first.layout), await blobs(second.layout)];
  t.same([...b.keys()], [...a.keys()], 'same set of blobs');
  t.ok([...a].every(([name, bytes]) => b.get(name)?.equals(bytes)), 'every blob byte-identical');
  t.equal(await readFile(join(second.layout.dir, 'index.json'), 'utf8'), await readFile(join(first.layout.dir, 'index.json'), 'utf8'), 'index.json identical');
});

t.test('a later SOURCE_DATE_EPOCH changes the digest; program layers are separate and runtime layers shared', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'image-share-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // The repository cache: after the first run its runtime layers are reused, which is the point of this test.
  const layout = await OciLayout.create(work);
  const common = { layout, cacheDir: repoCacheDir, platforms: ['amd64' as const] };
  const one = await buildStepImage({ ...common, program: 'one', bundle: program, sourceDateEpoch: EPOCH });
  const two = await buildStepImage({ ...common, program: 'two', bundle: other, sourceDateEpoch: EPOCH });
  const again = await buildStepImage({ ...common, program: 'one', bundle: program, sourceDateEpoch: EPOCH });
  t.equal(again.index.digest, one.index.digest, 'rebuilding with nothing changed gives the same digest');

  const layersOf = async (digest: `sha256:${string}`) => (await layout.readJson<ImageManifest>(digest)).layers.map((l) => l.digest);
  const [l1, l2] = [await layersOf(one.platforms[0]!.manifest.digest), await layersOf(two.platforms[0]!.manifest.digest)];
  t.equal(l1.length, 3, 'base, node, program');
  t.same(l2.slice(0, 2), l1.slice(0, 2), 'runtime layers are shared between step images');
  t.not(l2[2], l1[2], 'each program is its own layer');
  t.same(
    (await layout.index()).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']),
    ['step-one', 'step-two'],
    'each image is tagged step-<program>',
  );

  const later = await buildStepImage({ ...common, program: 'one', bundle: program, sourceDateEpoch: EPOCH + 1 });
  t.not(later.index.digest, one.index.digest, 'timestamps come from SOURCE_DATE_EPOCH');
});

t.test('program names must be DNS-1123 labels', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'image-name-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const layout = await OciLayout.create(work);
  for (const bad of ['../escape', 'Upper', '-dash', 'a/b', '']) {
    await t.rejects(
      buildStepImage({ layout, program: bad, bundle: program, cacheDir: work, sourceDateEpoch: EPOCH }),
      { code: 'IMAGE_PROGRAM_NAME' },
      `rejects ${JSON.stringify(bad)}`,
    );
  }
});
