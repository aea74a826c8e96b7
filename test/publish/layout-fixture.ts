import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogBundles, buildTaskBundle } from '../../src/bundle/build.ts';
import type { Digest } from '../../src/oci/digest.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, type Descriptor } from '../../src/oci/media-types.ts';
import { buildTarLayer } from '../../src/oci/tar-layer.ts';

/**
 * A small build output shaped like `npm run build`'s: two multi-arch step
 * images sharing a runtime layer, one Task bundle per Task version and a
 * catalog bundle. Layer content is pseudo-random (incompressible), so
 * uploads are big enough to be chunked with a small chunk size.
 */
export interface FixtureLayout {
  layout: OciLayout;
  dir: string;
  images: Record<string, Descriptor>;
  bundles: Record<string, Descriptor>;
  taskYaml: Record<string, string>;
}

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

export async function buildFixtureLayout(options: { dir?: string; sharedLayerBytes?: number; variant?: string } = {}): Promise<FixtureLayout> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'publish-fixture-')));
  const layout = await OciLayout.create(dir);
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
    await layout.tag(`step-${program}`, descriptor);
    images[program] = descriptor;
  }

  const bundles: Record<string, Descriptor> = {};
  const yamls: Record<string, string> = {};
  const catalogTasks = [];
  for (const [name, version] of [['hello-task', '0.1'], ['hello-task', '0.2'], ['world-task', '0.1']] as const) {
    const yaml = taskYaml(name, version, variant);
    yamls[`${name}@${version}`] = yaml;
    bundles[`${name}@${version}`] = await buildTaskBundle(layout, [{ apiVersion: 'tekton.dev/v1', kind: 'Task', name, yaml }], {
      refName: `bundle-${name}-${version}`,
      sourceDateEpoch: epoch,
    });
    catalogTasks.push({ apiVersion: 'tekton.dev/v1', kind: 'Task', name, version, yaml });
  }
  const [catalog] = await buildCatalogBundles(layout, catalogTasks, { sourceDateEpoch: epoch });
  bundles.catalog = catalog!.descriptor;
  return { layout, dir, images, bundles, taskYaml: yamls };
}

export function digestOf(descriptor: Descriptor): Digest {
  return descriptor.digest;
}
