import t from 'tap';
import { expectFailure, expectRejection } from './expect-failure.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../harness/shared.ts';
import { parseBundle } from '../../src/sigstore/bundle/parse.ts';
import { KeylessPolicy, type KeylessPolicyInput } from '../../src/sigstore/policy/keyless-policy.ts';
import { publicGoodTrustedRoot } from '../../src/sigstore/trust/public-good.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import { loadRegexEngine } from '../../src/params/regex/linear-pattern.ts';

// Regexp policies compile on RE2 (re2js); a step loads it through KeylessPolicy.load, these tests once here.
await loadRegexEngine();

const IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';

const root = sharedPath(t, 'sigstore-conformance/bundle-verify');
if (root) {
  const artifact = readFileSync(join(root, 'a.txt'));
  const bundleOf = (name: string) => parseBundle(readFileSync(join(root, name, 'bundle.sigstore.json')), name);
  const verifyWith = (policy: KeylessPolicyInput, name = 'happy-path-v0.3', bytes: Uint8Array = artifact) =>
    new BundleVerifier({ trustedRoot: publicGoodTrustedRoot(), keyless: KeylessPolicy.create(policy) }).verify(bundleOf(name), bytes, name);
  const rejects = expectFailure;

  t.test('an exact identity is exact, not an unanchored regexp', async (t) => {
    t.equal(verifyWith({ identity: IDENTITY, issuer: ISSUER }).signer.kind, 'keyless', 'the real identity passes');
    rejects(t, () => verifyWith({ identity: IDENTITY.slice(0, -5), issuer: ISSUER }), 'IDENTITY_MISMATCH', 'a prefix of the identity is refused');
    rejects(t, () => verifyWith({ identity: IDENTITY.slice(8), issuer: ISSUER }), 'IDENTITY_MISMATCH', 'a suffix of the identity is refused');
    rejects(t, () => verifyWith({ identity: `${IDENTITY.slice(0, -1)}.`, issuer: ISSUER }), 'IDENTITY_MISMATCH', '"." is a literal dot');
    rejects(t, () => verifyWith({ identity: 'https://github.com/sigstore-conformance/.*', issuer: ISSUER }), 'IDENTITY_MISMATCH', 'regexp syntax in an exact identity is literal');
  });

  t.test('identity and issuer regexps are anchored', async (t) => {
    t.ok(verifyWith({ identityRegexp: 'https://github\\.com/sigstore-conformance/.+@refs/heads/main', issuer: ISSUER }), 'a whole-identity regexp passes');
    rejects(t, () => verifyWith({ identityRegexp: 'https://github\\.com/sigstore-conformance/', issuer: ISSUER }), 'IDENTITY_MISMATCH', 'a prefix regexp does not match the whole identity');
    rejects(t, () => verifyWith({ identityRegexp: 'refs/heads/main', issuer: ISSUER }), 'IDENTITY_MISMATCH', 'a suffix regexp does not match the whole identity');
    t.ok(verifyWith({ identity: IDENTITY, issuerRegexp: 'https://token\\.actions\\.githubusercontent\\.com' }), 'an issuer regexp passes');
    rejects(t, () => verifyWith({ identity: IDENTITY, issuerRegexp: 'token\\.actions' }), 'IDENTITY_MISMATCH', 'a partial issuer regexp is refused');
    rejects(t, () => verifyWith({ identity: IDENTITY, issuer: 'https://accounts.google.com' }), 'IDENTITY_MISMATCH', 'a wrong issuer is refused');
  });

  t.test('the mismatch message names expected and found, escaped', async (t) => {
    try {
      verifyWith({ identity: 'https://example.com/\u202eevil', issuer: ISSUER });
      t.fail('should not verify');
    } catch (error) {
      t.match((error as Error).message, /expected "https:\/\/example.com\/\u202eevil", found "https:\/\/github.com\/sigstore-conformance/);
    }
  });

  t.test('GitHub workflow claims are checked on the certificate', async (t) => {
    const workflow = {
      repository: 'sigstore-conformance/extremely-dangerous-public-oidc-beacon',
      ref: 'refs/heads/main',
      sha: 'c7b3dfb335f051e1c86bda4c716fac97df62ad81',
      trigger: 'workflow_dispatch',
      name: 'Extremely dangerous OIDC beacon',
    };
    t.ok(verifyWith({ identity: IDENTITY, issuer: ISSUER, workflow }), 'all five matching claims pass');
    for (const claim of Object.keys(workflow) as (keyof typeof workflow)[]) {
      rejects(
        t,
        () => verifyWith({ identity: IDENTITY, issuer: ISSUER, workflow: { ...workflow, [claim]: `${workflow[claim]}x` } }),
        'IDENTITY_MISMATCH',
        `a different ${claim} is refused`,
      );
    }
  });

  t.test('a DSSE statement must name the artifact as a subject', async (t) => {
    const other = readFileSync(join(root, 'intoto-with-custom-trust-root', 'artifact'));
    const result = verifyWith({ identity: IDENTITY, issuer: ISSUER }, 'happy-path-intoto-in-dsse-v3');
    t.equal(result.statement?.predicateType, 'https://slsa.dev/provenance/v1', 'the statement is returned');
    rejects(t, () => verifyWith({ identity: IDENTITY, issuer: ISSUER }, 'happy-path-intoto-in-dsse-v3', other), 'DIGEST_MISMATCH', 'another artifact is refused even though the signature is valid');
  });

  t.test('policy configuration errors are usage errors', async (t) => {
    rejects(t, () => KeylessPolicy.create({ identity: IDENTITY, identityRegexp: '.*', issuer: ISSUER }), 'CONFIG_POLICY_INVALID', 'identity and regexp together');
    rejects(t, () => KeylessPolicy.create({ issuer: ISSUER }), 'CONFIG_POLICY_INVALID', 'no identity');
    rejects(t, () => KeylessPolicy.create({ identity: IDENTITY }), 'CONFIG_POLICY_INVALID', 'no issuer');
    await expectRejection(t, KeylessPolicy.load({ identityRegexp: '(', issuer: ISSUER }), 'CONFIG_POLICY_INVALID', 'a broken regexp');
    rejects(
      t,
      () => new BundleVerifier({ trustedRoot: publicGoodTrustedRoot(), keyless: KeylessPolicy.create({ identity: IDENTITY, issuer: ISSUER }), requireTlog: false }),
      'CONFIG_POLICY_INVALID',
      'keyless without a transparency log',
    );
  });

  t.test('trusted roots without a validity start are rejected', async (t) => {
    const publicGood = JSON.parse(
      readFileSync(join(root, 'trust-root-tlog-validity-end-inclusive', 'trusted_root.json'), 'utf8'),
    ) as { certificateAuthorities: { validFor: Record<string, string> }[]; ctlogs: { publicKey: { validFor: Record<string, string> } }[] };
    t.ok(SigstoreTrustedRoot.fromJson(structuredClone(publicGood), 'copy'), 'the unmodified root loads');
    const noCaStart = structuredClone(publicGood);
    delete noCaStart.certificateAuthorities[0]!.validFor.start;
    rejects(t, () => SigstoreTrustedRoot.fromJson(noCaStart, 'no CA start'), 'CONFIG_TRUST_ROOT_INVALID', 'a CA without start');
    const noCtStart = structuredClone(publicGood);
    delete noCtStart.ctlogs[0]!.publicKey.validFor.start;
    rejects(t, () => SigstoreTrustedRoot.fromJson(noCtStart, 'no ctlog start'), 'CONFIG_TRUST_ROOT_INVALID', 'a CT log key without start');
    rejects(t, () => SigstoreTrustedRoot.fromJson({ ...publicGood, mediaType: 'x' }, 'bad type'), 'CONFIG_TRUST_ROOT_INVALID', 'an unknown mediaType');
    rejects(t, () => SigstoreTrustedRoot.fromBytes(Buffer.from('{'), 'broken'), 'CONFIG_TRUST_ROOT_INVALID', 'broken JSON');
  });

  t.test('the embedded public-good root loads offline', async (t) => {
    const trusted = publicGoodTrustedRoot();
    t.ok(trusted.root.tlogs.length >= 1, 'it has transparency logs');
    t.ok(trusted.root.certificateAuthorities.length >= 1, 'it has Fulcio CAs');
  });
}

