// The results budget: every result declares a bound, the build adds them up
// against what Tekton's termination message leaves (see
// src/tekton/termination-message.ts for the sources) and fails a Task that
// could overflow it.
import t from 'tap';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { defineTask, type TaskDefinitionInput } from '../../src/build/definition.ts';
import { loadTaskDefinitions } from '../../src/build/load-definitions.ts';
import { assertResultsFit, DIGEST_BYTES, resultMaxBytes, resultsBudget } from '../../src/build/results-budget.ts';
import { emitTask } from '../../src/build/task-emitter.ts';
import { injectionResults } from '../../src/credentials/injector.ts';
import { MAX_OPAQUE_FILES, MAX_OPAQUE_PATH_CHARS } from '../../src/credentials/writers/opaque.ts';
import { RESULT_LIMITS_ENV, RESULT_SHARED_ENV, resultValueBytes } from '../../src/step/results.ts';
import { terminationMessageLimit, worstCaseMessageBytes } from '../../src/tekton/termination-message.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { repoRoot } from '../harness/shared.ts';
import { ARTIFACT_OBJECT_KEYS, artifactInputResultName, artifactInputValue, chainsTypeHint, isOutputHint, MAX_ARTIFACT_INPUTS } from '../../src/chains/type-hints.ts';

const pinned = (program: string) => `registry.example.com/catalog/steps/${program}@sha256:${'c'.repeat(64)}`;

const base: TaskDefinitionInput = {
  name: 'demo',
  version: '0.1.0',
  displayName: 'Demo',
  summary: 'A demo Task.',
  description: 'Longer text.',
  categories: ['Security'],
  tags: ['demo'],
  steps: [{ name: 'run', program: 'validate-params' }],
};

t.test('each kind of bound gives its size in the termination message', async (t) => {
  t.equal(resultMaxBytes({ kind: 'digest', orEmpty: false }), DIGEST_BYTES);
  t.equal(DIGEST_BYTES, `sha256:${'0'.repeat(64)}`.length);
  t.equal(resultMaxBytes({ kind: 'boolean' }), 5);
  t.equal(resultMaxBytes({ kind: 'enum', values: ['dev', 'staging', 'prod'] }), 7);
  t.equal(resultMaxBytes({ kind: 'count', max: 12345 }), 5);
  t.equal(resultMaxBytes({ kind: 'json', maxBytes: 300, why: 'capped' }), 300);
  t.equal(resultMaxBytes({ kind: 'json', maxBytes: 'rest', why: 'the rest' }), undefined, 'rest is decided by the whole Task');
  t.equal(resultMaxBytes(undefined), 1024, 'an undeclared bound is the 1024-byte default');
  t.throws(() => defineTask({ ...base, results: [{ name: 'r', description: 'd', bound: { kind: 'enum', values: ['a<b'] } }] }), /escapes/, 'enum values must not need escaping');
});

t.test('a Task declaring an oversized result fails the build', async (t) => {
  const oversized = defineTask({
    ...base,
    results: [{ name: 'report', description: 'A whole report.', bound: { kind: 'text', maxBytes: 4000, why: 'the whole report' } }],
  });
  t.throws(() => emitTask(oversized, pinned), { code: 'BUILD_RESULTS_BUDGET', message: /demo: its results can take \d+ bytes .* only 3072 fit/s });
  t.throws(() => assertResultsFit(oversized), { code: 'BUILD_RESULTS_BUDGET' });

  // Results that fit one by one can still overflow together.
  const many = defineTask({
    ...base,
    results: ['a', 'b', 'c'].map((name) => ({ name, description: 'Part.', bound: { kind: 'json' as const, maxBytes: 1000, why: 'a part' } })),
  });
  t.throws(() => emitTask(many, pinned), { code: 'BUILD_RESULTS_BUDGET' });
});

t.test('the budget boundary: exactly full passes, one byte more fails (generated over step counts)', async (t) => {
  let cases = 0;
  for (let steps = 1; steps <= 8; steps++) {
    const limit = terminationMessageLimit({ steps });
    const framing = worstCaseMessageBytes([{ name: 'r', maxBytes: 0 }]);
    for (const [extra, fits] of [
      [0, true],
      [1, false],
    ] as const) {
      const definition = defineTask({
        ...base,
        steps: Array.from({ length: steps }, (_, i) => ({ name: `s${i}`, program: 'validate-params' })),
        results: [{ name: 'r', description: 'R.', bound: { kind: 'text', maxBytes: limit - framing + extra, why: 'exactly the budget' } }],
      });
      if (fits) t.equal(resultsBudget(definition).worstCase, limit, `${steps} step(s): exactly ${limit} bytes fit`);
      else t.throws(() => emitTask(definition, pinned), { code: 'BUILD_RESULTS_BUDGET' }, `${steps} step(s): ${limit + 1} bytes do not`);
      cases++;
    }
  }
  t.equal(cases, 16);
});

