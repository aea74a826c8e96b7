import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CatalogError } from '../errors.ts';
import { ExitCode } from '../step/run.ts';

type Out = { write(text: string | Uint8Array): unknown };

export const BUILD_HELP = `Usage: tekton-catalog build [options]
       npm run build -- [options]

Builds exactly what catalog/index.json records plus the newest version of
every Task under tasks/: that version's step images (reproducible,
multi-arch), its YAML pinned by digest, README and samples; the bundle of
every recorded version (older versions from their committed YAML, which
must give the recorded digest); the catalog bundle; the index, CHANGELOGs
and catalog README. dist/oci is replaced as a whole by a successful build,
so it never holds anything the index does not list.

A released version that would change fails the build with the version to
bump to (patch: same interface; minor: additions; major: breaking).

Options:
  --registry <host/namespace>  registry prefix for image and bundle references, recorded in the
                               index; publish pushes only there
                               (default: $TEKTON_CATALOG_REGISTRY or ghcr.io/hardened-tekton/catalog)
  --platform <arch>            build only this architecture (amd64 or arm64);
                               repeatable; default both
  --base <image>@sha256:<d>    build on an upstream base image pinned by digest instead of the
                               pinned Debian libraries: <registry>/<repository>@sha256:… or
                               oci:<layout-dir>@sha256:… (changes every image digest)
  --base-plain-http            pull the base over plain HTTP (loopback registries only)
  --base-docker-config <file>  docker config.json with credentials for the base's registry
  --base-trusted-token-realm <url>  a token server on another domain that may receive those
                               credentials, e.g. https://auth.example.com (repeatable)
  --check                      write nothing (not even dist/oci); exit 1 if catalog/ differs from a fresh build
  --dist <dir>                 build output folder (default dist)
  --catalog <dir>              catalog folder (default catalog)
  --cache <dir>                download and layer cache (default .cache)
  --quiet                      print only the summary
  -h, --help                   show this help

Environment:
  SOURCE_DATE_EPOCH            timestamp for every file and config in the images (default 0)
`;

/** `npm run build` and `tekton-catalog build`: one implementation, run from the repository root. */
export async function runBuildCommand(args: string[], repoRoot: string, io: { stdout: Out; stderr: Out }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        registry: { type: 'string' },
        platform: { type: 'string', multiple: true },
        base: { type: 'string' },
        'base-plain-http': { type: 'boolean', default: false },
        'base-docker-config': { type: 'string' },
        'base-trusted-token-realm': { type: 'string', multiple: true },
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
    throw new CatalogError('USAGE_BUILD', (error as Error).message, { hint: 'run with --help for the options' });
  }
  if (values.help) {
    io.stdout.write(BUILD_HELP);
    return ExitCode.ok;
  }
  const platforms = values.platform?.map((arch) => {
    if (arch !== 'amd64' && arch !== 'arm64') {
      throw new CatalogError('USAGE_BUILD', `--platform must be amd64 or arm64, not ${JSON.stringify(arch)}`);
    }
    return arch;
  });
  const { buildCatalog } = await import('../build/catalog.ts');
  const started = performance.now();
  const report = await buildCatalog({
    repoRoot,
    ...(values.registry ? { registry: values.registry } : {}),
    ...(values.dist ? { distDir: resolve(values.dist) } : {}),
    ...(values.catalog ? { catalogDir: resolve(values.catalog) } : {}),
    ...(values.cache ? { cacheDir: resolve(values.cache) } : {}),
    ...(platforms ? { platforms } : {}),
    ...(values.base ? { base: values.base } : {}),
    ...(values['base-plain-http'] ? { basePlainHttp: true } : {}),
    ...(values['base-docker-config'] ? { baseDockerConfig: resolve(values['base-docker-config']) } : {}),
    ...(values['base-trusted-token-realm']?.length ? { baseTrustedTokenRealms: values['base-trusted-token-realm'] } : {}),
    check: values.check,
    log: values.quiet ? () => {} : (line) => io.stdout.write(`${line}\n`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const withdrawn of report.withdrawn) io.stdout.write(`withdrawn draft ${withdrawn}\n`);
  for (const task of report.versions) io.stdout.write(`${task.name} ${task.version} (${task.status})  ${task.bundle}\n`);
  const drift = [...report.changed, ...report.removed.map((path) => `${path} (removed)`)];
  if (values.check) {
    if (drift.length > 0) {
      io.stderr.write(`build --check: catalog/ differs from a fresh build:\n  ${drift.join('\n  ')}\nrun \`npm run build\` and commit catalog/\n`);
      return ExitCode.rejected;
    }
    io.stdout.write(`catalog/ matches a fresh build (${seconds} s)\n`);
    return ExitCode.ok;
  }
  io.stdout.write(drift.length > 0 ? `updated ${drift.length} catalog file(s) in ${seconds} s\n` : `catalog/ unchanged (${seconds} s)\n`);
  return ExitCode.ok;
}
