import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { Signer } from '@sigstore/verify';
import { KeylessPolicy, MAX_MATCHED_LENGTH } from '../../src/sigstore/policy/keyless-policy.ts';
import { expectFailure, expectRejection } from './expect-failure.ts';

// Keyless regexps are a pipeline author's pattern matched against a certificate
// identity an attacker chooses: they run on RE2 (re2js), linear in the identity's
// length, with cosign's (Go's) syntax. V8's backtracking engine never sees them.
const ISSUER = 'https://token.actions.githubusercontent.com';
const signer = (identity: string, issuer = ISSUER): Signer =>
  ({ identity: { subjectAlternativeName: identity, extensions: { issuer } } }) as unknown as Signer;

t.test('RE2 syntax: what cosign accepts passes, what only backtracking engines have is refused naming the param', async (t) => {
  const policy = await KeylessPolicy.load({ identityRegexp: 'https://github\\.com/org/[a-z-]+/\\.github/workflows/.+@refs/tags/v\\d+\\.\\d+\\.\\d+', issuer: ISSUER });
  t.same(policy.check(signer('https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3')), {
    identity: 'https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.2.3',
    issuer: ISSUER,
  });
  expectFailure(t, () => policy.check(signer('https://github.com/org/app/.github/workflows/release.yml@refs/heads/main')), 'IDENTITY_MISMATCH', 'a branch is not a tag');
  expectFailure(t, () => policy.check(signer('x https://github.com/org/app/.github/workflows/r.yml@refs/tags/v1.2.3')), 'IDENTITY_MISMATCH', 'anchored at the start');
  for (const [pattern, feature] of [
    ['https://github\\.com/(?=org/).*', 'lookahead'],
    ['(https://[a-z.]+)/\\1', 'backreference'],
    ['(?<=x)y', 'lookbehind'],
    ['https://github\\.com/org/\\u0041', 'escape'],
    ['(?i)https://github\\.com/org/.*', 'case folding'],
  ] as const) {
    const message = await expectRejection(t, KeylessPolicy.load({ identityRegexp: pattern, issuer: ISSUER }), 'CONFIG_POLICY_INVALID', `${feature} is refused`);
    t.match(message, /^certificate-identity-regexp: /, `${feature}: the message names the Task param`);
    t.match(message, new RegExp(`${feature === 'escape' ? 'escape' : feature}`), `${feature}: and the feature`);
  }
  await expectRejection(t, KeylessPolicy.load({ identity: 'x', issuerRegexp: '[', issuer: undefined }), 'CONFIG_POLICY_INVALID', 'a broken issuer regexp');
});

t.test('the pattern handed to @sigstore/verify (V8) never holds the author\'s regexp', async (t) => {
  const policy = await KeylessPolicy.load({ identityRegexp: '(a+)+b', issuer: ISSUER });
  t.equal(policy.subjectAlternativeName.source, '^[\\s\\S]*$', 'a pattern with no nested quantifier; our RE2 check decides');
  expectFailure(t, () => policy.check(signer('a'.repeat(40))), 'IDENTITY_MISMATCH', 'the RE2 check still refuses a non-match');
  const exact = KeylessPolicy.create({ identity: 'https://example.com/a.b', issuer: ISSUER });
  t.equal(exact.subjectAlternativeName.source, '^https:\\/\\/example\\.com\\/a\\.b$', 'an exact identity stays an escaped literal');
  expectFailure(t, () => exact.check(signer('https://example.com/aXb')), 'IDENTITY_MISMATCH', 'and "." in it is literal');
});

t.test('an identity longer than the matched bound never matches', async (t) => {
  const policy = await KeylessPolicy.load({ identityRegexp: 'a*', issuer: ISSUER });
  t.ok(policy.check(signer('a'.repeat(MAX_MATCHED_LENGTH))), 'at the bound it matches');
  expectFailure(t, () => policy.check(signer('a'.repeat(MAX_MATCHED_LENGTH + 1))), 'IDENTITY_MISMATCH', 'past it, refused');
});

t.test('catastrophic patterns against crafted identities finish (a watchdog fails only on a hang)', async (t) => {
  // Under V8 each of these takes exponential time on its value; RE2 is linear.
  const cases: [string, string][] = [
    ['(?:\\d|[0-9])'.repeat(40), `${'1'.repeat(40)}x`],
    ['(a+)+b', 'a'.repeat(MAX_MATCHED_LENGTH)],
    ['(a|aa)*b', 'a'.repeat(MAX_MATCHED_LENGTH)],
    ['https://github\\.com/(.*/)*x', `https://github.com/${'a/'.repeat(2000)}`],
  ];
  const moduleUrl = new URL('../../src/sigstore/policy/keyless-policy.ts', import.meta.url).href;
  const script = `
const { readFileSync } = await import('node:fs');
const { KeylessPolicy } = await import(${JSON.stringify(moduleUrl)});
for (const [identityRegexp, identity] of JSON.parse(readFileSync(0, 'utf8'))) {
  const policy = await KeylessPolicy.load({ identityRegexp, issuer: 'i' });
  try { policy.check({ identity: { subjectAlternativeName: identity, extensions: { issuer: 'i' } } }); process.stdout.write('match\\n'); }
  catch (error) { process.stdout.write(error.code + '\\n'); }
}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 300_000 });
  t.equal(child.signal, null, 'the watchdog did not have to stop the child');
  t.equal(child.status, 0, child.stderr);
  t.same(child.stdout.trim().split('\n'), cases.map(() => 'IDENTITY_MISMATCH'), 'every case finished, refused');
});
