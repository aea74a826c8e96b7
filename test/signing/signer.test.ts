import t from 'tap';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { CatalogError } from '../../src/errors.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { PredicateType, inTotoStatement } from '../../src/signing/attestations/statement.ts';
import { loadSigningKey } from '../../src/signing/signer/signing-key.ts';
import { SigstoreSigner, bundleBytes } from '../../src/signing/signer/sigstore-signer.ts';
import { parseBundle } from '../../src/sigstore/bundle/parse.ts';
import { VerificationKey } from '../../src/sigstore/keys/public-key.ts';
import { KeylessPolicy } from '../../src/sigstore/policy/keyless-policy.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import { MockSigstore, pae } from '../sigstore/fixtures/signing.ts';
import { startSigstoreServices } from './fixtures/sigstore-services.ts';

const WHO = { identity: 'https://github.com/org/catalog/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };
const artefact = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const statement = inTotoStatement({ name: '127.0.0.1:5000/steps/x', digest: sha256Digest(artefact) }, PredicateType.signature, {});

const sigstore = await MockSigstore.create();
const services = await startSigstoreServices(sigstore, { sub: WHO.identity, iss: WHO.issuer, repository: 'org/catalog', ref: 'refs/heads/main', sha: 'a'.repeat(40) });
t.teardown(() => services.stop());
const trustedRoot = SigstoreTrustedRoot.fromJson(sigstore.trustedRoot(), 'mock root');
const dir = await mkdtemp(join(tmpdir(), 'signer-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** Runs `fn` with only the given CI identity variables set. */
async function withAmbient<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const names = ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'SIGSTORE_ID_TOKEN', 'BUILDKITE'];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  for (const name of names) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

const keyless = () => new SigstoreSigner({ mode: 'keyless', fulcioUrl: services.fulcioUrl, rekorUrl: services.rekorUrl, tlog: true, timeoutMs: 5000 });

t.test('keyless with the ambient GitHub Actions identity: Fulcio certificate, Rekor entry, verifies under the pinned identity', async (t) => {
  const bundle = await withAmbient(services.ambientEnv, () => keyless().signStatement(statement));
  t.ok(services.log.includes('GET /token'), 'the ambient OIDC token was requested');
  t.ok(services.log.includes('POST /api/v2/signingCert'), 'Fulcio issued the certificate');
  t.ok(services.log.includes('POST /api/v1/log/entries'), 'Rekor logged the signature');
  const parsed = parseBundle(bundleBytes(bundle), 'keyless bundle');
  t.equal(parsed.version, '0.3', 'a v0.3 bundle, as cosign v3 writes');
  const verified = new BundleVerifier({ trustedRoot, keyless: KeylessPolicy.create(WHO) }).verify(parsed, artefact, 'keyless bundle');
  t.same(verified.signer, { kind: 'keyless', ...WHO }, 'signed by the workflow identity');
  t.equal(verified.statement?.predicateType, PredicateType.signature);
  t.throws(
    () => new BundleVerifier({ trustedRoot, keyless: KeylessPolicy.create({ ...WHO, identity: `${WHO.identity}x` }) }).verify(parsed, artefact, 'b'),
    { code: 'IDENTITY_MISMATCH' },
    'and not under another identity',
  );
});

t.test('openssl accepts the keyless signature over its DSSE payload and the certificate chain to the test CA', async (t) => {
  if (!existsSync('/usr/bin/openssl')) {
    if (process.env.CI === 'true') t.fail('missing /usr/bin/openssl; CI=true requires it');
    else t.skip('missing /usr/bin/openssl', () => {});
    return;
  }
  const bundle = bundleToJSON(await withAmbient(services.ambientEnv, () => keyless().signStatement(statement))) as {
    dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
    verificationMaterial: { certificate: { rawBytes: string } };
  };
  const leaf = new X509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
  const root = new X509Certificate(Buffer.from(sigstore.ca.rootCertificate.buffer, sigstore.ca.rootCertificate.byteOffset, sigstore.ca.rootCertificate.byteLength));
  await writeFile(join(dir, 'leaf.pem'), leaf.toString());
  await writeFile(join(dir, 'root.pem'), root.toString());
  await writeFile(join(dir, 'leaf-key.pem'), leaf.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(join(dir, 'pae.bin'), pae(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64')));
  await writeFile(join(dir, 'sig.der'), Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64'));
  const dgst = (file: string) => execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'leaf-key.pem'), '-signature', join(dir, 'sig.der'), join(dir, file)], { encoding: 'utf8' });
  t.match(dgst('pae.bin'), /Verified OK/, 'openssl dgst verifies the signature over the DSSE pre-authentication encoding');
  await writeFile(join(dir, 'other.bin'), Buffer.concat([Buffer.from('x'), pae(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64'))]));
  t.throws(() => dgst('other.bin'), 'and rejects it over other bytes');
  const chain = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
  t.match(chain, /leaf\.pem: OK/, 'openssl verify chains the Fulcio certificate to the test CA');
  t.match(leaf.subjectAltName ?? '', WHO.identity, 'the certificate names the workflow identity');
});

t.test('keyed: PKCS#8 and SEC1 keys, encrypted with a passphrase from the environment, with and without the log', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const plain = join(dir, 'plain.key');
  const sec1 = join(dir, 'sec1.key');
  const encrypted = join(dir, 'encrypted.key');
  await writeFile(plain, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(sec1, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  await writeFile(encrypted, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }), { mode: 0o600 });
  const keys = [
    await loadSigningKey(plain),
    await loadSigningKey(sec1),
    await loadSigningKey(encrypted, { passphraseEnv: 'KEY_PASSWORD', env: { KEY_PASSWORD: 'correct horse' } }),
    await loadSigningKey('env://SIGNING_KEY', { env: { SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } }),
  ];
  t.equal(new Set(keys.map((key) => key.fingerprint)).size, 1, 'every form loads the same key');
  const key = keys[0]!;
  for (const tlog of [true, false]) {
    const signer = new SigstoreSigner({ mode: 'key', key, fulcioUrl: services.fulcioUrl, rekorUrl: services.rekorUrl, tlog });
    const parsed = parseBundle(bundleBytes(await signer.signStatement(statement)), 'keyed bundle');
    t.equal(parsed.bundle.verificationMaterial.tlogEntries.length, tlog ? 1 : 0, `tlog ${tlog}: ${tlog ? 'one entry' : 'no entry'}`);
    const verified = new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(key.publicKeyPem, 'pub'), requireTlog: tlog }).verify(parsed, artefact, 'keyed');
    t.same(verified.signer, { kind: 'key', fingerprint: key.fingerprint }, `tlog ${tlog}: verifies under the public key`);
  }
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const parsed = parseBundle(bundleBytes(await new SigstoreSigner({ mode: 'key', key, fulcioUrl: services.fulcioUrl, rekorUrl: services.rekorUrl, tlog: true }).signStatement(statement)), 'k');
  t.throws(() => new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(other, 'other') }).verify(parsed, artefact, 'k'), { code: 'SIGNATURE_INVALID' }, 'another key rejects it');
});

t.test('no secret reaches an error: keys, passphrases and tokens in every failure', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyBody = pem.split('\n')[1]!;
  const encryptedPem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter2-secret' }).toString();
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const secrets = ['opaque-token-secret-123', keyBody, 'hunter2-secret', 'wrong-passphrase-secret', services.idToken, services.requestToken, encryptedPem.split('\n')[2]!];
  interface Case { name: string; code: string; run: () => Promise<unknown> }
  const keyCases: Case[] = [
    { name: 'a truncated key', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: { K: pem.slice(0, pem.length / 2) } }) },
    { name: 'a key with one character changed', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: { K: pem.replace(keyBody, `${keyBody.slice(0, 20)}!${keyBody.slice(21)}`) } }) },
    { name: 'an encrypted key without passphrase', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: { K: encryptedPem } }) },
    { name: 'an encrypted key with a wrong passphrase', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { passphraseEnv: 'P', env: { K: encryptedPem, P: 'wrong-passphrase-secret' } }) },
    { name: 'a P-384 key', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: { K: p384 } }) },
    { name: 'a public key instead of a private one', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: { K: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/PRIVATE/g, 'PUBLIC') } }) },
    { name: 'an unset key variable', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey('env://K', { env: {} }) },
    { name: 'an unreadable key file', code: 'CONFIG_SIGNING_KEY', run: () => loadSigningKey(join(dir, 'missing.key')) },
  ];
  // Every way keyless signing can fail on the identity, the CA or the log.
  const identityCases: Case[] = [
    { name: 'no ambient identity', code: 'SIGN_IDENTITY_UNAVAILABLE', run: () => withAmbient({}, () => keyless().signStatement(statement)) },
    { name: 'a token that is not a JWT', code: 'SIGN_IDENTITY_UNAVAILABLE', run: () => withAmbient({ SIGSTORE_ID_TOKEN: 'opaque-token-secret-123' }, () => keyless().signStatement(statement)) },
    {
      name: 'a CA that refuses',
      code: 'SIGN_CERTIFICATE_FAILED',
      run: () => withAmbient({ SIGSTORE_ID_TOKEN: services.idToken }, () => new SigstoreSigner({ mode: 'keyless', fulcioUrl: `${services.fulcioUrl}/nowhere`, rekorUrl: services.rekorUrl, tlog: true, timeoutMs: 3000 }).signStatement(statement)),
    },
    {
      name: 'a log that refuses',
      code: 'SIGN_TLOG_FAILED',
      run: () => withAmbient({ SIGSTORE_ID_TOKEN: services.idToken }, () => new SigstoreSigner({ mode: 'keyless', fulcioUrl: services.fulcioUrl, rekorUrl: `${services.rekorUrl}/nowhere`, tlog: true, timeoutMs: 3000 }).signStatement(statement)),
    },
  ];
  for (const c of [...keyCases, ...identityCases]) {
    try {
      await c.run();
      t.fail(`${c.name}: did not fail`);
    } catch (error) {
      t.ok(error instanceof CatalogError, `${c.name}: a CatalogError`);
      t.equal((error as CatalogError).code, c.code, `${c.name}: ${c.code}`);
      const text = `${(error as Error).message}\n${(error as CatalogError).hint ?? ''}\n${JSON.stringify(error)}\n${String((error as Error).cause ?? '')}`;
      const leaked = secrets.filter((secret) => text.includes(secret));
      t.same(leaked, [], `${c.name}: no key, passphrase or token in the message, hint or cause`);
    }
  }
  t.throws(() => new SigstoreSigner({ mode: 'keyless', fulcioUrl: 'http://fulcio.example.com', rekorUrl: services.rekorUrl, tlog: true }), { code: 'CONFIG_SIGNING' }, 'plain http to a remote CA is refused');
  t.throws(() => new SigstoreSigner({ mode: 'keyless', fulcioUrl: services.fulcioUrl, rekorUrl: services.rekorUrl, tlog: false }), { code: 'CONFIG_SIGNING' }, 'keyless without the log is refused');
});
