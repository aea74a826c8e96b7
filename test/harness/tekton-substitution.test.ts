// The harness's substitution against Tekton's own documentation and tests.
// Every vector names its source in tektoncd/pipeline:
//   docs/tasks.md "Substituting Array parameters"
//   pkg/substitution/substitution_test.go (TestApplyArrayReplacements, TestNestedReplacements)
//   pkg/reconciler/taskrun/resources/apply_test.go (TestApplyArrayParameters, TestApplyParameters),
//     written there for v1alpha1's $(inputs.params.x), which v1 spells $(params.x)
//   pkg/reconciler/taskrun/resources/apply.go (getContextReplacements, ApplyWorkspaces)
//   pkg/reconciler/taskrun/taskrun.go (applyParamsContextsResultsAndWorkspaces: the order of the passes)
import t from 'tap';
import { renderStep } from './catalog-task.ts';
import {
  applyArrayReplacements,
  applyReplacements,
  resolveTaskSteps,
  type TaskRunInput,
  type TaskSpecLike,
} from './tekton-substitution.ts';

const context = { taskRunName: 'run-1', namespace: 'ns', uid: 'uid-1', taskName: 'task-a' };
const run = (params: TaskRunInput['params'], workspaces: TaskRunInput['workspaces'] = {}): TaskRunInput => ({ params, workspaces, context });
const oneStep = (step: TaskSpecLike['steps'][number], extra: Partial<TaskSpecLike> = {}) => ({ steps: [{ name: 's', command: ['/bin/x'], ...step }], ...extra });

t.test('docs/tasks.md: an array param expands in place as a whole element', async (t) => {
  const spec = oneStep({ command: ['first', '$(params.array-param[*])', 'last'] }, { params: [{ name: 'array-param', type: 'array' }] });
  const [step] = resolveTaskSteps(spec, run({ 'array-param': ['some', 'array', 'elements'] }));
  t.same(step!.command, ['first', 'some', 'array', 'elements', 'last']);
  t.throws(
    () => resolveTaskSteps(oneStep({ args: ['build', 'additionalArg $(params.build-args[*])'] }, { params: [{ name: 'build-args', type: 'array' }] }), run({ 'build-args': ['a'] })),
    /not isolated/,
    'docs/tasks.md: "the following example is an invalid Step because the string isn\'t isolated"',
  );
});

t.test('apply_test.go TestApplyArrayParameters', async (t) => {
  const spec = oneStep({ command: ['echo'], args: ['first', 'second', '$(params.array-param)', 'last'] }, { params: [{ name: 'array-param', type: 'array' }] });
  const args = (value: string[]) => resolveTaskSteps(spec, run({ 'array-param': value }))[0]!.args;
  t.same(args([]), ['first', 'second', 'last'], 'array parameter with 0 elements: an empty array expands to nothing');
  t.same(args(['foo']), ['first', 'second', 'foo', 'last'], 'array parameter with 1 element');
  t.same(args(['foo', 'bar', 'third']), ['first', 'second', 'foo', 'bar', 'third', 'last'], 'array parameter with 3 elements');
  const mixed = oneStep(
    { command: ['echo'], args: ['$(params.normal-param)', 'second', '$(params.array-param)', 'last'] },
    { params: [{ name: 'array-param', type: 'array' }, { name: 'normal-param' }] },
  );
  t.same(resolveTaskSteps(mixed, run({ 'array-param': ['middlefirst', 'middlesecond'], 'normal-param': 'foo' }))[0]!.args, ['foo', 'second', 'middlefirst', 'middlesecond', 'last'], 'array and normal string parameter');
  const defaulted = oneStep({ command: ['echo'], args: ['first', 'second', '$(params.array-param)', 'last'] }, { params: [{ name: 'array-param', type: 'array', default: ['defaulted', 'value!'] }] });
  t.same(resolveTaskSteps(defaulted, run({}))[0]!.args, ['first', 'second', 'defaulted', 'value!', 'last'], 'default array parameter');
  const multiple = oneStep(
    { command: ['cmd', '$(params.another-array-param)'], args: ['first', 'second', '$(params.array-param)', 'last'] },
    { params: [{ name: 'array-param', type: 'array' }, { name: 'another-array-param', type: 'array' }] },
  );
  const [step] = resolveTaskSteps(multiple, run({ 'array-param': ['foo', 'bar', 'third'], 'another-array-param': ['part1', 'part2'] }));
  t.same(step!.command, ['cmd', 'part1', 'part2'], 'multiple arrays: command');
  t.same(step!.args, ['first', 'second', 'foo', 'bar', 'third', 'last'], 'multiple arrays: args');
});

