import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestHex, sha256Digest, type Digest } from '../../src/oci/digest.ts';
import { jsonBytes } from '../../src/oci/layout.ts';
import { MediaType, type ImageManifest } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { VerificationKey } from '../../src/sigstore/keys/public-key.ts';
import { ImageVerifier, type ImageVerifierOptions } from '../../src/sigstore/image-verifier.ts';
import { LegacyAnnotation } from '../../src/sigstore/legacy/legacy-signature.ts';
import { KeylessPolicy, type KeylessPolicyInput } from '../../src/sigstore/policy/keyless-policy.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import { missingRegistryTools, startRegistry } from '../harness/registry.ts';
import { expectRejection } from '../sigstore/expect-failure.ts';
import { startFaultProxy, type FaultProxy } from '../sigstore/fixtures/fault-proxy.ts';
import { addToTagSchemaIndex, pushBundleReferrer, pushImage, pushLegacySignatures, type PushedImage } from '../sigstore/fixtures/registry-images.ts';
import { KeySigner, MockSigstore, inTotoStatement, simpleSigningPayload, type KeylessIdentity } from '../sigstore/fixtures/signing.ts';

const WHO: KeylessIdentity = {
  identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
};
const POLICY: KeylessPolicyInput = { identity: WHO.identity, issuer: WHO.issuer };
const SLSA = 'https://slsa.dev/provenance/v1';

