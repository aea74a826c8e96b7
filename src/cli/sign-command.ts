import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError } from '../errors.ts';
import { ExitCode } from '../step/run.ts';

type Out = { write(text: string | Uint8Array): unknown };

export const SIGN_HELP = `Usage: tekton-catalog sign [options]
       npm run catalog -- sign [options]

Signs and attests, after publish, exactly what catalog/index.json records:
every step image's multi-arch index and platform manifests, every Task
bundle and every catalog bundle, in the registry the index names. Each gets
a cosign v3 signature and a SLSA provenance v1 attestation (step images also
a CycloneDX SBOM), stored as Sigstore bundles attached as OCI 1.1 referrers
(with the sha256-<hex> tag fallback where the registry has no referrers API).
Re-running adds nothing already there: a signature by the same identity, a
provenance naming the same commit, the same SBOM.

Signing identity (default: keyless, the ambient OIDC identity of the CI job):
  --key <file|env://NAME>          sign with a PEM private key (PKCS#8 or SEC1, ECDSA P-256)
  --key-password-env <NAME>        environment variable holding the key's passphrase
  --no-tlog                        keyed only: do not log in the transparency log
  --fulcio-url <url>               certificate authority (default https://fulcio.sigstore.dev)
  --rekor-url <url>                transparency log (default https://rekor.sigstore.dev)
Every new signature must verify, before it is attached, under:
  --certificate-identity <san>     default: the catalog's published identity
  --certificate-oidc-issuer <url>  default: https://token.actions.githubusercontent.com
  --trusted-root <file>            trusted_root.json (default: Sigstore's public-good root)
Provenance (default: the GitHub Actions environment, else git):
  --source-repository <url>        --source-commit <sha>   --source-ref <ref>
  --builder-id <uri>               --build-command <text>  --allow-dirty
Output and registry:
  --legacy-sig                     also write cosign's legacy sha256-<hex>.sig signatures
  --no-sbom                        do not attach SBOMs
  --index <file>                   default catalog/index.json
  --record <file>                  sign record (default dist/sign-record.json)
  --docker-config <file>           docker config.json with credentials for the registry
  --plain-http                     HTTP instead of TLS; only for loopback registries
  -h, --help                       show this help

Exit codes: 0 signed, 2 bad options or key, 3 a signing or registry failure.
`;

