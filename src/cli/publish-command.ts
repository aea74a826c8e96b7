import { join, resolve } from 'node:path';
import { ExitCode } from '../step/run.ts';
import { parseCommand, stringFlag, TRUSTED_TOKEN_REALM_FLAG, TRUSTED_TOKEN_REALM_HELP, trustedTokenRealmOptions, type CommandIo } from './args.ts';
import { explainRegistryError } from './registry-hints.ts';

export const PUBLISH_HELP = `Usage: tekton-catalog publish [options]
       npm run publish -- [options]

Publishes exactly what catalog/index.json lists, from the build's OCI layout
(dist/oci), to the registry the build was made for:
  step images     -> <registry>/steps/<program>:<version>  (the Task version they belong to)
  Task bundles    -> <registry>/tasks/<task>:<version>     (every version the index lists)
  catalog bundle  -> <registry>/catalog:latest             (:latest-part-<n> past 20 Tasks)
  catalog index   -> <registry>/catalog-index:latest       (what \`list\` reads)
The whole plan is decided before anything is pushed. It stops, pushing
nothing, when dist/oci holds anything the index does not list or lacks
anything it does, when --registry is not the build's registry, or when a
version tag in the registry holds other content: a released version never
changes (bump it); a draft's tag moves only with --replace-drafts. Step
images of older versions are not rebuilt; they must already be in the
registry. Safe to re-run: what the registry has is not pushed again.

Options:
  --registry <host/ns>     the build's registry (the default); any other is refused:
                           build for it first (npm run build -- --registry <host/ns>)
  --catalog <dir>          the catalog whose index.json to publish (default catalog)
  --dist <dir>             the build's output folder; the layout is <dir>/oci (default dist)
  --dry-run                print the plan (push, tag, skip or refuse, and why); push nothing
  --replace-drafts         move the tags of draft versions that hold an earlier build
  --record <file>          machine-readable publish record (default <dist>/publish-record.json)
  --docker-config <file>   docker config.json with credentials for the registry host
  --plain-http             use HTTP instead of TLS; only for a loopback registry
${TRUSTED_TOKEN_REALM_HELP}
  -h, --help               show this help
`;

export async function publishCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(
    args,
    {
      registry: { type: 'string' },
      catalog: { type: 'string' },
      dist: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'replace-drafts': { type: 'boolean' },
      record: { type: 'string' },
      'docker-config': { type: 'string' },
      'plain-http': { type: 'boolean' },
      ...TRUSTED_TOKEN_REALM_FLAG,
    },
    PUBLISH_HELP,
  );
  if (values.help) {
    io.stdout.write(PUBLISH_HELP);
    return ExitCode.ok;
  }
  const { publishCatalog, renderSummary, renderPlan, DEFAULT_CATALOG_DIR } = await import('../publish/publish.ts');
  const { readCatalogIndex } = await import('../build/catalog-index.ts');
  const distDir = resolve(stringFlag(values, 'dist') ?? 'dist');
  const catalogDir = resolve(stringFlag(values, 'catalog') ?? DEFAULT_CATALOG_DIR);
  const recordPath = resolve(stringFlag(values, 'record') ?? join(distDir, 'publish-record.json'));
  const plainHttp = values['plain-http'] === true;
  const dryRun = values['dry-run'] === true;
  const registry = stringFlag(values, 'registry');
  const host = (registry ?? (await readCatalogIndex(join(catalogDir, 'index.json')).catch(() => undefined))?.registry ?? '').split('/')[0]!;
  let record;
  try {
    record = await publishCatalog({
      catalogDir,
      layoutDir: join(distDir, 'oci'),
      ...(registry === undefined ? {} : { registry }),
      plainHttp,
      dryRun,
      replaceDrafts: values['replace-drafts'] === true,
      ...(stringFlag(values, 'docker-config') === undefined ? {} : { dockerConfigPath: resolve(stringFlag(values, 'docker-config')!) }),
      ...(dryRun ? {} : { recordPath }),
      client: trustedTokenRealmOptions(values),
      log: (line) => io.stderr.write(`${line}\n`),
    });
  } catch (error) {
    throw explainRegistryError(error, host, plainHttp);
  }
  if (dryRun) {
    io.stdout.write(`${renderPlan(record)}\n`);
    return record.totals.refused > 0 ? ExitCode.rejected : ExitCode.ok;
  }
  io.stdout.write(`${renderSummary(record)}\npublish record: ${recordPath}\n`);
  return ExitCode.ok;
}
