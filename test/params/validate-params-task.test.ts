import t from 'tap';
import { emitTask } from '../../src/build/task-emitter.ts';
import { compileRuleSet } from '../../src/params/compile.ts';
import { parseArgs } from '../../src/params/inputs.ts';
import { parseRuleSource } from '../../src/params/rule-source.ts';
import { validateParams } from '../../src/params/validate.ts';
import { validateAgainstCrds, validateTektonDocument } from '../../src/tekton/validate.ts';
import { sharedPath } from '../harness/shared.ts';
import { TELEMETRY_ENV } from '../../src/telemetry/task-params.ts';
import definition from '../../tasks/validate-params/task.ts';

const pinned = (program: string) => `registry.example.com/catalog/steps/${program}@sha256:${'c'.repeat(64)}`;

t.test('the Task passes values and elements only through args and env', async (t) => {
  t.equal(definition.name, 'validate-params');
  t.equal(definition.version, '0.1.0');
  t.same(definition.results.map((r) => r.name), ['VALIDATED', 'PARAMS_DIGEST']);
  const step = definition.steps[0]!;
  t.equal(step.program, 'validate-params');
  t.equal(step.script, undefined, 'no script');
  t.same(step.env.map((e) => e.name), ['RULES', 'TASK_NAME', ...TELEMETRY_ENV.map((e) => e.name)]);
  t.equal(step.env.find((e) => e.name === 'TASK_NAME')?.value, '$(context.task.name)');
});

t.test('a hostile values array cannot turn into --help: --elements always follows it', async (t) => {
  const step = definition.steps[0]!;
  // Simulate Tekton's array expansion with values ["--help"] and no elements.
  const argv = step.args.flatMap((arg) =>
    arg === '$(params.values[*])' ? ['--help'] : arg === '$(params.elements[*])' ? [] : arg === '$(params.elements-name)' ? [''] : [arg],
  );
  t.throws(() => parseArgs(argv), { code: 'USAGE_ARGS' }, '--help among other args is an error, not help');
});

t.test('emitted Task and samples are valid Tekton and validate against the CRDs', async (t) => {
  const task = emitTask(definition, pinned);
  t.same(validateTektonDocument(task), [], 'Task passes model and reference checks');
  const crds = sharedPath(t, 'tekton/crds');
  if (crds) t.same(validateAgainstCrds(task, crds), [], 'Task passes the CRD schema');
  t.same(definition.samples.map((s) => s.file).sort(), ['pipeline.yaml', 'taskrun.yaml']);
  for (const sample of definition.samples) {
    for (const doc of sample.documents) {
      t.same(validateTektonDocument(doc), [], `${sample.file} passes model and reference checks`);
      if (crds) t.same(validateAgainstCrds(doc, crds), [], `${sample.file} passes the CRD schema`);
    }
  }
});

t.test('the Pipeline sample gates its build on validate with runAfter', async (t) => {
  const pipeline = definition.samples.find((s) => s.file === 'pipeline.yaml')!.documents[0] as {
    spec: { tasks: { name: string; taskRef?: { resolver?: string; params?: { name: string; value: string }[] }; runAfter?: string[] }[] };
  };
  const tasks = pipeline.spec.tasks;
  // The sample resolves validate-params from its bundle, as the README recommends.
  const validate = tasks.find((task) => task.taskRef?.resolver === 'bundles' && task.taskRef.params?.some((p) => p.name === 'name' && p.value === 'validate-params'));
  t.ok(validate, 'the Pipeline runs validate-params');
  for (const task of tasks.filter((x) => x !== validate)) t.same(task.runAfter, [validate!.name], `${task.name} runs after validation`);
});

t.test('the TaskRun sample values pass its own rules, and the sample rules compile', async (t) => {
  const run = definition.samples.find((s) => s.file === 'taskrun.yaml')!.documents[0] as {
    spec: { params: { name: string; value: string | string[] }[] };
  };
  const rules = await parseRuleSource(run.spec.params.find((p) => p.name === 'rules')!.value as string);
  const entries = (run.spec.params.find((p) => p.name === 'values')!.value as string[]).map((e) => e.split(/=(.*)/s, 2) as [string, string]);
  const result = validateParams(new Map(entries), await compileRuleSet(rules));
  t.same(result.failures, []);
  t.ok(result.ok);
});

t.test("every catalog Task's param rules compile (patterns valid RE2 within the match budget)", async (t) => {
  const { loadTaskDefinitions } = await import('../../src/build/load-definitions.ts');
  const { repoRoot } = await import('../harness/shared.ts');
  const definitions = await loadTaskDefinitions(`${repoRoot}/tasks`);
  t.ok(definitions.some((d) => d.name === 'validate-params'));
  for (const task of definitions) {
    const rules = Object.fromEntries(task.params.map((p) => [p.name, p.rule]));
    await t.resolves(compileRuleSet(rules), `${task.name} rules compile`);
  }
});
