import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import t from 'tap';
import { buildCatalogBundles, buildTaskBundle, catalogBundleTag } from '../../src/bundle/build.ts';
import { readBundleContents, readBundleResource } from '../../src/bundle/read.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { Annotation, MediaType, type ImageManifest } from '../../src/oci/media-types.ts';
import { gzipDeterministic } from '../../src/oci/tar-layer.ts';
import { taskYaml } from '../publish/layout-fixture.ts';

type TestContext = { teardown(fn: () => unknown): void };

async function freshLayout(t: TestContext): Promise<OciLayout> {
  const dir = await mkdtemp(join(tmpdir(), 'bundle-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return OciLayout.create(dir);
}

const task = (name: string, version = '0.1.0') => ({ apiVersion: 'tekton.dev/v1', kind: 'Task', name, yaml: taskYaml(name, version) });

async function tarEntries(gz: Buffer): Promise<{ name: string; content: Buffer }[]> {
  const entries: { name: string; content: Buffer }[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        entries.push({ name: header.name, content: Buffer.concat(chunks) });
        next();
      });
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  ex.end(gunzipSync(gz));
  await done;
  return entries;
}

t.test('a Task bundle follows the contract and is reproducible', async (t) => {
  const a = await freshLayout(t);
  const b = await freshLayout(t);
  const resources = [task('git-clone'), { ...task('other'), kind: 'task' }];
  const annotations = { 'org.opencontainers.image.version': '0.1.0', 'org.opencontainers.image.title': 'Git clone' };
  const first = await buildTaskBundle(a, resources, { refName: 'bundle-git-clone-0.1.0', sourceDateEpoch: 1234, annotations });
  const second = await buildTaskBundle(b, resources, { refName: 'bundle-git-clone-0.1.0', sourceDateEpoch: 1234, annotations: Object.fromEntries(Object.entries(annotations).reverse()) });
  t.equal(first.digest, second.digest, 'same inputs, same digest, whatever order the annotations came in');
  const manifest = await a.readJson<ImageManifest>(first.digest);
  t.same(Object.keys(manifest.annotations!), ['org.opencontainers.image.created', 'org.opencontainers.image.title', 'org.opencontainers.image.version'], 'annotations sorted by key');
  t.equal(manifest.annotations!['org.opencontainers.image.created'], '1970-01-01T00:20:34Z', 'created is the epoch, in the form image configs use');
  t.equal(manifest.layers.length, 2, 'one layer per resource');
  t.same(manifest.layers[0]!.annotations, {
    [Annotation.tektonApiVersion]: 'tekton.dev/v1',
    [Annotation.tektonKind]: 'task',
    [Annotation.tektonName]: 'git-clone',
  });
  t.equal(manifest.layers[0]!.mediaType, MediaType.layerTarGzip, 'gzip, never zstd');
  const entries = await tarEntries(await a.readBlob(manifest.layers[0]!.digest));
  t.same(entries.map((e) => e.name), ['git-clone'], 'exactly one entry, named after the resource');
  t.equal(entries[0]!.content.toString('utf8'), resources[0]!.yaml, 'the YAML bytes exactly');
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${a.dir}:bundle-git-clone-0.1.0`], { encoding: 'utf8' })) as { Digest: string };
  t.equal(inspected.Digest, first.digest, 'skopeo reads the bundle from the layout');
});

t.test('bundles refuse what the contract forbids', async (t) => {
  const layout = await freshLayout(t);
  const many = Array.from({ length: 21 }, (_, i) => task(`t${i}`));
  await t.rejects(buildTaskBundle(layout, many, { refName: 'x', sourceDateEpoch: 0 }), { code: 'BUNDLE_TOO_MANY_OBJECTS' });
  await t.rejects(buildTaskBundle(layout, [task('a'), task('a')], { refName: 'x', sourceDateEpoch: 0 }), { code: 'BUNDLE_RESOURCE_DUPLICATE' });
  await t.rejects(buildTaskBundle(layout, [{ ...task('a'), name: 'b' }], { refName: 'x', sourceDateEpoch: 0 }), { code: 'BUNDLE_RESOURCE_INVALID' }, 'YAML name must match');
  await t.rejects(buildTaskBundle(layout, [{ ...task('a'), kind: 'Tasks' }], { refName: 'x', sourceDateEpoch: 0 }), { code: 'BUNDLE_RESOURCE_INVALID' }, 'plural kind');
  await t.rejects(buildTaskBundle(layout, [], { refName: 'x', sourceDateEpoch: 0 }), { code: 'BUNDLE_EMPTY' });
});

t.test('the catalog bundle holds one version per Task, splits past 20, and its tags never read as versions', async (t) => {
  const layout = await freshLayout(t);
  const tasks = Array.from({ length: 45 }, (_, i) => ({ ...task(`task-${String(i).padStart(2, '0')}`), version: '0.1.0' }));
  const bundles = await buildCatalogBundles(layout, tasks.reverse(), { sourceDateEpoch: 0, annotations: (group) => ({ 'org.opencontainers.image.version': group.map((g) => g.name).join(',') }) });
  t.same(bundles.map((b) => b.tag), ['latest', 'latest-part-2', 'latest-part-3']);
  t.same(bundles.map((b) => b.refName), ['catalog-latest', 'catalog-latest-part-2', 'catalog-latest-part-3']);
  t.same(bundles.map((b) => b.names.length), [20, 20, 5]);
  t.equal(bundles[0]!.tasks[0], 'task-00@0.1.0', 'sorted by name');
  const manifest = await layout.readJson<ImageManifest>(bundles[2]!.descriptor.digest);
  t.equal(manifest.annotations!['org.opencontainers.image.version'], 'task-40,task-41,task-42,task-43,task-44', 'each part gets its own annotations');
  const read = await readBundleResource({ from: layout, ref: 'catalog-latest' }, 'task-00', 'task');
  t.equal(read.data.toString('utf8'), taskYaml('task-00', '0.1.0'));
  await t.rejects(buildCatalogBundles(layout, [{ ...task('a'), version: '0.1.0' }, { ...task('a'), version: '0.2.0' }], { sourceDateEpoch: 0 }), { code: 'BUNDLE_RESOURCE_DUPLICATE' }, 'one version per Task');
  for (let part = 1; part <= 30; part++) t.notMatch(catalogBundleTag(part), /^\d/, `part ${part}: ${catalogBundleTag(part)} does not start like a version`);
});

t.test('readBundleContents lists every object of a bundle, as tkn bundle list does', async (t) => {
  const layout = await freshLayout(t);
  await buildTaskBundle(layout, [task('alpha'), task('beta')], { refName: 'b', sourceDateEpoch: 0, annotations: { 'org.opencontainers.image.title': 'two' } });
  const contents = await readBundleContents({ from: layout, ref: 'b' });
  t.same(contents.resources.map((r) => `${r.kind}/${r.name}`), ['task/alpha', 'task/beta']);
  t.equal(contents.resources[1]!.data.toString('utf8'), taskYaml('beta', '0.1.0'));
  t.equal(contents.annotations['org.opencontainers.image.title'], 'two');
});

t.test('the reader resolves like Tekton: case-insensitive kind, exact name, first match, raw fallback', async (t) => {
  const layout = await freshLayout(t);
  await buildTaskBundle(layout, [task('alpha')], { refName: 'b', sourceDateEpoch: 0 });
  t.equal((await readBundleResource({ from: layout, ref: 'b' }, 'alpha', 'TASK')).data.toString(), taskYaml('alpha', '0.1.0'));
  await t.rejects(readBundleResource({ from: layout, ref: 'b' }, 'Alpha', 'task'), { code: 'BUNDLE_RESOURCE_NOT_FOUND' }, 'names match exactly');
  await t.rejects(readBundleResource({ from: layout, ref: 'b' }, 'alpha', 'pipeline'), { code: 'BUNDLE_RESOURCE_NOT_FOUND' });

  // Hand-made bundle: a raw (non-tar) layer, then a duplicate name whose first match must win.
  const raw = Buffer.from('kind: Task\nraw: true\n');
  const annotations = (name: string, kind = 'task') => ({ [Annotation.tektonApiVersion]: 'tekton.dev/v1', [Annotation.tektonKind]: kind, [Annotation.tektonName]: name });
  const rawLayer = await layout.writeBlob(await gzipDeterministic(raw), MediaType.layerTarGzip, annotations('raw'));
  const second = await layout.writeBlob(await gzipDeterministic(Buffer.from('second')), MediaType.layerTarGzip, annotations('raw'));
  const { descriptor: config } = await layout.writeJson({}, MediaType.imageConfig);
  const { descriptor } = await layout.writeJson({ schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [rawLayer, second] }, MediaType.imageManifest);
  const resolved = await readBundleResource({ from: layout, ref: descriptor.digest }, 'raw', 'Task');
  t.ok(resolved.raw, 'not a tar: raw bytes');
  t.equal(resolved.data.toString(), raw.toString(), 'the first matching layer wins');

  const { descriptor: plural } = await layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [{ ...rawLayer, annotations: annotations('raw', 'tasks') }] },
    MediaType.imageManifest,
  );
  await t.rejects(readBundleResource({ from: layout, ref: plural.digest }, 'raw', 'tasks'), { code: 'BUNDLE_INVALID' }, 'non-compliant bundles are refused as Tekton does');
});