export async function runSignCommand(args: string[], repoRoot: string, io: { stdout: Out; stderr: Out }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        key: { type: 'string' },
        'key-password-env': { type: 'string' },
        'no-tlog': { type: 'boolean', default: false },
        'fulcio-url': { type: 'string' },
        'rekor-url': { type: 'string' },
        'certificate-identity': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'trusted-root': { type: 'string' },
        'source-repository': { type: 'string' },
        'source-commit': { type: 'string' },
        'source-ref': { type: 'string' },
        'builder-id': { type: 'string' },
        'build-command': { type: 'string' },
        'allow-dirty': { type: 'boolean', default: false },
        'legacy-sig': { type: 'boolean', default: false },
        'no-sbom': { type: 'boolean', default: false },
        index: { type: 'string' },
        record: { type: 'string' },
        'docker-config': { type: 'string' },
        'plain-http': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CatalogError('USAGE_SIGN', (error as Error).message, { hint: 'run `tekton-catalog sign --help`' });
  }
  if (values.help) {
    io.stdout.write(SIGN_HELP);
    return ExitCode.ok;
  }
  const [{ readCatalogIndex }, { loadRuntimeLock }, { CatalogSigner, renderSignSummary }, { resolveBuildContext }, { loadSigningKey }, { SigstoreSigner }, { identityVerifier, loadTrustedRoot }, { PUBLISHED_IDENTITY }, { planSigning }, { isLoopbackHost }, { BundleVerifier }, { VerificationKey }] =
    await Promise.all([
      import('../build/catalog-index.ts'),
      import('../build/runtime/lock.ts'),
      import('../signing/catalog-signer.ts'),
      import('../signing/attestations/build-context.ts'),
      import('../signing/signer/signing-key.ts'),
      import('../signing/signer/sigstore-signer.ts'),
      import('../signing/identity-verifier.ts'),
      import('../signing/published-identity.ts'),
      import('../signing/plan.ts'),
      import('../oci/registry/index.ts'),
      import('../sigstore/verify/bundle-verifier.ts'),
      import('../sigstore/keys/public-key.ts'),
    ]);
  const indexPath = resolve(values.index ?? 'catalog/index.json');
  const index = await readCatalogIndex(indexPath);
  if (index === undefined) throw new CatalogError('CONFIG_SIGNING', `${indexPath} does not exist`, { hint: 'build and publish the catalog first' });
  const keyed = values.key !== undefined;
  if (!keyed && (values['no-tlog'] || values['key-password-env'] !== undefined)) {
    throw new CatalogError('USAGE_SIGN', '--no-tlog and --key-password-env apply only to keyed signing (--key)');
  }
  const registries = [...new Set(planSigning(index).map((target) => target.registry))];
  if (values['plain-http']) {
    const remote = registries.filter((registry) => !isLoopbackHost(registry));
    if (remote.length > 0) throw new CatalogError('USAGE_SIGN', `--plain-http is only for loopback registries; the index names ${remote.join(', ')}`);
  }
  const key = keyed ? await loadSigningKey(values.key!, values['key-password-env'] === undefined ? {} : { passphraseEnv: values['key-password-env'] }) : undefined;
  const signer = new SigstoreSigner({
    mode: keyed ? 'key' : 'keyless',
    ...(key === undefined ? {} : { key }),
    fulcioUrl: values['fulcio-url'] ?? PUBLISHED_IDENTITY.fulcioUrl,
    rekorUrl: values['rekor-url'] ?? PUBLISHED_IDENTITY.rekorUrl,
    tlog: !values['no-tlog'],
  });
  // Every new signature is checked against what consumers will check: the signing key, or the keyless identity.
  const verifier =
    key !== undefined
      ? new BundleVerifier({ trustedRoot: await loadTrustedRoot(values['trusted-root'] ? resolve(values['trusted-root']) : undefined), key: VerificationKey.fromPem(key.publicKeyPem, 'the signing key'), requireTlog: !values['no-tlog'] })
      : await identityVerifier(
          {
            ...(values['certificate-identity'] ? { identity: values['certificate-identity'] } : {}),
            ...(values['certificate-oidc-issuer'] ? { issuer: values['certificate-oidc-issuer'] } : {}),
            ...(values['trusted-root'] ? { trustedRootPath: resolve(values['trusted-root']) } : {}),
          },
          PUBLISHED_IDENTITY,
        );
  const context = await resolveBuildContext(repoRoot, {
    registry: index.registry,
    ...(values['source-repository'] ? { sourceRepository: values['source-repository'] } : {}),
    ...(values['source-commit'] ? { sourceCommit: values['source-commit'] } : {}),
    ...(values['source-ref'] ? { sourceRef: values['source-ref'] } : {}),
    ...(values['builder-id'] ? { builderId: values['builder-id'] } : {}),
    ...(values['build-command'] ? { buildCommand: values['build-command'] } : {}),
    allowDirty: values['allow-dirty'],
  });
  const recordPath = resolve(values.record ?? 'dist/sign-record.json');
  io.stderr.write(`signing ${indexPath} as ${signer.describe()}, source ${context.sourceRepository}@${context.sourceCommit}\n`);
  const record = await new CatalogSigner({
    repoRoot,
    index,
    runtimeLock: await loadRuntimeLock(),
    signer,
    verifier,
    context,
    registry: {
      ...(values['plain-http'] ? { plainHttpRegistries: registries } : {}),
      ...(values['docker-config'] ? { dockerConfigPath: resolve(values['docker-config']) } : {}),
    },
    legacySignatures: values['legacy-sig'],
    sbom: !values['no-sbom'],
    recordPath,
    log: (line) => io.stderr.write(`${line}\n`),
  }).sign();
  io.stdout.write(`${renderSignSummary(record)}\nsign record: ${recordPath}\n`);
  return ExitCode.ok;
}
