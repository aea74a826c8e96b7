// The JSON shape guard: generated documents, split into random chunks, are
// accepted exactly when JSON.parse accepts them and their shape is within
// the limits; past a limit the guard stops at the first value over it.
import t from 'tap';
import { JsonShapeExceeded, JsonShapeGuard, checkJsonShape, type JsonShapeLimits } from '../../src/oci/registry/bounded-json.ts';

/** A small deterministic PRNG, so every run generates the same documents. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const STRINGS = ['', 'a', 'sha256:abc', 'quote " inside', 'back\\slash', 'brackets [ ] { } , :', 'é ü 😀', '\u2028', '\n\t'];

function generate(random: () => number, depth: number): unknown {
  const pick = random();
  if (depth <= 0 || pick < 0.35) {
    const scalar = random();
    if (scalar < 0.25) return STRINGS[Math.floor(random() * STRINGS.length)];
    if (scalar < 0.5) return Math.round((random() - 0.5) * 1e6) / 100;
    if (scalar < 0.7) return random() < 0.5;
    return null;
  }
  const size = Math.floor(random() * 6);
  if (pick < 0.7) return Array.from({ length: size }, () => generate(random, depth - 1));
  return Object.fromEntries(Array.from({ length: size }, (_, i) => [`${STRINGS[i % STRINGS.length]}${i}`, generate(random, depth - 1)]));
}

/** What the guard should measure, computed by walking the parsed value. */
function shapeOf(value: unknown, text: string): { depth: number; maxArray: number; values: number } {
  let depth = 0;
  let maxArray = 0;
  let values = 0;
  const walk = (node: unknown, level: number) => {
    values++;
    if (typeof node !== 'object' || node === null) return;
    depth = Math.max(depth, level);
    if (Array.isArray(node)) {
      maxArray = Math.max(maxArray, node.length);
      node.forEach((child) => walk(child, level + 1));
    } else {
      for (const child of Object.values(node)) {
        values++; // the key
        walk(child, level + 1);
      }
    }
  };
  walk(value, 1);
  void text;
  return { depth, maxArray, values };
}

function guardWith(bytes: Buffer, limits: JsonShapeLimits, random: () => number): { ok: boolean } | { exceeded: JsonShapeExceeded } {
  const guard = new JsonShapeGuard(limits);
  try {
    for (let offset = 0; offset < bytes.byteLength; ) {
      const size = 1 + Math.floor(random() * 64);
      guard.write(bytes.subarray(offset, offset + size));
      offset += size;
    }
    return { ok: guard.end() };
  } catch (error) {
    if (error instanceof JsonShapeExceeded) return { exceeded: error };
    throw error;
  }
}

t.test('generated documents in random chunks: the guard measures what JSON.parse builds', async (t) => {
  const random = prng(42);
  let checked = 0;
  for (let i = 0; i < 400; i++) {
    const value = generate(random, 1 + Math.floor(random() * 7));
    const text = random() < 0.5 ? JSON.stringify(value) : JSON.stringify(value, null, 1 + Math.floor(random() * 3));
    const bytes = Buffer.from(text);
    const shape = shapeOf(value, text);
    // Exactly at the measured shape: accepted.
    const exact = guardWith(bytes, { maxDepth: shape.depth, maxArrayItems: shape.maxArray, maxValues: shape.values }, random);
    if (!('ok' in exact) || !exact.ok) {
      t.fail(`document ${i} within its own shape was refused: ${text.slice(0, 200)} ${JSON.stringify(exact)}`);
      continue;
    }
    // One less on each limit (where there is something to take away): refused, naming that limit.
    const tighter: [keyof JsonShapeLimits, JsonShapeLimits][] = [];
    if (shape.depth > 0) tighter.push(['maxDepth', { maxDepth: shape.depth - 1, maxArrayItems: shape.maxArray, maxValues: shape.values }]);
    if (shape.maxArray > 0) tighter.push(['maxArrayItems', { maxDepth: shape.depth, maxArrayItems: shape.maxArray - 1, maxValues: shape.values }]);
    tighter.push(['maxValues', { maxDepth: shape.depth, maxArrayItems: shape.maxArray, maxValues: shape.values - 1 }]);
    for (const [limit, limits] of tighter) {
      const result = guardWith(bytes, limits, random);
      if (!('exceeded' in result) || result.exceeded.limit !== limit) t.fail(`document ${i} with ${limit} one under its shape: ${JSON.stringify(result)} ${text.slice(0, 200)}`);
    }
    checked++;
  }
  t.equal(checked, 400, 'every generated document measured exactly, and refused one under each limit');
});

t.test('malformed JSON is never reported well-formed', async (t) => {
  const wide: JsonShapeLimits = { maxDepth: 100, maxArrayItems: 1000, maxValues: 10_000 };
  const malformed = ['', ' ', '{', '[1,2', '{"a":1}x', '{"a":1}{"b":2}', '[1,]', '{"a"}', "{'a':1}", '[01]', '"\\x"', 'nul', '[1] [2]', '\ufeff{}', '{"a":1}\u00a0'];
  for (const text of malformed) {
    let parsed = true;
    try {
      JSON.parse(text);
    } catch {
      parsed = false;
    }
    t.equal(parsed, false, `JSON.parse refuses ${JSON.stringify(text)}`);
    t.equal(checkJsonShape(Buffer.from(text), wide) && parsed, false, `and it is not used: ${JSON.stringify(text)}`);
  }
  for (const text of ['{}', '[]', '0', '"x"', ' {"a":[1,2,{"b":null}]} \n', '[true,false,null]']) {
    t.equal(checkJsonShape(Buffer.from(text), wide), true, `well-formed: ${JSON.stringify(text)}`);
  }
});

t.test('a million items stop at the first one past the cap, whatever the chunking', async (t) => {
  const limits: JsonShapeLimits = { maxDepth: 8, maxArrayItems: 1000, maxValues: 1_000_000 };
  for (const item of ['{}', '1', '"x"', '[]', '{"digest":"sha256:00","size":1}']) {
    const guard = new JsonShapeGuard(limits);
    guard.write(Buffer.from('{"manifests":['));
    let written = 0;
    let error: unknown;
    try {
      for (let i = 0; i < 1_000_000; i++) {
        guard.write(Buffer.from(i === 0 ? item : `,${item}`));
        written++;
      }
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof JsonShapeExceeded && error.limit === 'maxArrayItems', `${item}: refused for its array length`);
    // A number is complete only when the delimiter after it arrives: it is counted one chunk later.
    t.equal(written, item === '1' ? 1001 : 1000, `${item}: stopped at the first item past 1000`);
  }
});

t.test('nesting and values stop at their caps while streaming', async (t) => {
  const deep = new JsonShapeGuard({ maxDepth: 32, maxArrayItems: 10, maxValues: 1000 });
  let opened = 0;
  t.throws(() => {
    for (;;) {
      deep.write(Buffer.from('['));
      opened++;
    }
  }, new JsonShapeExceeded('maxDepth', 32));
  t.equal(opened, 32, 'the 33rd level was refused');
  const wide = new JsonShapeGuard({ maxDepth: 32, maxArrayItems: 10, maxValues: 1000 });
  wide.write(Buffer.from('{'));
  let members = 0;
  t.throws(() => {
    for (;;) {
      wide.write(Buffer.from(`${members === 0 ? '' : ','}"k${members}":"v"`));
      members++;
    }
  }, new JsonShapeExceeded('maxValues', 1000));
  t.equal(members, 499, 'an object is bounded by the values cap (a key and a value per member)');
});
