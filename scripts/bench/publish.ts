// Publish benchmark: the whole catalog, built for a loopback docker-registry
// (or a small fixture if the build cannot run), pushed there cold and warm,
// each as a ratio to `skopeo copy` of the same OCI layouts in the same run.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildCatalog } from '../../src/build/catalog.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { Annotation } from '../../src/oci/media-types.ts';
import { publishCatalog } from '../../src/publish/publish.ts';
import { repoRoot } from '../../test/harness/shared.ts';
import { startRegistry } from '../../test/harness/registry.ts';
import { buildFixtureCatalog } from '../../test/publish/layout-fixture.ts';
import { figure, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'publishing the built catalog to a loopback registry, cold and warm (vs skopeo copy)';

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export async function run(): Promise<BenchSection> {
  const ours = await startRegistry();
  const theirs = await startRegistry();
  const work = await mkdtemp(join(tmpdir(), 'bench-publish-'));
  try {
    // Publish pushes only to the registry a build was made for: build the catalog for this one.
    let catalogDir = join(work, 'catalog');
    let layoutDir = join(work, 'dist', 'oci');
    let source = 'the catalog, built for the bench registry';
    try {
      await buildCatalog({ repoRoot, registry: `${ours.host}/bench`, catalogDir, distDir: join(work, 'dist') });
    } catch (error) {
      const fixture = await buildFixtureCatalog({ registry: `${ours.host}/bench`, dir: join(work, 'fixture'), sharedLayerBytes: 8_000_000 });
      ({ catalogDir, layoutDir } = fixture);
      source = `test fixture (the build failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
    }
    const refs = (await (await OciLayout.open(layoutDir)).index()).manifests
      .map((m) => m.annotations?.[Annotation.refName])
      .filter((r): r is string => r !== undefined);
    const publish = () => publishCatalog({ catalogDir, layoutDir, plainHttp: true });
    const copyAll = () => {
      for (const ref of refs) {
        execFileSync('skopeo', ['copy', '--all', '--preserve-digests', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:${ref}`, `docker://${theirs.host}/bench/${ref}:x`], { stdio: 'ignore' });
      }
    };
    const coldOurs = await timed(publish);
    const coldSkopeo = await timed(copyAll);
    const warmOurs = await timed(publish);
    const warmSkopeo = await timed(copyAll);
    return {
      title: 'Publish',
      figures: [
        figure(`publish ${refs.length} artefacts, cold`, 'skopeo copy --all of the same layouts (cold)', coldOurs, coldSkopeo, { notes: source }),
        figure(`publish ${refs.length} artefacts, warm (nothing to push)`, 'skopeo copy --all again (warm)', warmOurs, warmSkopeo, { notes: source }),
      ],
    };
  } finally {
    await ours.stop();
    await theirs.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const section = await run();
  for (const f of section.figures) console.log(`${f.name}: ${f.valueMs.toFixed(0)} ms vs ${f.baseline}: ${f.baselineMs.toFixed(0)} ms (ratio ${f.ratio.toFixed(2)})`);
}
