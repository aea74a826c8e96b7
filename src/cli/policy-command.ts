import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { ExitCode } from '../step/run.ts';

type Out = { write(text: string | Uint8Array): unknown };

export const POLICY_HELP = `Usage: tekton-catalog policy [options]

Generates admission policies that admit only the catalog's signed step
images and bundles: a sigstore policy-controller ClusterImagePolicy and a
Kyverno ClusterPolicy (verifyImages). Without options: the policies for the
catalog's own registry prefix (catalog/index.json) and published identity,
the same as catalog/policy/. For a mirror or a private build, name yours:

Options:
  --registry <host/namespace>      the catalog's registry prefix (default: catalog/index.json's)
  --certificate-identity <san>     keyless signer identity (default: the published identity)
  --certificate-oidc-issuer <url>  keyless issuer
  --public-key <file>              keyed: pin this PEM public key instead
  --rekor-url <url>                transparency log (default https://rekor.sigstore.dev)
  --fulcio-url <url>               certificate authority (default https://fulcio.sigstore.dev)
  --source-repository <url>        the repository provenance must name
  --name <name>                    metadata.name of the policies
  --kind <all|cluster-image-policy|kyverno>   which to print (default all)
  --output-dir <dir>               write cluster-image-policy.yaml and kyverno-cluster-policy.yaml there
  -h, --help                       show this help
`;

export async function runPolicyCommand(args: string[], repoRoot: string, io: { stdout: Out; stderr: Out }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        registry: { type: 'string' },
        'certificate-identity': { type: 'string' },
        'certificate-oidc-issuer': { type: 'string' },
        'public-key': { type: 'string' },
        'rekor-url': { type: 'string' },
        'fulcio-url': { type: 'string' },
        'source-repository': { type: 'string' },
        name: { type: 'string' },
        kind: { type: 'string', default: 'all' },
        'output-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new CatalogError('USAGE_POLICY', (error as Error).message, { hint: 'run `tekton-catalog policy --help`' });
  }
  if (values.help) {
    io.stdout.write(POLICY_HELP);
    return ExitCode.ok;
  }
  if (!['all', 'cluster-image-policy', 'kyverno'].includes(values.kind)) throw new CatalogError('USAGE_POLICY', '--kind must be all, cluster-image-policy or kyverno');
  if (values['public-key'] !== undefined && (values['certificate-identity'] !== undefined || values['certificate-oidc-issuer'] !== undefined || values['fulcio-url'] !== undefined)) {
    throw new CatalogError('USAGE_POLICY', 'give --public-key or a keyless identity, not both');
  }
  const [{ catalogPolicyFiles, POLICY_FILES }, { PUBLISHED_IDENTITY }, { resolveRegistry }, { readCatalogIndex }, { VerificationKey }] = await Promise.all([
    import('../signing/policy/admission-policies.ts'),
    import('../signing/published-identity.ts'),
    import('../build/catalog.ts'),
    import('../build/catalog-index.ts'),
    import('../sigstore/keys/public-key.ts'),
  ]);
  const registry = resolveRegistry(values.registry ?? (await readCatalogIndex(join(repoRoot, 'catalog', 'index.json')))?.registry);
  const rekorUrl = values['rekor-url'] ?? PUBLISHED_IDENTITY.rekorUrl;
  let signer;
  if (values['public-key'] !== undefined) {
    const path = resolve(values['public-key']);
    const pem = await readFile(path, 'utf8').catch(() => {
      throw new CatalogError('CONFIG_FILE', `cannot read the public key at ${path}`);
    });
    VerificationKey.fromPem(pem, path);
    signer = { kind: 'key' as const, publicKeyPem: pem.trim() + '\n', rekorUrl };
  } else {
    signer = {
      kind: 'keyless' as const,
      identity: values['certificate-identity'] ?? PUBLISHED_IDENTITY.identity,
      issuer: values['certificate-oidc-issuer'] ?? PUBLISHED_IDENTITY.issuer,
      fulcioUrl: values['fulcio-url'] ?? PUBLISHED_IDENTITY.fulcioUrl,
      rekorUrl,
    };
  }
  const files = catalogPolicyFiles({
    registry,
    signer,
    sourceRepository: values['source-repository'] ?? PUBLISHED_IDENTITY.sourceRepository,
    ...(values.name ? { name: values.name } : {}),
  });
  const wanted = [...files].filter(([path]) => values.kind === 'all' || path === (values.kind === 'kyverno' ? POLICY_FILES.kyverno : POLICY_FILES.clusterImagePolicy));
  if (values['output-dir'] !== undefined) {
    for (const [path, content] of wanted) {
      const target = join(resolve(values['output-dir']), path.slice(path.lastIndexOf('/') + 1));
      await writeFileAtomic(target, content);
      io.stdout.write(`wrote ${target}\n`);
    }
    return ExitCode.ok;
  }
  io.stdout.write(wanted.map(([, content]) => content).join('---\n'));
  return ExitCode.ok;
}
