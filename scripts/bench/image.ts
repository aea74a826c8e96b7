/**
 * Step image sizes per architecture, compressed (what a node pulls) and
 * uncompressed (what it stores unpacked), for the real validate-params
 * program, with the share of each layer. Sizes are exact byte counts, so
 * they need no baseline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleStep } from '../../src/build/bundle-step.ts';
import { buildStepImage } from '../../src/build/image.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageManifest } from '../../src/oci/media-types.ts';
import { sourceDateEpoch } from '../../src/oci/tar-layer.ts';
import { printSection, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'step image sizes per architecture and layer (exact bytes, no baseline)';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const PROGRAM = 'validate-params';
const LAYER_NAMES = ['base (glibc, libstdc++, CA roots, users)', 'node runtime', `program (${PROGRAM}.mjs)`];

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export async function run(): Promise<BenchSection> {
  const work = await mkdtemp(join(tmpdir(), 'bench-image-'));
  try {
    const layout = await OciLayout.create(work);
    const bundle = await bundleStep(repoRoot, PROGRAM);
    const image = await buildStepImage({
      layout,
      program: PROGRAM,
      bundle: bundle.files,
      cacheDir: join(repoRoot, '.cache'),
      sourceDateEpoch: sourceDateEpoch(),
    });
    const extra: string[] = [];
    for (const platform of image.platforms) {
      extra.push(`step-${PROGRAM} linux/${platform.arch}: ${mib(platform.compressedSize)} compressed, ${mib(platform.uncompressedSize)} uncompressed`);
      const manifest = await layout.readJson<ImageManifest>(platform.manifest.digest);
      manifest.layers.forEach((layer, position) => {
        extra.push(`  layer ${position + 1} ${LAYER_NAMES[position] ?? ''}: ${mib(layer.size)} compressed`);
      });
    }
    return { title: 'Step image size', figures: [], extra };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printSection(await run());