t.test("a 'rest' bound takes exactly what is left; several share it as one pool", async (t) => {
  const definition = defineTask({
    ...base,
    results: [
      { name: 'list', description: 'L.', bound: { kind: 'json', maxBytes: 'rest', why: 'the rest' } },
      { name: 'digest', description: 'D.', bound: { kind: 'digest' } },
    ],
  });
  const budget = resultsBudget(definition);
  t.equal(worstCaseMessageBytes(budget.results), budget.limit, 'the resolved bounds fill the budget exactly');
  t.ok(budget.results[0]!.maxBytes > 2500, `list gets ${budget.results[0]!.maxBytes} bytes`);
  t.equal(budget.shared, undefined, 'one rest result needs no pool');
  // Generated: 2 to 6 results sharing the rest, with a fixed result beside them.
  for (let count = 2; count <= 6; count++) {
    const names = Array.from({ length: count }, (_, i) => `part${i}`);
    const shared = resultsBudget(
      defineTask({
        ...base,
        results: [
          ...names.map((name) => ({ name, description: 'X.', bound: { kind: 'json' as const, maxBytes: 'rest' as const, why: 'rest' } })),
          { name: 'digest', description: 'D.', bound: { kind: 'digest' } },
        ],
      }),
    );
    t.same(shared.shared?.names, names, `${count} results share one pool`);
    const pool = shared.shared!.maxBytes;
    t.ok(shared.results.filter((r) => names.includes(r.name)).every((r) => r.maxBytes === pool), 'each may take all of it');
    // The pool split any way between them (here: all to one, the others empty) fills the message exactly.
    const split = shared.results.map((r) => (r.name === 'part0' ? r : names.includes(r.name) ? { ...r, maxBytes: 0 } : r));
    t.equal(worstCaseMessageBytes(split), shared.limit, `${count}: the pool taken by one result fills the budget exactly`);
    const even = shared.results.map((r) => (names.includes(r.name) ? { ...r, maxBytes: Math.floor(pool / count) } : r));
    t.ok(worstCaseMessageBytes(even) <= shared.limit, `${count}: the pool split evenly fits`);
  }
  const starved = defineTask({
    ...base,
    results: [
      { name: 'list', description: 'L.', bound: { kind: 'json', maxBytes: 'rest', why: 'the rest' } },
      { name: 'big', description: 'B.', bound: { kind: 'text', maxBytes: 3000, why: 'big' } },
    ],
  });
  t.throws(() => assertResultsFit(starved), { code: 'BUILD_RESULTS_BUDGET', message: /leave no room for list/ });
});

t.test('a Task with a shared pool hands it to its steps', async (t) => {
  const definition = defineTask({
    ...base,
    results: ['a', 'b'].map((name) => ({ name, description: 'X.', bound: { kind: 'json' as const, maxBytes: 'rest' as const, why: 'rest' } })),
  });
  const step = emitTask(definition, pinned).spec.steps[0]!;
  const budget = resultsBudget(definition);
  t.same(
    step.env?.find((variable) => variable.name === RESULT_SHARED_ENV)?.value,
    `${budget.shared!.maxBytes}:a,b`,
    'TEKTON_CATALOG_RESULT_SHARED names the pool and its results',
  );
  const own = defineTask({ ...base, steps: [{ name: 'run', program: 'validate-params', env: [{ name: RESULT_SHARED_ENV, value: '1:a,b' }] }] });
  t.throws(() => emitTask(own, pinned), { code: 'BUILD_RESERVED_ENV' }, 'a definition cannot set it itself');
});

t.test('every catalog Task declares a bound for every result, fits its budget, and hands the bounds to its steps', async (t) => {
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  const built = await builtCatalog();
  for (const definition of definitions) {
    for (const result of definition.results) t.ok(result.bound, `${definition.name}: ${result.name} declares its bound`);
    const budget = assertResultsFit(definition);
    t.ok(budget.worstCase <= budget.limit, `${definition.name}: ${budget.worstCase} of ${budget.limit} bytes at worst`);
    const record = built.index.tasks[definition.name]!.versions[definition.version]!;
    const task = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as { spec: { steps: { env?: { name: string; value: string }[] }[] } };
    const expected = budget.results.map((result) => `${result.name}=${result.maxBytes}`).join(',');
    for (const step of task.spec.steps) {
      const limits = step.env?.find((variable) => variable.name === RESULT_LIMITS_ENV)?.value;
      t.equal(limits, budget.results.length > 0 ? expected : undefined, `${definition.name}: the step gets every bound`);
    }
  }
});