t.test('apply_test.go TestApplyParameters: string params inside a larger string', async (t) => {
  const spec = oneStep(
    { args: ['busybox:$(params.FOO)'], env: [{ name: 'foo', value: 'value-$(params.FOO)' }], workingDir: 'path/to/$(params.FOO)' },
    { params: [{ name: 'FOO' }, { name: 'something', default: 'mydefault' }] },
  );
  const [step] = resolveTaskSteps(spec, run({ FOO: 'world' }));
  t.same(step!.args, ['busybox:world']);
  t.same(step!.env, { foo: 'value-world' });
  t.equal(step!.workingDir, 'path/to/world');
  const spellings = oneStep({ args: ['$(params.FOO)', '$(params["FOO"])', "$(params['FOO'])", '$(params.arr[1])'] }, { params: [{ name: 'FOO' }, { name: 'arr', type: 'array' }] });
  t.same(resolveTaskSteps(spellings, run({ FOO: 'world', arr: ['a', 'b'] }))[0]!.args, ['world', 'world', 'world', 'b'], "params.x, params[\"x\"], params['x'] and params.x[i] (apply.go paramPatterns)");
});

t.test('substitution_test.go: one pass, never rescanned; array elements only for a whole element', async (t) => {
  t.equal(applyReplacements('$(foo) is cool', new Map([['foo', '$(bar)$(bar)'], ['bar', 'baz']])), '$(bar)$(bar) is cool', 'TestNestedReplacements');
  const pass = {
    strings: new Map([['string', 'word'], ['lacement', 'lacements']]),
    arrays: new Map([['ace', ['replacement', 'a']], ['string', ['1', '2']], ['match', ['1', '2']]]),
  };
  t.same(applyArrayReplacements('$(string)rep$(lacement)$(string)', pass), ['wordreplacementsword'], 'multiple replacements only string replacement possible');
  t.same(applyArrayReplacements('$(match)', pass), ['1', '2'], 'array replacement');
  t.same(applyArrayReplacements('$(match[*])', pass), ['1', '2'], 'array star replacement');
  t.same(applyArrayReplacements('this is a string', pass), ['this is a string'], 'no replacements requested');
});

t.test("taskrun.go: params, then context, then workspaces, each over the last one's output", async (t) => {
  const spec = oneStep(
    { env: [{ name: 'A', value: '$(params.a)' }, { name: 'B', value: '$(params.b)' }] },
    { params: [{ name: 'a' }, { name: 'b' }], workspaces: [{ name: 'src' }] },
  );
  const [step] = resolveTaskSteps(spec, run({ a: 'run $(context.taskRun.name) in $(workspaces.src.path)', b: 'literal $(params.a)' }, { src: {} }));
  t.equal(step!.env.A, 'run run-1 in /workspace/src', 'a param value is expanded by the later context and workspace passes');
  t.equal(step!.env.B, 'literal $(params.a)', 'but not by its own pass');
});

