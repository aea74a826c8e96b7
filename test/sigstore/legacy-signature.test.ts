import t from 'tap';
import { sha256Digest } from '../../src/oci/digest.ts';
import { LegacyAnnotation, legacyToBundle } from '../../src/sigstore/legacy/legacy-signature.ts';
import { assertSubject, parseInTotoStatement, predicateDigest } from '../../src/sigstore/payload/in-toto.ts';
import { checkSimpleSigningPayload } from '../../src/sigstore/payload/simple-signing.ts';
import { expectFailure } from './expect-failure.ts';
import { MockSigstore, inTotoStatement, simpleSigningPayload } from './fixtures/signing.ts';

const WHO = { identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
const digest = sha256Digest('manifest');

t.test('a cosign legacy layer becomes a v0.1 bundle with the SET as its tlog entry', async (t) => {
  const sigstore = await MockSigstore.create();
  const layer = await sigstore.legacyKeyless(simpleSigningPayload('org/app', digest), WHO);
  const { bundle, version } = legacyToBundle({ ...layer, source: 'layer 0' });
  t.equal(version, '0.1');
  t.equal(bundle.content.$case, 'messageSignature');
  t.equal(bundle.verificationMaterial.content.$case, 'x509CertificateChain');
  const chain = bundle.verificationMaterial.content.$case === 'x509CertificateChain' ? bundle.verificationMaterial.content.x509CertificateChain.certificates : [];
  t.equal(chain.length, 1, 'only the leaf: the chain annotation (which holds the root) is not trusted input');
  t.equal(bundle.verificationMaterial.tlogEntries.length, 1);
  t.ok(bundle.verificationMaterial.tlogEntries[0]?.inclusionPromise, 'the SET is the inclusion promise');
});

t.test('malformed legacy annotations are refused as BUNDLE_INVALID', async (t) => {
  const sigstore = await MockSigstore.create();
  const layer = await sigstore.legacyKeyless(simpleSigningPayload('org/app', digest), WHO);
  const without = (key: string) => Object.fromEntries(Object.entries(layer.annotations).filter(([k]) => k !== key));
  const broken: [string, Record<string, string>][] = [
    ['no signature', without(LegacyAnnotation.signature)],
    ['SET not JSON', { ...layer.annotations, [LegacyAnnotation.bundle]: '{' }],
    ['SET without payload', { ...layer.annotations, [LegacyAnnotation.bundle]: '{"SignedEntryTimestamp":"AA=="}' }],
    ['negative log index', { ...layer.annotations, [LegacyAnnotation.bundle]: layer.annotations[LegacyAnnotation.bundle]!.replace(/"logIndex":\d+/, '"logIndex":-1') }],
    ['two certificates', { ...layer.annotations, [LegacyAnnotation.certificate]: layer.annotations[LegacyAnnotation.certificate]!.repeat(2) }],
    ['signature not base64', { ...layer.annotations, [LegacyAnnotation.signature]: 'not base64!' }],
    ['timestamp not JSON', { ...layer.annotations, [LegacyAnnotation.rfc3161Timestamp]: 'x' }],
  ];
  for (const [what, annotations] of broken) {
    expectFailure(t, () => legacyToBundle({ payload: layer.payload, annotations, source: what }), 'BUNDLE_INVALID', what);
  }
});

t.test('payload checks run on what was signed', async (t) => {
  t.doesNotThrow(() => checkSimpleSigningPayload(simpleSigningPayload('org/app', digest), digest, 's'));
  expectFailure(t, () => checkSimpleSigningPayload(simpleSigningPayload('org/app', sha256Digest('other')), digest, 's'), 'DIGEST_MISMATCH', 'another digest');
  expectFailure(t, () => checkSimpleSigningPayload(simpleSigningPayload('org/app', digest, 'something else'), digest, 's'), 'DIGEST_MISMATCH', 'another critical.type');
  expectFailure(t, () => checkSimpleSigningPayload(Buffer.from('[]'), digest, 's'), 'DIGEST_MISMATCH', 'no critical section');

  const statement = parseInTotoStatement('application/vnd.in-toto+json', inTotoStatement(digest, 'https://slsa.dev/provenance/v1', { b: 1, a: [2] }), 's');
  t.doesNotThrow(() => assertSubject(statement, digest, 's'));
  expectFailure(t, () => assertSubject(statement, sha256Digest('other'), 's'), 'DIGEST_MISMATCH', 'subject is another artifact');
  expectFailure(t, () => parseInTotoStatement('text/plain', inTotoStatement(digest), 's'), 'DIGEST_MISMATCH', 'wrong payload type');
  const reordered = parseInTotoStatement('application/vnd.in-toto+json', Buffer.from(JSON.stringify({ predicate: { a: [2], b: 1 }, predicateType: 'https://slsa.dev/provenance/v1', subject: [{ digest: { sha256: digest.slice(7) } }], _type: 'https://in-toto.io/Statement/v1' })), 's');
  t.equal(predicateDigest(reordered), predicateDigest(statement), 'the predicate digest does not depend on key order');
});
