// Run by `npm test` before tap: builds the catalog from this tree into
// .cache/test-build (a copy of catalog/ plus dist/), so tests can compare it
// with the committed catalog and run the real step images.
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCatalog } from '../src/build/catalog.ts';
import { formatError } from '../src/step/run.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testBuildDir = join(repoRoot, '.cache', 'test-build');

async function main(): Promise<void> {
  const catalogDir = join(testBuildDir, 'catalog');
  const distDir = join(testBuildDir, 'dist');
  await rm(join(testBuildDir, 'report.json'), { force: true });
  await rm(catalogDir, { recursive: true, force: true });
  await mkdir(testBuildDir, { recursive: true });
  // Start from the committed catalog so the versioning checks see the committed index.
  await cp(join(repoRoot, 'catalog'), catalogDir, { recursive: true }).catch(() => mkdir(catalogDir, { recursive: true }));
  const report = await buildCatalog({ repoRoot, catalogDir, distDir, log: (line) => process.stdout.write(`test-prepare: ${line}\n`) });
  await writeFile(join(testBuildDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`test-prepare: catalog built into ${testBuildDir}\n`);
}

main().catch((error: unknown) => {
  const { text, code } = formatError('test-prepare', error);
  process.stderr.write(`${text}\n`);
  process.exit(code);
});
