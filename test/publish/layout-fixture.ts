import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogBundles, buildTaskBundle } from '../../src/bundle/build.ts';
import { emptyIndex, renderCatalogIndex, versionYamlPath, type CatalogIndex, type VersionRecord } from '../../src/build/catalog-index.ts';
import { bundleRefName, LAYOUT_REGISTRY_ANNOTATION, stepRefName } from '../../src/build/dist-layout.ts';
import { sha256Digest, type Digest } from '../../src/oci/digest.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, type Descriptor } from '../../src/oci/media-types.ts';
import { buildTarLayer } from '../../src/oci/tar-layer.ts';

/**
 * A small catalog shaped like `npm run build`'s output: catalog/index.json
 * and an OCI layout (dist/oci) with two multi-arch step images sharing a
 * runtime layer, one Task bundle per recorded version (hello-task 0.1.0 and
 * 0.2.0, world-task 0.1.0) and a catalog bundle. Layer content is
 * pseudo-random (incompressible), so uploads are big enough to be chunked
 * with a small chunk size. The newest versions record the layout's images;
 * hello-task 0.1.0 records none unless `oldImage` is given, which it then
 * records as an image this build does not hold (an older version's).
 */
export interface FixtureCatalog {
  dir: string;
  catalogDir: string;
  layoutDir: string;
  layout: OciLayout;
  index: CatalogIndex;
  images: Record<string, Descriptor>;
  bundles: Record<string, Descriptor>;
  taskYaml: Record<string, string>;
}

export const FIXTURE_VERSIONS = [
  ['hello-task', '0.1.0', 'hello'],
  ['hello-task', '0.2.0', 'hello'],
  ['world-task', '0.1.0', 'world'],
] as const;

export function taskYaml(name: string, version: string, extra = ''): string {
  return [
    'apiVersion: tekton.dev/v1',
    'kind: Task',
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    `    app.kubernetes.io/version: "${version}"`,
    'spec:',
    `  description: Test Task ${name} ${version}${extra}`,
    '  steps:',
    '    - name: run',
    `      image: registry.invalid/steps/${name}@sha256:${'0'.repeat(64)}`,
    '',
  ].join('\n');
}

export function noise(seed: string, bytes: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < bytes; i++) chunks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(chunks).subarray(0, bytes);
}

export async function buildFixtureCatalog(options: {
  registry: string;
  dir?: string;
  sharedLayerBytes?: number;
  variant?: string;
  statuses?: Record<string, 'draft' | 'released'>;
  oldImage?: Descriptor;
}): Promise<FixtureCatalog> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'publish-fixture-')));
  const catalogDir = join(dir, 'catalog');
  const layoutDir = join(dir, 'dist', 'oci');
  const layout = await OciLayout.create(layoutDir);
  await layout.annotate({ [LAYOUT_REGISTRY_ANNOTATION]: options.registry });
  const variant = options.variant ?? '';
  const epoch = 1_700_000_000;
  const shared = await buildTarLayer([{ type: 'file', path: 'usr/lib/runtime.bin', content: noise('runtime', options.sharedLayerBytes ?? 200_000) }], epoch);
  const sharedDescriptor = await layout.writeBlob(shared.compressed, MediaType.layerTarGzip);

  const images: Record<string, Descriptor> = {};
  for (const program of ['hello', 'world']) {
    const manifests: Descriptor[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const app = await buildTarLayer([{ type: 'file', path: `app/${program}.mjs`, content: Buffer.from(`// ${program} ${arch}${variant}\n`) }], epoch);
      const appDescriptor = await layout.writeBlob(app.compressed, MediaType.layerTarGzip);
      const config = {
        created: new Date(epoch * 1000).toISOString(),
        architecture: arch,
        os: 'linux',
        config: { User: '65532', Entrypoint: ['node', `/app/${program}.mjs`] },
        rootfs: { type: 'layers', diff_ids: [shared.diffId, app.diffId] },
      };
      const { descriptor: configDescriptor } = await layout.writeJson(config, MediaType.imageConfig);
      const { descriptor } = await layout.writeJson(
        { schemaVersion: 2, mediaType: MediaType.imageManifest, config: configDescriptor, layers: [sharedDescriptor, appDescriptor] },
        MediaType.imageManifest,
      );
      manifests.push({ ...descriptor, platform: { architecture: arch, os: 'linux' } });
    }
    const { descriptor } = await layout.writeJson({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests }, MediaType.imageIndex);
    await layout.tag(stepRefName(program), descriptor);
    images[program] = descriptor;
  }

  const index = emptyIndex(options.registry);
  const bundles: Record<string, Descriptor> = {};
  const yamls: Record<string, string> = {};
  const newest = new Map<string, { name: string; version: string; yaml: string }>();
  for (const [name, version, program] of FIXTURE_VERSIONS) {
    const yaml = taskYaml(name, version, variant);
    const key = `${name}@${version}`;
    yamls[key] = yaml;
    const annotations = { 'org.opencontainers.image.version': version };
    const bundle = await buildTaskBundle(layout, [{ apiVersion: 'tekton.dev/v1', kind: 'Task', name, yaml }], {
      refName: bundleRefName(name, version),
      sourceDateEpoch: epoch,
      annotations,
    });
    bundles[key] = bundle;
    const isOld = key === 'hello-task@0.1.0';
    const image = isOld ? options.oldImage : images[program];
    const record: VersionRecord = {
      status: options.statuses?.[key] ?? 'draft',
      path: versionYamlPath(name, version),
      contentDigest: sha256Digest(yaml),
      minPipelinesVersion: '0.57.0',
      images:
        image === undefined
          ? {}
          : { [program]: { reference: `${options.registry}/steps/${program}:${version}@${image.digest}`, tag: version, index: image.digest, platforms: {} } },
      bundle: { reference: `${options.registry}/tasks/${name}:${version}@${bundle.digest}`, digest: bundle.digest, annotations },
      interface: { params: [], results: [], workspaces: [] },
    };
    const entry = (index.tasks[name] ??= { latest: version, versions: {} });
    entry.versions[version] = record;
    entry.latest = version;
    newest.set(name, { name, version, yaml });
    await mkdir(join(catalogDir, 'task', name, version), { recursive: true });
    await writeFile(join(catalogDir, record.path), yaml);
  }
  const catalogBundles = await buildCatalogBundles(
    layout,
    [...newest.values()].map((t) => ({ apiVersion: 'tekton.dev/v1', kind: 'Task', ...t })),
    { sourceDateEpoch: epoch },
  );
  bundles.catalog = catalogBundles[0]!.descriptor;
  index.catalogBundles = catalogBundles.map((b) => ({
    reference: `${options.registry}/catalog:${b.tag}@${b.descriptor.digest}`,
    tag: b.tag,
    digest: b.descriptor.digest,
    tasks: b.tasks,
  }));
  await writeFile(join(catalogDir, 'index.json'), renderCatalogIndex(index));
  return { dir, catalogDir, layoutDir, layout, index, images, bundles, taskYaml: yamls };
}

export function digestOf(descriptor: Descriptor): Digest {
  return descriptor.digest;
}
