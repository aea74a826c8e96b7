import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BuildReport } from '../../src/build/catalog.ts';
import type { CatalogIndex } from '../../src/build/catalog-index.ts';
import { repoRoot } from './shared.ts';

export const testBuildDir = join(repoRoot, '.cache', 'test-build');

export interface BuiltCatalog {
  /** The freshly built catalog (a copy; the committed one is <repo>/catalog). */
  catalogDir: string;
  distDir: string;
  /** The OCI layout with every step image (`step-<program>`) and bundle. */
  layoutDir: string;
  index: CatalogIndex;
  report: BuildReport;
}

/**
 * The catalog as `npm test` built it before tap started (scripts/test-prepare.ts).
 * When a test file runs on its own, builds it first; a lock folder keeps
 * parallel test files from building twice.
 */
export async function builtCatalog(): Promise<BuiltCatalog> {
  const reportPath = join(testBuildDir, 'report.json');
  if (!existsSync(reportPath) || (await isStale(reportPath))) await buildOnce(reportPath);
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as BuildReport;
  const catalogDir = join(testBuildDir, 'catalog');
  const index = JSON.parse(await readFile(join(catalogDir, 'index.json'), 'utf8')) as CatalogIndex;
  return { catalogDir, distDir: join(testBuildDir, 'dist'), layoutDir: join(testBuildDir, 'dist', 'oci'), index, report };
}

/** A build older than any source it comes from would test yesterday's images. */
async function isStale(reportPath: string): Promise<boolean> {
  const built = (await stat(reportPath)).mtimeMs;
  for (const folder of ['src', 'steps', 'tasks', 'stepactions', 'pipelines']) {
    if (!existsSync(join(repoRoot, folder))) continue;
    const entries = await readdir(join(repoRoot, folder), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile() && (await stat(join(entry.parentPath, entry.name))).mtimeMs > built) return true;
    }
  }
  return false;
}

async function buildOnce(reportPath: string): Promise<void> {
  const lock = join(repoRoot, '.cache', 'test-build.lock');
  await mkdir(join(repoRoot, '.cache'), { recursive: true });
  for (let waited = 0; ; waited += 500) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (existsSync(reportPath) && !(await isStale(reportPath))) return;
      if (waited > 600_000) throw new Error(`timed out waiting for ${lock}; remove it if no build is running`);
      await sleep(500);
    }
  }
  try {
    if (!existsSync(reportPath) || (await isStale(reportPath))) {
      execFileSync(process.execPath, [join(repoRoot, 'scripts', 'test-prepare.ts')], { stdio: 'inherit', cwd: repoRoot });
    }
  } finally {
    await rmdir(lock);
  }
}