const missing = missingRegistryTools();
if (missing !== undefined) {
  if (process.env.CI === 'true') t.fail(`missing ${missing}; CI=true requires it`);
  else t.skip(`needs ${missing}`, () => {});
} else {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.host);
  t.teardown(async () => {
    await proxy.stop();
    await registry.stop();
  });
  const client = new RegistryClient(registry.host, { plainHttp: true });
  t.teardown(() => client.close());
  const sigstore = await MockSigstore.create();
  const trustedRoot = SigstoreTrustedRoot.fromJson(sigstore.trustedRoot(), 'mock trusted root');
  const key = new KeySigner();
  let repoCounter = 0;
  const newImage = async (seed = `image ${repoCounter}`) => pushImage(client, `verify/case${repoCounter++}`, 'v1', seed);

  const keyless = (policy: KeylessPolicyInput = POLICY, root = trustedRoot) => new BundleVerifier({ trustedRoot: root, keyless: KeylessPolicy.create(policy) });
  const keyed = (signer: KeySigner = key, requireTlog = true) =>
    new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(signer.publicKeyPem, 'test key'), requireTlog });
  const verifierFor = (verifier: BundleVerifier, options: Partial<ImageVerifierOptions> = {}) =>
    new ImageVerifier({
      verifier,
      registry: { plainHttpRegistries: [registry.host, proxy.host], timeoutMs: 1500, maxAttempts: 2 },
      ...options,
    });
  const run = async (verifier: ImageVerifier, ref: string) => {
    try {
      return await verifier.verify(ref);
    } finally {
      await verifier.close();
    }
  };
  const byDigest = (image: PushedImage, host = registry.host) => `${host}/${image.repository}@${image.digest}`;
  const legacyKeyless = async (image: PushedImage, who = WHO, signer = sigstore, digest: Digest = image.digest) =>
    pushLegacySignatures(client, image.repository, image.digest, [await signer.legacyKeyless(simpleSigningPayload(image.repository, digest), who)]);
  const bundleKeyless = async (image: PushedImage, who = WHO, digest: Digest = image.digest) =>
    pushBundleReferrer(client, image, await sigstore.bundleKeyless(inTotoStatement(digest), who));

  t.test('valid signatures verify, in both formats, keyed and keyless', async (t) => {
    const a = await newImage();
    await pushLegacySignatures(client, a.repository, a.digest, [await sigstore.legacyKeyed(simpleSigningPayload(a.repository, a.digest), key)]);
    const legacyKeyed = await run(verifierFor(keyed()), byDigest(a));
    t.equal(legacyKeyed.signature.format, 'legacy', 'keyed legacy .sig');
    t.equal(legacyKeyed.digest, a.digest);

    const b = await newImage();
    await pushBundleReferrer(client, b, await sigstore.bundleKeyed(inTotoStatement(b.digest), key));
    const bundleKeyed = await run(verifierFor(keyed()), byDigest(b));
    t.equal(bundleKeyed.signature.format, 'bundle', 'keyed bundle referrer');
    t.equal(bundleKeyed.referrersSource, 'tag-schema', 'found through the tag-schema fallback (no referrers API here)');

    const c = await newImage();
    await legacyKeyless(c);
    const legacy = await run(verifierFor(keyless()), byDigest(c));
    t.same(legacy.signature.signer, { kind: 'keyless', identity: WHO.identity, issuer: WHO.issuer }, 'keyless legacy reports the signer');
    t.ok(legacy.signature.tlogIndex, 'and its log index');

    const d = await newImage();
    await bundleKeyless(d);
    const bundle = await run(verifierFor(keyless()), byDigest(d));
    t.equal(bundle.signature.format, 'bundle', 'keyless bundle referrer');
    t.match(bundle.signature.source, /^referrer sha256:[0-9a-f]{64} \(tag-schema\)$/, 'reports which signature passed');
  });

  t.test('a tag resolves to the digest of the bytes served, which becomes the output', async (t) => {
    const image = await newImage();
    await legacyKeyless(image);
    const result = await run(verifierFor(keyless()), `${registry.host}/${image.repository}:v1`);
    t.equal(result.digest, image.digest);
    t.equal(result.verifiedReference, `${registry.host}/${image.repository}@${image.digest}`);
    await expectRejection(t, run(verifierFor(keyless(), { requireDigest: true }), `${registry.host}/${image.repository}:v1`), 'DIGEST_REQUIRED', 'require-digest refuses a tag');
  });

  t.test('referrers via the API, and fallback entries are not filtered on their claimed artifactType', async (t) => {
    const image = await newImage();
    const referrer = await bundleKeyless(image);
    proxy.setRule(({ method, path }) =>
      method === 'GET' && path.startsWith(`/v2/${image.repository}/referrers/`)
        ? { kind: 'respond', body: jsonBytes({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [referrer] }), headers: { 'content-type': MediaType.imageIndex } }
        : undefined,
    );
    try {
      const result = await run(verifierFor(keyless()), byDigest(image, proxy.host));
      t.equal(result.referrersSource, 'api', 'listed by the referrers API');
    } finally {
      proxy.setRule(undefined);
    }
    const mislabelled = await newImage();
    await pushBundleReferrer(client, mislabelled, await sigstore.bundleKeyless(inTotoStatement(mislabelled.digest), WHO), { descriptorArtifactType: 'application/vnd.example.sbom' });
    const result = await run(verifierFor(keyless()), byDigest(mislabelled));
    t.equal(result.signature.format, 'bundle', 'a bundle listed under a wrong artifactType is still read and verified');
  });

  t.test('attestations: required predicate type, signed under the policy', async (t) => {
    const image = await newImage();
    await legacyKeyless(image);
    const predicate = { buildDefinition: { buildType: 'https://example.test/build/v1' }, runDetails: { builder: { id: 'https://example.test/builder' } } };
    await pushBundleReferrer(client, image, await sigstore.bundleKeyless(inTotoStatement(image.digest, SLSA, predicate), WHO));
    const result = await run(verifierFor(keyless(), { attestationPredicateType: SLSA }), byDigest(image));
    t.equal(result.attestation?.predicateType, SLSA);
    t.match(result.attestation?.predicateDigest, /^sha256:[0-9a-f]{64}$/, 'exposes the predicate digest');
    t.equal(result.signature.format, 'legacy', 'the attestation does not count as the image signature');
  });

  t.test('keyed signatures without a transparency log pass only when allowed', async (t) => {
    const image = await newImage();
    await pushLegacySignatures(client, image.repository, image.digest, [await sigstore.legacyKeyed(simpleSigningPayload(image.repository, image.digest), key, { tlog: false })]);
    t.equal((await run(verifierFor(keyed(key, false)), byDigest(image))).signature.format, 'legacy', 'allowed');
    await expectRejection(t, run(verifierFor(keyed()), byDigest(image)), 'TLOG_REQUIRED', 'refused by default');
  });

  /**
   * The tamper matrix: every case must fail closed, with the code that
   * names what is wrong.
   */
  interface TamperCase {
    name: string;
    code: string;
    /** Sets the registry up and returns the reference to verify and the verifier to use. */
    setup: () => Promise<{ ref: string; verifier: ImageVerifier; cleanup?: () => void | Promise<void> }>;
  }
  const otherKey = new KeySigner();
  const otherSigstore = await MockSigstore.create({ name: 'other' });
  const hourAgo = new Date(Date.now() - 3600_000);
  const staleCa = await MockSigstore.create({ name: 'stale', caClock: hourAgo });
  const withRule = (rule: Parameters<FaultProxy['setRule']>[0]) => {
    proxy.setRule(rule);
    return () => proxy.setRule(undefined);
  };

  const cases: TamperCase[] = [
    {
      name: 'wrong key (legacy)',
      code: 'SIGNATURE_INVALID',
      setup: async () => {
        const image = await newImage();
        await pushLegacySignatures(client, image.repository, image.digest, [await sigstore.legacyKeyed(simpleSigningPayload(image.repository, image.digest), otherKey)]);
        return { ref: byDigest(image), verifier: verifierFor(keyed()) };
      },
    },
    {
      name: 'wrong key (bundle)',
      code: 'SIGNATURE_INVALID',
      setup: async () => {
        const image = await newImage();
        await pushBundleReferrer(client, image, await sigstore.bundleKeyed(inTotoStatement(image.digest), otherKey));
        return { ref: byDigest(image), verifier: verifierFor(keyed()) };
      },
    },
    {
      name: 'wrong identity (legacy)',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, identity: 'https://github.com/evil/repo/.github/workflows/release.yml@refs/heads/main' });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'wrong identity (bundle)',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await bundleKeyless(image, { ...WHO, identity: 'mallory@example.test' });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'identity with the expected one as prefix',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, identity: `${WHO.identity}-evil` });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'identity with the expected one as suffix',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await bundleKeyless(image, { ...WHO, identity: `https://evil.test/?${WHO.identity}` });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'identity where a literal "." of the policy is another character',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, identity: WHO.identity.replace('/.github/', '/Xgithub/') });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'identity regexp matched only inside the identity',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, identity: `https://evil.test/https://github.com/org/repo/x` });
        return { ref: byDigest(image), verifier: verifierFor(new BundleVerifier({ trustedRoot, keyless: await KeylessPolicy.load({ identityRegexp: 'https://github\\.com/org/.*', issuer: WHO.issuer }) })) };
      },
    },
    {
      name: 'wrong issuer',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, issuer: 'https://accounts.google.com' });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'issuer extending an anchored issuer regexp',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await bundleKeyless(image, { ...WHO, issuer: `${WHO.issuer}.evil.test` });
        return { ref: byDigest(image), verifier: verifierFor(new BundleVerifier({ trustedRoot, keyless: await KeylessPolicy.load({ identity: WHO.identity, issuerRegexp: 'https://token\\.actions\\.githubusercontent\\.com' }) })) };
      },
    },
    {
      name: 'GitHub workflow repository claim differs',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, { ...WHO, extensions: [{ oid: '1.3.6.1.4.1.57264.1.5', value: 'evil/repo', legacy: true }] });
        return { ref: byDigest(image), verifier: verifierFor(keyless({ ...POLICY, workflow: { repository: 'org/repo' } })) };
      },
    },
    {
      name: 'GitHub workflow claim absent from the certificate',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await bundleKeyless(image);
        return { ref: byDigest(image), verifier: verifierFor(keyless({ ...POLICY, workflow: { ref: 'refs/heads/main' } })) };
      },
    },
    {
      name: 'certificate from a CA that is not in the trusted root',
      code: 'UNTRUSTED_ROOT',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, WHO, otherSigstore);
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'CA whose trusted-root validity ended before the signing',
      code: 'UNTRUSTED_ROOT',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        const expired = SigstoreTrustedRoot.fromJson(
          sigstore.trustedRoot({ caValidFor: { start: new Date(Date.now() - 48 * 3600_000).toISOString(), end: hourAgo.toISOString() } }),
          'expired CA',
        );
        return { ref: byDigest(image), verifier: verifierFor(keyless(POLICY, expired)) };
      },
    },
    {
      name: 'certificate expired before the log entry',
      code: 'CERTIFICATE_EXPIRED',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, WHO, staleCa);
        return { ref: byDigest(image), verifier: verifierFor(keyless(POLICY, SigstoreTrustedRoot.fromJson(staleCa.trustedRoot(), 'stale'))) };
      },
    },
    {
      name: 'keyless legacy signature without a SET',
      code: 'TLOG_REQUIRED',
      setup: async () => {
        const image = await newImage();
        const layer = await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO, { tlog: false });
        await pushLegacySignatures(client, image.repository, image.digest, [layer]);
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'keyed bundle without a tlog entry when the tlog is required',
      code: 'TLOG_REQUIRED',
      setup: async () => {
        const image = await newImage();
        await pushBundleReferrer(client, image, await sigstore.bundleKeyed(inTotoStatement(image.digest), key, { tlog: false }));
        return { ref: byDigest(image), verifier: verifierFor(keyed()) };
      },
    },
    {
      name: 'SET that does not verify',
      code: 'TLOG_INVALID',
      setup: async () => {
        const image = await newImage();
        const layer = await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO);
        const set = JSON.parse(layer.annotations[LegacyAnnotation.bundle]!) as { SignedEntryTimestamp: string };
        const bytes = Buffer.from(set.SignedEntryTimestamp, 'base64');
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0x01, bytes.length - 3);
        layer.annotations[LegacyAnnotation.bundle] = JSON.stringify({ ...set, SignedEntryTimestamp: bytes.toString('base64') });
        await pushLegacySignatures(client, image.repository, image.digest, [layer]);
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'valid legacy signature for another digest',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image, WHO, sigstore, sha256Digest('another image'));
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'valid bundle whose statement names another digest',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await bundleKeyless(image, WHO, sha256Digest('another image'));
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'legacy payload swapped under a valid signature',
      code: 'SIGNATURE_INVALID',
      setup: async () => {
        const image = await newImage();
        const layer = await sigstore.legacyKeyed(simpleSigningPayload(image.repository, sha256Digest('another image')), key);
        await pushLegacySignatures(client, image.repository, image.digest, [{ ...layer, payload: simpleSigningPayload(image.repository, image.digest) }]);
        return { ref: byDigest(image), verifier: verifierFor(keyed()) };
      },
    },
    {
      name: 'DSSE payload swapped under a valid signature',
      code: 'SIGNATURE_INVALID',
      setup: async () => {
        const image = await newImage();
        const bundle = (await sigstore.bundleKeyless(inTotoStatement(sha256Digest('another image')), WHO)) as { dsseEnvelope: { payload: string } };
        bundle.dsseEnvelope.payload = inTotoStatement(image.digest).toString('base64');
        await pushBundleReferrer(client, image, bundle);
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'manifest swapped under the same tag (new image, no signature)',
      code: 'NO_SIGNATURES',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        await pushImage(client, image.repository, 'v1', 'backdoored');
        return { ref: `${registry.host}/${image.repository}:v1`, verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'manifest swapped under the same tag, old signatures copied to the new digest',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        const layer = await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO);
        const swapped = await pushImage(client, image.repository, 'v1', 'backdoored');
        await pushLegacySignatures(client, image.repository, swapped.digest, [layer]);
        return { ref: `${registry.host}/${image.repository}:v1`, verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'registry serves a manifest that does not hash to the requested digest',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        const cleanup = withRule(({ method, path }) =>
          method === 'GET' && path === `/v2/${image.repository}/manifests/${image.digest}`
            ? { kind: 'rewrite', rewrite: (body, headers) => ({ body: Buffer.concat([body, Buffer.from(' ')]), headers }) }
            : undefined,
        );
        return { ref: byDigest(image, proxy.host), verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'registry serves a signature payload that does not match its blob digest',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        const layer = await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO);
        await pushLegacySignatures(client, image.repository, image.digest, [layer]);
        const payloadDigest = sha256Digest(layer.payload);
        const cleanup = withRule(({ method, path }) =>
          method === 'GET' && path.endsWith(`/blobs/${payloadDigest}`)
            ? { kind: 'respond', body: simpleSigningPayload(image.repository, image.digest, 'tampered') }
            : undefined,
        );
        return { ref: byDigest(image, proxy.host), verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'tag answer whose Docker-Content-Digest contradicts the bytes',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        const cleanup = withRule(({ method, path }) =>
          method === 'GET' && path === `/v2/${image.repository}/manifests/v1`
            ? { kind: 'rewrite', rewrite: (body, headers) => ({ body, headers: { ...headers, 'docker-content-digest': sha256Digest('something else') } }) }
            : undefined,
        );
        return { ref: `${proxy.host}/${image.repository}:v1`, verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'empty referrers list from the API and no legacy signature',
      code: 'NO_SIGNATURES',
      setup: async () => {
        const image = await newImage();
        const cleanup = withRule(({ method, path }) =>
          method === 'GET' && path.startsWith(`/v2/${image.repository}/referrers/`)
            ? { kind: 'respond', body: jsonBytes({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] }), headers: { 'content-type': MediaType.imageIndex } }
            : undefined,
        );
        return { ref: byDigest(image, proxy.host), verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'fallback index listing a valid signature of another image',
      code: 'NO_SIGNATURES',
      setup: async () => {
        const victim = await newImage();
        const signed = await pushImage(client, victim.repository, 'other', 'other image');
        const referrer = await pushBundleReferrer(client, signed, await sigstore.bundleKeyless(inTotoStatement(signed.digest), WHO), { tagSchema: false });
        await addToTagSchemaIndex(client, victim.repository, victim.digest, referrer);
        return { ref: byDigest(victim), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'oversized manifest',
      code: 'REGISTRY_LIMIT_EXCEEDED',
      setup: async () => {
        const image = await newImage();
        const cleanup = withRule(({ method, path }) =>
          method === 'GET' && path === `/v2/${image.repository}/manifests/v1`
            ? { kind: 'respond', body: Buffer.alloc(5 * 1024 * 1024, 0x20), headers: { 'content-type': MediaType.imageManifest } }
            : undefined,
        );
        return { ref: `${proxy.host}/${image.repository}:v1`, verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'registry answers 503',
      code: 'REGISTRY_UNREACHABLE',
      setup: async () => {
        const image = await newImage();
        const cleanup = withRule(({ path }) => (path.startsWith(`/v2/${image.repository}/`) ? { kind: 'status', status: 503 } : undefined));
        return { ref: byDigest(image, proxy.host), verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'registry hangs (timeout)',
      code: 'REGISTRY_UNREACHABLE',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        const cleanup = withRule(({ path }) => (path.includes('.sig') ? { kind: 'hang' } : undefined));
        return { ref: byDigest(image, proxy.host), verifier: verifierFor(keyless()), cleanup };
      },
    },
    {
      name: 'redirect to another host serving other content',
      code: 'DIGEST_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        const evil = createServer((_req, res) => {
          const body = jsonBytes({ schemaVersion: 2, mediaType: MediaType.imageManifest, config: { mediaType: MediaType.imageConfig, digest: sha256Digest('x'), size: 1 }, layers: [] } satisfies ImageManifest);
          res.writeHead(200, { 'content-type': MediaType.imageManifest, 'content-length': String(body.byteLength) });
          res.end(body);
        });
        await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
        const evilHost = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
        const restore = withRule(({ path }) =>
          path === `/v2/${image.repository}/manifests/${image.digest}` ? { kind: 'redirect', location: `http://${evilHost}/v2/${image.repository}/manifests/${image.digest}` } : undefined,
        );
        return {
          ref: byDigest(image, proxy.host),
          verifier: verifierFor(keyless()),
          cleanup: async () => {
            restore();
            evil.closeAllConnections();
            await new Promise<void>((resolve) => evil.close(() => resolve()));
          },
        };
      },
    },
    {
      name: 'registry that is not listening',
      code: 'REGISTRY_UNREACHABLE',
      setup: async () => ({ ref: `127.0.0.1:1/verify/nothing@${sha256Digest('nothing')}`, verifier: verifierFor(keyless()) }),
    },
    {
      name: 'keyless signature when the policy is a public key',
      code: 'IDENTITY_MISMATCH',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        return { ref: byDigest(image), verifier: verifierFor(keyed()) };
      },
    },
    {
      name: 'keyed signature when the policy is keyless',
      code: 'KEY_REQUIRED',
      setup: async () => {
        const image = await newImage();
        await pushBundleReferrer(client, image, await sigstore.bundleKeyed(inTotoStatement(image.digest), key));
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'malformed bundle layer',
      code: 'BUNDLE_INVALID',
      setup: async () => {
        const image = await newImage();
        await pushBundleReferrer(client, image, { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {} });
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
    {
      name: 'required attestation signed by another identity',
      code: 'ATTESTATION_MISSING',
      setup: async () => {
        const image = await newImage();
        await legacyKeyless(image);
        await pushBundleReferrer(client, image, await sigstore.bundleKeyless(inTotoStatement(image.digest, SLSA, {}), { ...WHO, identity: 'mallory@example.test' }));
        return { ref: byDigest(image), verifier: verifierFor(keyless(), { attestationPredicateType: SLSA }) };
      },
    },
    {
      name: 'an attestation alone is not an image signature',
      code: 'NO_SIGNATURES',
      setup: async () => {
        const image = await newImage();
        await pushBundleReferrer(client, image, await sigstore.bundleKeyless(inTotoStatement(image.digest, SLSA, {}), WHO));
        return { ref: byDigest(image), verifier: verifierFor(keyless()) };
      },
    },
  ];

  t.test('tamper matrix: every case fails closed with its code', async (t) => {
    t.ok(cases.length >= 30, `${cases.length} cases`);
    for (const tamper of cases) {
      await t.test(tamper.name, async (t) => {
        const { ref, verifier, cleanup } = await tamper.setup();
        try {
          const message = await expectRejection(t, run(verifier, ref), tamper.code, `fails with ${tamper.code}`);
          t.ok(message !== undefined && message.length > 0, 'with a message');
          t.notMatch(message ?? '', /\n\s+at /, 'without a stack trace');
        } finally {
          await cleanup?.();
        }
      });
    }
  });

  t.test('registry credentials come from a docker config.json', async (t) => {
    const missingAuth = missingRegistryTools('basic');
    if (missingAuth !== undefined) return t.skip(`needs ${missingAuth}`, () => {});
    const private_ = await startRegistry({ auth: 'basic' });
    t.teardown(() => private_.stop());
    const writer = new RegistryClient(private_.host, { plainHttp: true, dockerConfigPath: private_.dockerConfigPath! });
    t.teardown(() => writer.close());
    const image = await pushImage(writer, 'private/app', 'v1', 'private image');
    await pushLegacySignatures(writer, image.repository, image.digest, [await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO)]);
    const withConfig = new ImageVerifier({ verifier: keyless(), registry: { plainHttpRegistries: [private_.host], dockerConfigPath: private_.dockerConfigPath!, maxAttempts: 1 } });
    t.equal((await run(withConfig, `${private_.host}/${image.repository}@${image.digest}`)).digest, image.digest, 'verified with the credentials');
    const anonymous = new ImageVerifier({ verifier: keyless(), registry: { plainHttpRegistries: [private_.host], maxAttempts: 1 } });
    await expectRejection(t, run(anonymous, `${private_.host}/${image.repository}@${image.digest}`), 'REGISTRY_ACCESS_DENIED', 'refused without them');
  });

  t.test('the signature tag name is derived from the digest the verifier computed', async (t) => {
    const image = await newImage();
    await legacyKeyless(image);
    proxy.log.length = 0;
    await run(verifierFor(keyless()), `${proxy.host}/${image.repository}:v1`);
    t.ok(proxy.log.some((line) => line.includes(`sha256-${digestHex(image.digest)}.sig`)), 'looked up sha256-<hex>.sig of the resolved digest');
  });
}
