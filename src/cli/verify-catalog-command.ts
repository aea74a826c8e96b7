import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError } from '../errors.ts';
import { ExitCode } from '../step/run.ts';

type Out = { write(text: string | Uint8Array): unknown };

export const VERIFY_CATALOG_HELP = `Usage: tekton-catalog verify-catalog <catalog-or-task-bundle-ref> [options]

Verifies a catalog bundle or Task bundle before you apply anything from it:
  - the bundle is signed by the catalog's identity and carries a SLSA
    provenance naming the catalog's source repository;
  - every image its Tasks run is pinned by digest, signed by the same
    identity, and carries a provenance naming the same source commit.
A tag is resolved to the digest of the manifest fetched; everything after
that is read through the digest.

Options:
  --certificate-identity <san>     default: the catalog's published release identity
  --certificate-oidc-issuer <url>  default: https://token.actions.githubusercontent.com
  --public-key <file>              verify keyed signatures instead (a private catalog)
  --source-repository <url>        default: the catalog's published repository
  --trusted-root <file>            trusted_root.json (default: Sigstore's public-good root)
  --report <file>                  also write the JSON report there
  --json                           print the JSON report instead of the summary
  --docker-config <file>           docker config.json with registry credentials
  --plain-http                     HTTP instead of TLS; only for a loopback registry
  -h, --help                       show this help

Exit codes: 0 verified, 1 rejected (each problem is named with its reason
code), 2 bad options.
`;

export async function runVerifyCatalogCommand(args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        'certificate-identity': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'public-key': { type: 'string' },
        'source-repository': { type: 'string' },
        'trusted-root': { type: 'string' },
        report: { type: 'string' },
        json: { type: 'boolean', default: false },
        'docker-config': { type: 'string' },
        'plain-http': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    throw new CatalogError('USAGE_VERIFY_CATALOG', (error as Error).message, { hint: 'run `tekton-catalog verify-catalog --help`' });
  }
  if (values.help) {
    io.stdout.write(VERIFY_CATALOG_HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) {
    throw new CatalogError('USAGE_VERIFY_CATALOG', 'verify-catalog takes exactly one bundle reference', { hint: 'e.g. tekton-catalog verify-catalog ghcr.io/hardened-tekton/catalog/catalog:1' });
  }
  const [{ verifyCatalogReference }, { renderCatalogSummary }] = await Promise.all([import('../signing/verify-catalog/run.ts'), import('../signing/verify-catalog/report.ts')]);
  const result = await verifyCatalogReference(positionals[0]!, {
    ...(values['certificate-identity'] ? { identity: values['certificate-identity'] } : {}),
    ...(values['certificate-oidc-issuer'] ? { issuer: values['certificate-oidc-issuer'] } : {}),
    ...(values['public-key'] ? { publicKeyPath: resolve(values['public-key']) } : {}),
    ...(values['source-repository'] ? { sourceRepository: values['source-repository'] } : {}),
    ...(values['trusted-root'] ? { trustedRootPath: resolve(values['trusted-root']) } : {}),
    ...(values['docker-config'] ? { dockerConfigPath: resolve(values['docker-config']) } : {}),
    plainHttp: values['plain-http'],
    ...(values.report ? { reportPath: resolve(values.report) } : {}),
  });
  io.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderCatalogSummary(result));
  return result.verified ? ExitCode.ok : ExitCode.rejected;
}
