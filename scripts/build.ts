// npm run build [-- options]: builds the whole catalog (step bundles, images, Task YAML, bundles, index).
import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildCatalog, DEFAULT_REGISTRY } from '../src/build/catalog.ts';
import { formatError } from '../src/step/run.ts';

const HELP = `Usage: npm run build -- [options]

Builds every Task under tasks/: bundles its step programs with esbuild,
builds reproducible multi-arch step images into dist/oci (an OCI layout),
and writes catalog/task/<name>/<version>/ (Task YAML pinned by digest,
README, samples), the Tekton bundles (dist/oci) and catalog/index.json.

Options:
  --registry <host/namespace>  registry prefix for image and bundle references
                               (default: $TEKTON_CATALOG_REGISTRY or ${DEFAULT_REGISTRY})
  --platform <arch>            build only this architecture (amd64 or arm64);
                               repeatable; default both
  --check                      do not write catalog/; exit 1 if it differs from a fresh build
  --dist <dir>                 build output folder (default dist)
  --catalog <dir>              catalog folder (default catalog)
  --cache <dir>                download and layer cache (default .cache)
  --quiet                      print only the summary
  -h, --help                   show this help

Environment:
  SOURCE_DATE_EPOCH            timestamp for every file and config in the images (default 0)
`;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        registry: { type: 'string' },
        platform: { type: 'string', multiple: true },
        check: { type: 'boolean', default: false },
        dist: { type: 'string' },
        catalog: { type: 'string' },
        cache: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`build: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const platforms = values.platform?.map((arch) => {
    if (arch !== 'amd64' && arch !== 'arm64') throw new Error(`--platform must be amd64 or arm64, not ${JSON.stringify(arch)}`);
    return arch;
  });
  const started = performance.now();
  const report = await buildCatalog({
    repoRoot,
    ...(values.registry ? { registry: values.registry } : {}),
    ...(values.dist ? { distDir: resolve(values.dist) } : {}),
    ...(values.catalog ? { catalogDir: resolve(values.catalog) } : {}),
    ...(values.cache ? { cacheDir: resolve(values.cache) } : {}),
    ...(platforms ? { platforms } : {}),
    check: values.check,
    log: values.quiet ? () => {} : (line) => process.stdout.write(`${line}\n`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const task of report.tasks) process.stdout.write(`${task.name} ${task.version}  ${task.bundle}\n`);
  const drift = [...report.changed, ...report.removed.map((path) => `${path} (removed)`)];
  if (values.check) {
    if (drift.length > 0) {
      process.stderr.write(`build --check: catalog/ differs from a fresh build:\n  ${drift.join('\n  ')}\nrun \`npm run build\` and commit catalog/\n`);
      return 1;
    }
    process.stdout.write(`catalog/ matches a fresh build (${seconds} s)\n`);
    return 0;
  }
  process.stdout.write(
    drift.length > 0 ? `updated ${drift.length} catalog file(s) in ${seconds} s\n` : `catalog/ unchanged (${seconds} s)\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const { text, code } = formatError('build', error);
    process.stderr.write(`${text}\n`);
    process.exit(code);
  },
);
