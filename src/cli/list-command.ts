import { resolve } from 'node:path';
import { ExitCode } from '../step/run.ts';
import { parseCommand, stringFlag, usage, type CommandIo, TRUSTED_TOKEN_REALM_FLAG, TRUSTED_TOKEN_REALM_HELP, trustedTokenRealmOptions } from './args.ts';
import { explainRegistryError } from './registry-hints.ts';

export const LIST_HELP = `Usage: tekton-catalog list [<registry/namespace> | <bundle-ref>] [options]
       npm run catalog -- list [...]

Shows what a catalog holds: each Task version, released or draft, with its
digest, as \`tkn bundle list\` shows a bundle.
  (nothing)             the local catalog (catalog/index.json)
  <host[:port]/ns>      a registry namespace the catalog was published to:
                        every version tag under <ns>/tasks/, checked against
                        the catalog index publish pushed (<ns>/catalog-index:latest)
  <bundle-ref>          a catalog or Task bundle, e.g. <ns>/catalog:latest or
                        <ns>/tasks/validate-params:0.1.0@sha256:…: the Tasks in it
Exits 1 when a registry tag holds other content than the index records.

Options:
  --catalog <dir>           the local catalog to list (default catalog)
  --json                    print the listing as JSON
  --docker-config <file>    docker config.json with credentials for the registry host
${TRUSTED_TOKEN_REALM_HELP}
  --plain-http              use HTTP instead of TLS; only for a loopback registry
  -h, --help                show this help
`;

export async function listCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand(
    args,
    {
      catalog: { type: 'string' },
      json: { type: 'boolean' },
      'docker-config': { type: 'string' },
      ...TRUSTED_TOKEN_REALM_FLAG,
      'plain-http': { type: 'boolean' },
    },
    LIST_HELP,
    true,
  );
  if (values.help) {
    io.stdout.write(LIST_HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw usage('list takes at most one registry namespace or bundle reference', LIST_HELP.split('\n')[0]!);
  const { listCatalog, renderListing } = await import('../publish/list.ts');
  const plainHttp = values['plain-http'] === true;
  const dockerConfig = stringFlag(values, 'docker-config');
  const target = positionals[0];
  let listing;
  try {
    listing = await listCatalog(target === undefined ? { local: resolve(stringFlag(values, 'catalog') ?? 'catalog') } : { registry: target }, {
      plainHttp,
      ...(dockerConfig === undefined ? {} : { dockerConfigPath: resolve(dockerConfig) }),
      client: trustedTokenRealmOptions(values),
    });
  } catch (error) {
    throw explainRegistryError(error, (target ?? '').split('/')[0]!, plainHttp);
  }
  io.stdout.write(values.json === true ? `${JSON.stringify(listing, null, 2)}\n` : renderListing(listing));
  return listing.problems.length > 0 ? ExitCode.rejected : ExitCode.ok;
}
