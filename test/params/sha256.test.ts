import { createHash } from 'node:crypto';
import t from 'tap';
import { sha256Hex } from '../../src/params/sha256.ts';

t.test('matches node:crypto on the FIPS vectors and on every padding boundary', async (t) => {
  t.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  let mismatches = 0;
  for (let n = 0; n < 300; n++) {
    const text = 'a€\u{1f600}'.repeat(n).slice(0, n);
    if (sha256Hex(text) !== createHash('sha256').update(text).digest('hex')) mismatches++;
  }
  t.equal(mismatches, 0, 'lengths 0-299, multi-byte UTF-8 included');
  const long = 'x'.repeat(100_000);
  t.equal(sha256Hex(long), createHash('sha256').update(long).digest('hex'));
});