t.test('apply.go getContextReplacements: $(context.*) values', async (t) => {
  const spec = oneStep({
    args: ['$(context.taskRun.name)', '$(context.taskRun.namespace)', '$(context.taskRun.uid)', '$(context.task.name)', '$(context.task.retry-count)'],
  });
  t.same(resolveTaskSteps(spec, run({}))[0]!.args, ['run-1', 'ns', 'uid-1', 'task-a', '0']);
  t.throws(() => resolveTaskSteps(oneStep({ args: ['$(context.pipelineRun.uid)'] }), run({})), /not a variable Tekton substitutes here/, 'pipelineRun context is a Pipeline variable, not a Task one');
});

t.test('apply.go ApplyWorkspaces: optional unbound workspaces are empty and not bound', async (t) => {
  const spec = oneStep(
    {
      env: [
        { name: 'OPT_PATH', value: '$(workspaces.opt.path)' },
        { name: 'OPT_BOUND', value: '$(workspaces.opt.bound)' },
        { name: 'SRC_PATH', value: '$(workspaces.src.path)' },
        { name: 'SRC_BOUND', value: '$(workspaces.src.bound)' },
        { name: 'CUSTOM_PATH', value: '$(workspaces.custom.path)' },
        { name: 'CLAIM', value: '$(workspaces.src.claim)' },
      ],
    },
    { workspaces: [{ name: 'opt', optional: true }, { name: 'src' }, { name: 'custom', mountPath: '/data' }] },
  );
  const [step] = resolveTaskSteps(spec, run({}, { src: { claimName: 'pvc-1' }, custom: {} }));
  t.same(step!.env, { OPT_PATH: '', OPT_BOUND: 'false', SRC_PATH: '/workspace/src', SRC_BOUND: 'true', CUSTOM_PATH: '/data', CLAIM: 'pvc-1' });
  const bound = resolveTaskSteps(spec, run({}, { src: {}, custom: {}, opt: {} }))[0]!;
  t.equal(bound.env.OPT_PATH, '/workspace/opt');
  t.equal(bound.env.OPT_BOUND, 'true');
  t.throws(() => resolveTaskSteps(spec, run({}, { custom: {} })), /required workspaces: src/, 'a required workspace must be bound');
});

t.test('what the webhook refuses, the harness refuses', async (t) => {
  const arrays = { params: [{ name: 'arr', type: 'array' as const }, { name: 's' }] };
  t.throws(() => resolveTaskSteps(oneStep({ env: [{ name: 'X', value: '$(params.arr[*])' }] }, arrays), run({ arr: [], s: 'x' })), /only be used as a whole command or args element/);
  t.throws(() => resolveTaskSteps(oneStep({ args: ['$(params.s[*])'] }, arrays), run({ arr: [], s: 'x' })), /not an array/);
  t.throws(() => resolveTaskSteps(oneStep({ args: ['$(params.missing)'] }, arrays), run({ arr: [], s: 'x' })), /not a variable/);
  t.throws(() => resolveTaskSteps(oneStep({ args: ['$(params.s)'] }, arrays), run({ arr: [] })), /misses required params: s/);
  t.throws(() => resolveTaskSteps(oneStep({ args: ['$(params.s)'] }, arrays), run({ arr: 'x', s: 'x' })), /declared array/);
});

t.test('renderStep (values given directly) uses the same engine and keeps the command', async (t) => {
  const step = { name: 'run', image: 'img', command: ['/usr/local/bin/node', '/app/x.mjs'], args: ['--values', '$(params.values[*])', '--', '$(params.name)'], env: [{ name: 'W', value: '$(workspaces.report.path)' }] };
  const rendered = renderStep(step, { params: { values: [], name: 'n' }, workspaces: { report: '' } });
  t.same(rendered.command, ['/usr/local/bin/node', '/app/x.mjs']);
  t.same(rendered.args, ['--values', '--', 'n'], 'the empty array expands to nothing');
  t.same(rendered.env, { W: '' });
  t.throws(() => renderStep(step, { params: { values: [] } }), /not a variable/, 'a missing value throws');
});