t.test('a bound derived from a program cap holds at that cap: inject-credentials fingerprints', async (t) => {
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  const bound = resultMaxBytes(definitions.find((d) => d.name === 'inject-credentials')!.results.find((r) => r.name === 'fingerprints')!.bound)!;
  const files = Array.from({ length: MAX_OPAQUE_FILES }, (_, i) => ({ path: `files/${String(i).padEnd(MAX_OPAQUE_PATH_CHARS, 'x')}`, sha256: 'f'.repeat(64) }));
  t.equal(resultValueBytes(injectionResults(files).fingerprints), bound, 'the most files with the longest paths take exactly the bound');
});

// Tekton Chains (tektoncd/chains pkg/artifacts/signable.go) signs and attests
// what a TaskRun declares it built: results whose names end in IMAGE_URL or
// IMAGE_DIGEST (ExtractOCIImagesFromResults, strings.HasSuffix, case
// sensitive), a result named exactly IMAGES, names ending in ARTIFACT_URI or
// ARTIFACT_DIGEST (ExtractSignableTargetFromResults) and object results
// ending in ARTIFACT_OUTPUTS. Object results ending in ARTIFACT_INPUTS are
// inputs (materials): isStructuredResult wants an object (ObjectVal) with a
// non-empty uri and a digest "<algorithm>:<hex>" (checkDigest).
t.test('the Chains type-hint rule matches what Chains matches', async (t) => {
  t.equal(chainsTypeHint('MY_IMAGE_URL'), 'IMAGE_URL');
  t.equal(chainsTypeHint('IMAGES'), 'IMAGES');
  t.equal(chainsTypeHint('images'), undefined, 'case sensitive, as strings.HasSuffix is');
  t.equal(chainsTypeHint('first_ARTIFACT_INPUTS'), 'ARTIFACT_INPUTS');
  t.equal(chainsTypeHint('x-ARTIFACT_OUTPUTS'), 'ARTIFACT_OUTPUTS');
  t.ok(isOutputHint('IMAGE_DIGEST') && isOutputHint('ARTIFACT_OUTPUTS') && isOutputHint('IMAGES'));
  t.notOk(isOutputHint('ARTIFACT_INPUTS') || isOutputHint(undefined));
});

t.test('no catalog result is a Chains output hint, so Chains never takes a verified image for a built one', async (t) => {
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  const names = definitions.flatMap((definition) => definition.results.map((result) => `${definition.name}.${result.name}`));
  t.ok(names.includes('verify-image.verified-image'), 'verify-image has a plain single-image result');
  for (const name of names) t.notOk(isOutputHint(chainsTypeHint(name.split('.')[1]!)), `${name} is not a Chains output hint`);
  const inputs = names.filter((name) => chainsTypeHint(name.split('.')[1]!) === 'ARTIFACT_INPUTS');
  t.same(inputs, Array.from({ length: MAX_ARTIFACT_INPUTS }, (_, i) => `verify-image.${artifactInputResultName(i + 1)}`), 'only verify-image emits inputs, one per image it can verify');
});

t.test('verify-image emits its inputs in the shape Chains reads: an object with uri and an <algorithm>:<hex> digest', async (t) => {
  const built = await builtCatalog();
  const record = built.index.tasks['verify-image']!.versions[built.index.tasks['verify-image']!.latest]!;
  const task = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as { spec: { results: { name: string; type: string; properties?: Record<string, { type: string }> }[] } };
  const hinted = task.spec.results.filter((result) => chainsTypeHint(result.name) === 'ARTIFACT_INPUTS');
  t.equal(hinted.length, MAX_ARTIFACT_INPUTS);
  for (const result of hinted) {
    t.equal(result.type, 'object', `${result.name} is an object result (Chains reads ObjectVal only)`);
    t.same(Object.keys(result.properties ?? {}).sort(), [...ARTIFACT_OBJECT_KEYS].sort(), `${result.name} declares exactly uri and digest`);
    t.ok(Object.values(result.properties ?? {}).every((p) => p.type === 'string'), 'string properties');
  }
  // Generated references: every registry/repository shape the step can produce.
  const hex = 'ab'.repeat(32);
  for (const reference of ['ghcr.io/org/app', 'registry.example.com:5000/a/b/c', 'docker.io/library/alpine', `r.example/${'x'.repeat(200)}`]) {
    const value = JSON.parse(artifactInputValue(`${reference}@sha256:${hex}`)) as Record<string, string>;
    t.same(Object.keys(value).sort(), ['digest', 'uri']);
    t.equal(value.uri, `oci://${reference}`);
    t.match(value.digest, /^sha256:[0-9a-f]{64}$/, 'checkDigest: algorithm, colon, valid hex');
  }
  t.throws(() => artifactInputValue('ghcr.io/org/app:1.0'), /sha256/, 'a reference without a digest is never an input');
});
