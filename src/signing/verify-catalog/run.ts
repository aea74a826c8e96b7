import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { writeFileAtomic } from '../../io/atomic-write.ts';
import { isLoopbackHost, parseReference } from '../../oci/registry/index.ts';
import { identityVerifier } from '../identity-verifier.ts';
import { PUBLISHED_IDENTITY } from '../published-identity.ts';
import { CatalogVerifier, type CatalogVerification } from './catalog-verifier.ts';

export interface VerifyCatalogInput {
  identity?: string;
  issuer?: string;
  publicKeyPath?: string;
  sourceRepository?: string;
  trustedRootPath?: string;
  dockerConfigPath?: string;
  /** How messages name the docker config (a Task workspace); default the CLI's --docker-config. */
  dockerConfigSetting?: string;
  /** Reach the reference's registry over plain HTTP: loopback only. */
  plainHttp?: boolean;
  /** Extra loopback registries reached over plain HTTP. */
  plainHttpRegistries?: string[];
  /** How refusals name the plain-HTTP setting (a Task param); default the CLI's --plain-http. */
  plainHttpSetting?: string;
  timeoutMs?: number;
  reportPath?: string;
}

/** verify-catalog as the CLI and the catalog Task run it: the published identity unless told otherwise. */
export async function verifyCatalogReference(reference: string, input: VerifyCatalogInput): Promise<CatalogVerification> {
  let registry: string;
  try {
    registry = parseReference(reference).registry;
  } catch (error) {
    throw new CatalogError('USAGE_VERIFY_CATALOG', error instanceof CatalogError ? error.message : `bundle reference ${quoteUntrusted(reference, 200)} is invalid`);
  }
  const plainHttpRegistries = [...(input.plainHttpRegistries ?? []), ...(input.plainHttp ? [registry] : [])];
  for (const host of plainHttpRegistries) {
    if (!isLoopbackHost(host)) throw new CatalogError('USAGE_VERIFY_CATALOG', `plain HTTP is only for loopback registries, not ${quoteUntrusted(host, 120)}`);
  }
  const verifier = await identityVerifier(
    {
      ...(input.identity !== undefined ? { identity: input.identity } : {}),
      ...(input.issuer !== undefined ? { issuer: input.issuer } : {}),
      ...(input.publicKeyPath !== undefined ? { publicKeyPath: input.publicKeyPath } : {}),
      ...(input.trustedRootPath !== undefined ? { trustedRootPath: input.trustedRootPath } : {}),
    },
    PUBLISHED_IDENTITY,
  );
  const catalog = new CatalogVerifier({
    verifier,
    sourceRepository: input.sourceRepository ?? PUBLISHED_IDENTITY.sourceRepository,
    registry: {
      plainHttpRegistries,
      ...(input.dockerConfigPath !== undefined ? { dockerConfigPath: input.dockerConfigPath } : {}),
      ...(input.dockerConfigSetting !== undefined ? { dockerConfigSetting: input.dockerConfigSetting } : {}),
      ...(input.plainHttpSetting !== undefined ? { plainHttpSetting: input.plainHttpSetting } : {}),
      ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    },
  });
  let result: CatalogVerification;
  try {
    result = await catalog.verify(reference);
  } finally {
    await catalog.close();
  }
  if (input.reportPath !== undefined) await writeFileAtomic(input.reportPath, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o644 });
  return result;
}
