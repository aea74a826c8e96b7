// Catalog build time: from clean (no dist/, no cached layers; downloads kept,
// since they measure the network, not the build) and with nothing changed.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { atMostSeconds, commandMs, figure, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'catalog build time, from clean and with nothing changed (vs node -e 0)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function timeBuild(args: string[]): number {
  const start = performance.now();
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.ts'), '--quiet', ...args], { cwd: repoRoot, stdio: 'ignore' });
  return performance.now() - start;
}

export async function run(): Promise<BenchSection> {
  const work = await mkdtemp(join(tmpdir(), 'bench-build-'));
  try {
    const catalog = join(work, 'catalog');
    await cp(join(repoRoot, 'catalog'), catalog, { recursive: true });
    const dist = join(work, 'dist');
    const cache = join(work, 'cache');
    // Share only the download cache with the repository's, so "clean" rebuilds every layer.
    await cp(join(repoRoot, '.cache', 'downloads'), join(cache, 'downloads'), { recursive: true }).catch(() => {});
    const args = ['--catalog', catalog, '--dist', dist, '--cache', cache];
    const nodeStart = await commandMs(process.execPath, ['-e', '0']);
    const clean = timeBuild(args);
    const unchanged = Math.min(timeBuild(args), timeBuild(args));
    return {
      title: 'Catalog build (`npm run build`)',
      figures: [
        figure('build from clean (layers rebuilt, downloads cached)', 'node -e 0', clean, nodeStart, { goal: atMostSeconds(30) }),
        figure('build with nothing changed', 'node -e 0', unchanged, nodeStart, { goal: atMostSeconds(3) }),
      ],
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
