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
import { RESULT_LIMITS_ENV, resultValueBytes } from '../../src/step/results.ts';
import { terminationMessageLimit, worstCaseMessageBytes } from '../../src/tekton/termination-message.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { repoRoot } from '../harness/shared.ts';

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

t.test("a 'rest' bound takes exactly what is left, and only one result may have it", async (t) => {
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
  const two = defineTask({
    ...base,
    results: ['a', 'b'].map((name) => ({ name, description: 'X.', bound: { kind: 'json' as const, maxBytes: 'rest' as const, why: 'rest' } })),
  });
  t.throws(() => resultsBudget(two), { code: 'BUILD_RESULTS_BUDGET', message: /both take the rest/ });
  const starved = defineTask({
    ...base,
    results: [
      { name: 'list', description: 'L.', bound: { kind: 'json', maxBytes: 'rest', why: 'the rest' } },
      { name: 'big', description: 'B.', bound: { kind: 'text', maxBytes: 3000, why: 'big' } },
    ],
  });
  t.throws(() => assertResultsFit(starved), { code: 'BUILD_RESULTS_BUDGET', message: /leave no room for list/ });
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
// ending in ARTIFACT_INPUTS or ARTIFACT_OUTPUTS.
function chainsTypeHint(name: string): string | undefined {
  if (name === 'IMAGES') return 'IMAGES';
  return ['IMAGE_URL', 'IMAGE_DIGEST', 'ARTIFACT_URI', 'ARTIFACT_DIGEST', 'ARTIFACT_INPUTS', 'ARTIFACT_OUTPUTS'].find((suffix) => name.endsWith(suffix));
}

t.test('no catalog result is a Tekton Chains type hint, so Chains never takes a verified image for a built one', async (t) => {
  t.equal(chainsTypeHint('MY_IMAGE_URL'), 'IMAGE_URL', 'the rule matches what Chains matches');
  t.equal(chainsTypeHint('IMAGES'), 'IMAGES');
  t.equal(chainsTypeHint('images'), undefined, 'case sensitive, as strings.HasSuffix is');
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  const names = definitions.flatMap((definition) => definition.results.map((result) => `${definition.name}.${result.name}`));
  t.ok(names.includes('verify-image.verified-image'), 'verify-image has a plain single-image result');
  for (const name of names) t.equal(chainsTypeHint(name.split('.')[1]!), undefined, `${name} is not a Chains type hint`);
});
