import t from 'tap';
import { boundedText } from '../../src/telemetry/bounded-text.ts';

/** Reads boundedText's escapes back: the inverse for every value that was not cut. */
const decode = (text: string) => text.replace(/\\u\{([0-9a-f]+)\}/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)));

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = ['\\', '"', '\n', '\r', '\t', '\u0000', '\u007f', '\u0085', '\u202e', '\u2066', '\u200b', '\ufeff', '\ud800', '\udfff', '\u{1f680}', 'é', '/', '%', '{', '}', '=', ',', ' ', '\\u{41}', 'a', 'Z', '0', '_', '.', '-'];

t.test('generated values: bounded printable ASCII that reads back to the original', async (t) => {
  const next = random(13);
  let checked = 0;
  for (let i = 0; i < 2000; i++) {
    const length = Math.floor(next() * 12);
    let value = '';
    for (let j = 0; j < length; j++) value += HOSTILE[Math.floor(next() * HOSTILE.length)];
    const shown = boundedText(value, 128);
    if (!/^[\x20-\x7e]+$/.test(shown) || shown.length > 128) {
      t.fail(`case ${i}: ${JSON.stringify(value)} -> ${JSON.stringify(shown)}`);
      continue;
    }
    if (value !== '' && decode(shown) !== value) t.fail(`case ${i}: ${JSON.stringify(value)} does not read back from ${JSON.stringify(shown)}`);
    checked++;
  }
  t.equal(checked, 2000, 'every generated value is printable ASCII within the bound');
});

t.test('a backslash is escaped too, so escaped text cannot pose as an escape', async (t) => {
  t.equal(boundedText('\\u{202e}', 64), '\\u{5c}u{202e}');
  t.equal(boundedText('\u202e', 64), '\\u{202e}');
  t.not(boundedText('\\u{202e}', 64), boundedText('\u202e', 64));
});

t.test('long values are cut with their length, never inside an escape', async (t) => {
  const cut = boundedText('x'.repeat(1000), 64);
  t.equal(cut.length <= 64, true);
  t.match(cut, /^x+\.\.\.\(1000 chars\)$/);
  const escapes = boundedText('\u202e'.repeat(100), 64);
  t.ok(escapes.length <= 64);
  t.match(escapes, /^(\\u\{202e\})+\.\.\.\(100 chars\)$/, escapes);
  t.equal(boundedText('', 64), '(empty)', 'an empty value is shown as such (Prometheus drops empty labels)');
});
