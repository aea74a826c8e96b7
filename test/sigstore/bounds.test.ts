// What src/sigstore reads from a registry stays bounded: a bundle with
// thousands of malformed entries gives a short message, and a predicate
// nested deeper than canonicalisation can recurse is refused, not crashed on.
import t from 'tap';
import { MAX_BUNDLE_BYTES, parseBundle } from '../../src/sigstore/bundle/parse.ts';
import { MAX_PREDICATE_DEPTH, predicateDigest } from '../../src/sigstore/payload/in-toto.ts';
import { expectFailure } from './expect-failure.ts';

t.test('a bundle with many malformed entries fails with a message of bounded length', async (t) => {
  for (const count of [1, 6, 100, 10_000]) {
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { tlogEntries: Array.from({ length: count }, () => ({ logIndex: 'x', canonicalizedBody: '!' })) },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' }, signature: 'AAAA' },
    };
    const text = JSON.stringify(bundle);
    if (text.length > MAX_BUNDLE_BYTES) continue;
    const message = expectFailure(t, () => parseBundle(text, `bundle with ${count} bad entries`), 'BUNDLE_INVALID', `${count} bad entries: BUNDLE_INVALID`) ?? '';
    t.ok(message.length < 1200, `${count} bad entries: the message stays short (${message.length} chars)`);
    if (count * 2 > 5) t.match(message, new RegExp(`and ${count * 2 - 5} more`), 'and counts what it did not list');
  }
});

t.test('a predicate nested past the cap is refused; one at the cap is digested', async (t) => {
  const nest = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { v: value };
    return value;
  };
  const statement = (predicate: unknown) => ({ predicateType: 'https://slsa.dev/provenance/v1', subjects: [], predicate });
  t.match(predicateDigest(statement(nest(MAX_PREDICATE_DEPTH))), /^sha256:[0-9a-f]{64}$/, `depth ${MAX_PREDICATE_DEPTH} is digested`);
  for (const depth of [MAX_PREDICATE_DEPTH + 1, 10_000, 200_000]) {
    expectFailure(t, () => predicateDigest(statement(nest(depth)), 'deep attestation'), 'BUNDLE_INVALID', `depth ${depth} is refused with a code, not a stack overflow`);
  }
});
