import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { emptyIndex, type CatalogIndex } from '../../src/build/catalog-index.ts';
import { loadRuntimeLock } from '../../src/build/runtime/lock.ts';
import { CatalogError } from '../../src/errors.ts';
import { digestHex, sha256Digest } from '../../src/oci/digest.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import type { BuildContext } from '../../src/signing/attestations/build-context.ts';
import { CatalogSigner } from '../../src/signing/catalog-signer.ts';
import { loadSigningKey } from '../../src/signing/signer/signing-key.ts';
import { SigstoreSigner } from '../../src/signing/signer/sigstore-signer.ts';
import { ImageVerifier } from '../../src/sigstore/image-verifier.ts';
import { VerificationKey } from '../../src/sigstore/keys/public-key.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { repoRoot } from '../harness/shared.ts';
import { pushImage } from '../sigstore/fixtures/registry-images.ts';
import { MockSigstore } from '../sigstore/fixtures/signing.ts';
import { startReferrersApi } from './fixtures/referrers-api.ts';
import { startSigstoreServices } from './fixtures/sigstore-services.ts';

const context: BuildContext = {
  sourceRepository: 'https://git.example.com/platform/catalog',
  sourceCommit: 'c'.repeat(40),
  builderId: 'urn:test',
  builderVersion: { node: process.versions.node },
  buildCommand: 'npm run build',
  registry: 'test',
  sourceDateEpoch: 0,
  lockFiles: [],
};

if (requireRegistryTools(t)) {
  const registry = await startRegistry();
  const api = await startReferrersApi(registry.host);
  const sigstore = await MockSigstore.create();
  const services = await startSigstoreServices(sigstore, { sub: 'x', iss: 'https://issuer.test' });
  t.teardown(async () => {
    await services.stop();
    await api.stop();
    await registry.stop();
  });
  const trustedRoot = SigstoreTrustedRoot.fromJson(sigstore.trustedRoot(), 'mock root');
  const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = await loadSigningKey('env://K', { env: { K: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) } });
  const runtimeLock = await loadRuntimeLock();
  let n = 0;

  /** A one-artefact index: a "catalog bundle" that is a small image pushed through `host`. */
  const fixture = async (host: string) => {
    const client = new RegistryClient(host, { plainHttp: true });
    const image = await pushImage(client, `signer/case${n++}`, 'v1', `image ${n}`);
    await client.close();
    const index: CatalogIndex = { ...emptyIndex(`${host}/signer`), catalogBundles: [{ reference: `${host}/${image.repository}:latest@${image.digest}`, tag: 'latest', digest: image.digest, tasks: [] }] };
    return { image, index };
  };
  const signer = (tlog = true) => new SigstoreSigner({ mode: 'key', key, fulcioUrl: services.fulcioUrl, rekorUrl: services.rekorUrl, tlog });
  const ownVerifier = (tlog = true) => new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(key.publicKeyPem, 'key'), requireTlog: tlog });
  const sign = (index: CatalogIndex, options: { tlog?: boolean; verifier?: BundleVerifier; host: string }) =>
    new CatalogSigner({ repoRoot, index, runtimeLock, signer: signer(options.tlog), verifier: options.verifier ?? ownVerifier(options.tlog), context, registry: { plainHttpRegistries: [options.host] }, sbom: false }).sign();

  t.test('a registry with the referrers API lists the signature itself: no fallback tag is written', async (t) => {
    const { image, index } = await fixture(api.host);
    const record = await sign(index, { host: api.host });
    t.equal(record.artefacts[0]!.referrers, 'api', 'stored as referrers of the API');
    t.equal(record.totals.added, 2, 'a signature and a provenance');
    const client = new RegistryClient(registry.host, { plainHttp: true });
    t.teardown(() => client.close());
    t.equal(await client.manifestDescriptor(image.repository, `sha256-${digestHex(image.digest)}`), undefined, 'no sha256-<hex> fallback index was written');
    const verifier = new ImageVerifier({ verifier: ownVerifier(), registry: { plainHttpRegistries: [api.host] }, attestationPredicateType: 'https://slsa.dev/provenance/v1' });
    t.teardown(() => verifier.close());
    const verified = await verifier.verify(`${api.host}/${image.repository}@${image.digest}`);
    t.equal(verified.referrersSource, 'api', 'verify-image finds it through the API');
    t.equal(verified.attestation?.predicateType, 'https://slsa.dev/provenance/v1', 'with the provenance');
    const again = await sign(index, { host: api.host });
    t.same([again.totals.added, again.totals.present], [0, 2], 'a re-run adds nothing');
    t.equal((await client.referrers(image.repository, image.digest)).source, 'tag-schema', 'the registry behind it really has no API');
  });

  t.test('a registry without the API gets the sha256-<hex> fallback index; keyed signatures may skip the log', async (t) => {
    const { image, index } = await fixture(registry.host);
    const record = await sign(index, { host: registry.host, tlog: false });
    t.equal(record.artefacts[0]!.referrers, 'tag-schema');
    const client = new RegistryClient(registry.host, { plainHttp: true });
    t.teardown(() => client.close());
    const listed = await client.referrers(image.repository, image.digest);
    t.equal(listed.manifests.length, 2, 'the fallback index lists both');
    t.same(listed.manifests.map((m) => m.annotations?.['dev.sigstore.bundle.predicateType']).sort(), ['https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1'], 'each annotated with its predicate type, as cosign does');
    const again = await sign(index, { host: registry.host, tlog: false });
    t.equal(again.totals.added, 0, 'idempotent');
    t.equal((await client.referrers(image.repository, image.digest)).manifests.length, 2, 'still two');
  });

  t.test('a signature that would not verify under the expected identity is never attached', async (t) => {
    const { image, index } = await fixture(registry.host);
    const stranger = new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'other') });
    await t.rejects(sign(index, { host: registry.host, verifier: stranger }), { code: 'SIGN_SELF_CHECK_FAILED' });
    const client = new RegistryClient(registry.host, { plainHttp: true });
    t.teardown(() => client.close());
    t.equal((await client.referrers(image.repository, image.digest)).manifests.length, 0, 'nothing was attached');
  });

  t.test('a digest the registry does not hold: publish first', async (t) => {
    const { index } = await fixture(registry.host);
    const missing = sha256Digest('never pushed');
    index.catalogBundles[0] = { ...index.catalogBundles[0]!, digest: missing, reference: `${registry.host}/signer/missing:1@${missing}` };
    const error = await sign(index, { host: registry.host }).catch((e: unknown) => e);
    t.ok(error instanceof CatalogError);
    t.equal((error as CatalogError).code, 'SIGN_ARTEFACT_MISSING');
    t.match((error as CatalogError).hint, /publish/);
  });

  t.test('an index whose reference contradicts its digest is refused before anything is signed', async (t) => {
    const { index } = await fixture(registry.host);
    index.catalogBundles[0] = { ...index.catalogBundles[0]!, digest: sha256Digest('other') };
    await t.rejects(sign(index, { host: registry.host }), { code: 'SIGN_INDEX_INCONSISTENT' });
  });
}
