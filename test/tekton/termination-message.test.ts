// The termination message model against Tekton's and Kubernetes' own
// numbers and test vectors:
// - tektoncd/pipeline pkg/termination/write_test.go: TestExistingFile expects
//   `[{"key":"key1","value":"hello"},{"key":"key2","value":"world"}]`, and
//   TestMaxSizeFile that a 4096-byte value is refused;
// - pkg/result/result.go: RunResult marshals as key, value, type (omitempty);
// - kubernetes pkg/kubelet/status normalizeStatus: 12 KiB per pod, divided by
//   len(containers) + len(initContainers).
import t from 'tap';
import {
  encodeTerminationMessage,
  goJsonEscape,
  goJsonEscapedLength,
  MAX_CONTAINER_TERMINATION_MESSAGE_BYTES,
  podContainerCount,
  resultValueBytes,
  ResultType,
  terminationMessageLimit,
  worstCaseInternalEntries,
  worstCaseMessageBytes,
} from '../../src/tekton/termination-message.ts';

t.test("Tekton's write_test vectors", async (t) => {
  t.equal(
    encodeTerminationMessage([
      { key: 'key1', value: 'hello' },
      { key: 'key2', value: 'world' },
    ]),
    '[{"key":"key1","value":"hello"},{"key":"key2","value":"world"}]',
    'TestExistingFile: type 0 is left out (omitempty)',
  );
  const tooBig = encodeTerminationMessage([{ key: 'key1', value: 'a'.repeat(4096) }]);
  t.ok(Buffer.byteLength(tooBig) > MAX_CONTAINER_TERMINATION_MESSAGE_BYTES, 'TestMaxSizeFile: a 4096-byte value cannot fit with its framing');
  t.equal(
    encodeTerminationMessage([
      { key: 'digest', value: 'sha256:abc', type: ResultType.taskRun },
      { key: 'StartedAt', value: '2024-01-01T00:00:00.000Z', type: ResultType.internalTekton },
    ]),
    '[{"key":"digest","value":"sha256:abc","type":1},{"key":"StartedAt","value":"2024-01-01T00:00:00.000Z","type":3}]',
    'results are type 1, the entrypoint own entries type 3 (pkg/result/result.go)',
  );
});

t.test("Go's encoding/json string escaping, byte by byte", async (t) => {
  const cases: [string | Uint8Array, string][] = [
    ['plain text 123', 'plain text 123'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['<script>&', '\\u003cscript\\u003e\\u0026'],
    ['\u0000\u0001\u001f', '\\u0000\\u0001\\u001f'],
    ['\b\f', '\\u0008\\u000c'],
    ['\u007f', '\u007f'],
    ['é€😀', 'é€😀'],
    ['a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    [Uint8Array.from([0x61, 0xff, 0x62]), 'a\\ufffdb'],
    [Uint8Array.from([0xe2, 0x82]), '\\ufffd\\ufffd'],
    [Uint8Array.from([0xed, 0xa0, 0x80]), '\\ufffd\\ufffd\\ufffd'],
    [Uint8Array.from([0xc0, 0xaf]), '\\ufffd\\ufffd'],
  ];
  for (const [input, expected] of cases) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    t.equal(goJsonEscape(bytes), expected, JSON.stringify(expected));
    t.equal(goJsonEscapedLength(bytes), Buffer.byteLength(expected), `length of ${JSON.stringify(expected)}`);
  }
});

t.test('escaped length equals the escaped text, and valid UTF-8 round-trips through JSON (generated)', async (t) => {
  let seed = 20240601;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const alphabet = ['a', '"', '\\', '\n', '\u0001', '<', '>', '&', 'é', '€', '😀', '\u2028', '\u2029', ' ', '\u007f'];
  let checked = 0;
  for (let i = 0; i < 2000; i++) {
    const text = Array.from({ length: Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const escaped = goJsonEscape(Buffer.from(text, 'utf8'));
    if (goJsonEscapedLength(Buffer.from(text, 'utf8')) !== Buffer.byteLength(escaped)) t.fail(`length differs for ${JSON.stringify(text)}`);
    if (JSON.parse(`"${escaped}"`) !== text) t.fail(`does not round-trip: ${JSON.stringify(text)}`);
    if (resultValueBytes(text) !== Buffer.byteLength(escaped)) t.fail('resultValueBytes differs');
    checked++;
  }
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from({ length: Math.floor(random() * 24) }, () => Math.floor(random() * 256));
    if (goJsonEscapedLength(bytes) !== Buffer.byteLength(goJsonEscape(bytes))) t.fail(`length differs for bytes ${Buffer.from(bytes).toString('hex')}`);
    checked++;
  }
  t.equal(checked, 4000, '4000 generated values checked');
});

t.test("the kubelet's per-pod share and Tekton's per-container cap", async (t) => {
  t.equal(podContainerCount({ steps: 1 }), 4, "one step, Tekton's prepare init container, two injected");
  t.equal(terminationMessageLimit({ steps: 1 }), 3072, '12288 / 4');
  t.equal(terminationMessageLimit({ steps: 1, injected: 0 }), 4096, 'two containers: 6144 each, capped at 4096 by Tekton');
  t.equal(terminationMessageLimit({ steps: 5, injected: 0 }), 2048, '12288 / 6');
  t.equal(terminationMessageLimit({ steps: 1, scripts: true, sidecars: 1 }), 2048, 'place-scripts and a sidecar count too');
});

t.test('the worst case is the message at every bound, with the internal entries', async (t) => {
  const results = [
    { name: 'digest', maxBytes: 71 },
    { name: 'list', maxBytes: 900 },
  ];
  const internal = worstCaseInternalEntries();
  t.same(
    internal.map((entry) => entry.key),
    ['StartedAt', 'Reason'],
  );
  const message = encodeTerminationMessage([
    { key: 'digest', value: `sha256:${'a'.repeat(64)}`, type: 1 },
    { key: 'list', value: 'x'.repeat(900), type: 1 },
    ...internal,
  ]);
  t.equal(worstCaseMessageBytes(results), Buffer.byteLength(message));
  t.equal(worstCaseMessageBytes(results, { onErrorContinue: true }) - worstCaseMessageBytes(results), ',{"key":"ExitCode","value":"255","type":3}'.length);
  t.equal(worstCaseMessageBytes([]), Buffer.byteLength(encodeTerminationMessage(internal)), 'no results: only the entrypoint entries');
});
