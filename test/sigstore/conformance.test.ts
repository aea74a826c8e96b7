import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../harness/shared.ts';
import { listCases, runCase } from './conformance-cases.ts';

/**
 * The expected failure kind of every `_fail` case, from each case's README.
 * A case failing with another code is a test failure: "it failed somehow"
 * is not conformance.
 */
const EXPECTED_FAILURE: Record<string, string> = {
  'bundle-empty-certificate-chain_fail': 'BUNDLE_INVALID',
  'bundle-from-wrong-instance_fail': 'UNTRUSTED_ROOT',
  'bundle-invalid-base64-signature_fail': 'BUNDLE_INVALID',
  'bundle-malformed-json_fail': 'BUNDLE_INVALID',
  'bundle-negative-log-index_fail': 'BUNDLE_INVALID',
  'bundle-unknown-version_fail': 'BUNDLE_INVALID',
  // Ours to close: the chain carries a root; the library alone crashes on it.
  'bundle-with-root-cert_fail': 'BUNDLE_INVALID',
  'checkpoint-bad-keyhint_fail': 'TLOG_INVALID',
  'checkpoint-wrong-roothash_fail': 'TLOG_INVALID',
  'dsse-invalid-sig_fail': 'SIGNATURE_INVALID',
  // Valid in isolation, but not what was logged.
  'dsse-mismatch-envelope_fail': 'TLOG_INVALID',
  'dsse-mismatch-sig_fail': 'TLOG_INVALID',
  'inclusion-proof-corrupted-hash_fail': 'TLOG_INVALID',
  // The modified body no longer matches the log's signed entry timestamp.
  'incorrect-public-key_fail': 'TLOG_INVALID',
  'integrated-time-in-future_fail': 'CERTIFICATE_EXPIRED',
  'intoto-expired-certificate_fail': 'CERTIFICATE_EXPIRED',
  'intoto-log-entry-mismatch_fail': 'TLOG_INVALID',
  'intoto-missing-inclusion-proof_fail': 'TLOG_INVALID',
  'intoto-set-outside-signing-cert-validity_fail': 'CERTIFICATE_EXPIRED',
  'intoto-tsa-timestamp-outside-cert-validity_fail': 'CERTIFICATE_EXPIRED',
  'invalid-checkpoint-signature_fail': 'TLOG_INVALID',
  'invalid-ct-key_fail': 'SCT_INVALID',
  'invalid-inclusion-proof_fail': 'TLOG_INVALID',
  'managed-key-no-key_fail': 'KEY_REQUIRED',
  // Its key.pub is damaged: the configured key cannot be read at all.
  'managed-key-wrong-key_fail': 'CONFIG_KEY_INVALID',
  'message-digest-mismatch_fail': 'DIGEST_MISMATCH',
  'rekor2-checkpoint-missing-log-signature_fail': 'TLOG_INVALID',
  'rekor2-checkpoint-missing-origin_fail': 'TLOG_INVALID',
  'rekor2-checkpoint-missing-root-hash_fail': 'TLOG_INVALID',
  'rekor2-checkpoint-missing-size_fail': 'TLOG_INVALID',
  'rekor2-checkpoint-no-matching-signature_fail': 'TLOG_INVALID',
  'rekor2-dsse-invalid-sig_fail': 'SIGNATURE_INVALID',
  'rekor2-dsse-mismatch-envelope_fail': 'TLOG_INVALID',
  'rekor2-dsse-mismatch-sig_fail': 'TLOG_INVALID',
  'rekor2-no-inclusion-proof_fail': 'TLOG_INVALID',
  'rekor2-no-timestamp_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-outside-tsa-cert-validity_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-payload-mismatch_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'TIMESTAMP_INVALID',
  'rekor2-timestamp-with-incorrect-time_fail': 'CERTIFICATE_EXPIRED',
  'set-invalid-signature_fail': 'TLOG_INVALID',
  'signature-mismatch_fail': 'SIGNATURE_INVALID',
  // Ours to close: the library would read the missing start as 1970.
  'trust-root-tlog-missing-validity-start_fail': 'CONFIG_TRUST_ROOT_INVALID',
  'wrong-hashedrekord-artifact_fail': 'TLOG_INVALID',
  'wrong-hashedrekord-cert-and-sig_fail': 'TLOG_INVALID',
  'wrong-hashedrekord-entry_fail': 'TLOG_INVALID',
  'wrong-material_fail': 'DIGEST_MISMATCH',
};

const root = sharedPath(t, 'sigstore-conformance/bundle-verify');
if (root) {
  const cases = listCases(root);

  t.test('the suite is the one this map was written for', async (t) => {
    const failCases = cases.filter((name) => name.endsWith('_fail'));
    t.same(failCases, Object.keys(EXPECTED_FAILURE).sort(), 'every _fail case has an expected code, and no stale entries');
    t.ok(cases.length - failCases.length >= 20, 'the suite has its passing cases');
  });

  for (const name of cases) {
    t.test(name, async (t) => {
      const outcome = runCase(root, name);
      if (name.endsWith('_fail')) {
        t.notOk(outcome.ok, 'verification fails');
        t.equal(outcome.code, EXPECTED_FAILURE[name], `fails with the expected kind: ${outcome.message ?? ''}`);
        t.not(outcome.code, 'UNCAUGHT', 'no crash escapes the verifier');
      } else {
        t.ok(outcome.ok, `verifies (${outcome.code ?? ''} ${outcome.message ?? ''})`);
        const dir = join(root, name);
        if (existsSync(join(dir, 'key.pub'))) {
          t.equal(outcome.result?.signer.kind, 'key', 'keyed bundle reports its key');
        } else {
          t.equal(outcome.result?.signer.kind, 'keyless', 'keyless bundle reports its signer');
          const expected = existsSync(join(dir, 'identity')) ? readFileSync(join(dir, 'identity'), 'utf8').trim() : undefined;
          if (expected && outcome.result?.signer.kind === 'keyless') t.equal(outcome.result.signer.identity, expected);
        }
      }
    });
  }
}
