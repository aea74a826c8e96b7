import t from 'tap';
import { validatedSetDigest } from '../../src/params/validate.ts';

// PARAMS_DIGEST is a format other tools must be able to recompute: sha256 over
// the UTF-8 bytes of JSON [[name, value], ...] sorted by name. The expected
// digests were computed with coreutils sha256sum (printf '%s' '<json>' | sha256sum),
// not with the code under test.
t.test('PARAMS_DIGEST is sha256 over the UTF-8 JSON of the name-sorted entries', async (t) => {
  const values = new Map<string, string | string[]>([
    ['note', 'é€😀'],
    ['images', ['alpine:3.20', 'b']],
    ['git-revision', '3f786850e387550fdab836ed7e6dc881de23001b'],
  ]);
  t.equal(validatedSetDigest(values), 'sha256:ea51c723e2941701297a28cde7e80ec84c0658aefb3d7d57d0c09245e49173fa', 'multi-byte UTF-8 hashed as UTF-8');
  t.equal(validatedSetDigest({}), 'sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945', 'an empty set hashes "[]"');
});

t.test('names sort by UTF-16 code unit, not locale, so every runtime agrees', async (t) => {
  // "B" (0x42) sorts before "a" (0x61) by code unit; a locale sort would put "a" first.
  const expected = 'sha256:9ac36ac44fbeedaa82a797441d34ab8e7a330a1d334d9ecafbfe548f9cfdcab5'; // sha256sum of [["B","2"],["a","1"]]
  t.equal(validatedSetDigest({ a: '1', B: '2' }), expected);
  t.equal(validatedSetDigest(new Map([['B', '2'], ['a', '1']])), expected, 'input order does not matter');
  t.not(validatedSetDigest({ a: '1', B: '2' }), validatedSetDigest({ a: '2', B: '1' }), 'values are bound to their names');
});
