// Publish benchmark: the whole built catalog (dist/oci, or a small fixture if
// there is no build) pushed to a loopback docker-registry cold and warm,
// each as a ratio to `skopeo copy` of the same OCI layouts in the same run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OciLayout } from '../../src/oci/layout.ts';
import { Annotation } from '../../src/oci/media-types.ts';
import { publishLayout } from '../../src/publish/publish.ts';
import { repoRoot } from '../../test/harness/shared.ts';
import { startRegistry } from '../../test/harness/registry.ts';
import { buildFixtureLayout } from '../../test/publish/layout-fixture.ts';
import { figure, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'publishing the built catalog to a loopback registry, cold and warm (vs skopeo copy)';

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export async function run(): Promise<BenchSection> {
  const built = join(repoRoot, 'dist', 'oci');
  let layoutDir = built;
  let cleanup = async () => {};
  if (!existsSync(join(built, 'index.json'))) {
    const fixture = await buildFixtureLayout({ sharedLayerBytes: 8_000_000 });
    layoutDir = fixture.dir;
    cleanup = () => rm(fixture.dir, { recursive: true, force: true });
  }
  const refs = (await (await OciLayout.open(layoutDir)).index()).manifests
    .map((m) => m.annotations?.[Annotation.refName])
    .filter((r): r is string => r !== undefined);

  const ours = await startRegistry();
  const theirs = await startRegistry();
  try {
    const publish = () => publishLayout({ layoutDir, registry: `${ours.host}/bench`, plainHttp: true });
    const copyAll = () => {
      for (const ref of refs) {
        execFileSync('skopeo', ['copy', '--all', '--preserve-digests', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:${ref}`, `docker://${theirs.host}/bench/${ref}:x`], { stdio: 'ignore' });
      }
    };
    const coldOurs = await timed(publish);
    const coldSkopeo = await timed(copyAll);
    const warmOurs = await timed(publish);
    const warmSkopeo = await timed(copyAll);
    const source = layoutDir === built ? 'dist/oci' : 'test fixture (no dist/oci)';
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
    await cleanup();
  }
}

if (import.meta.main) {
  const section = await run();
  for (const f of section.figures) console.log(`${f.name}: ${f.valueMs.toFixed(0)} ms vs ${f.baseline}: ${f.baselineMs.toFixed(0)} ms (ratio ${f.ratio.toFixed(2)})`);
}
