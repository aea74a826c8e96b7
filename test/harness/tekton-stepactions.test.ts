// The harness's StepAction resolution against what Tekton documents and
// implements (docs/stepactions.md; resources/apply.go applyStepActionParameters;
// taskspec.go updateStepWithStepActionSpec): the harness must refuse what a
// cluster refuses and hand the step exactly what a cluster would.
import t from 'tap';
import { resolveStepActionRefs, type StepActionDocument } from './tekton-stepactions.ts';
import { resolveTaskSteps } from './tekton-substitution.ts';

const context = { taskRunName: 'run', namespace: 'ns', uid: 'uid-1', taskName: 'task' };

const action: StepActionDocument = {
  metadata: { name: 'tool' },
  spec: {
    params: [
      { name: 'mode', type: 'string' },
      { name: 'flags', type: 'array', default: ['--quiet'] },
      { name: 'out-path', type: 'string', default: '' },
    ],
    results: [{ name: 'digest' }, { name: 'count' }],
    image: 'registry.example.com/tool@sha256:' + 'a'.repeat(64),
    command: ['/bin/tool'],
    args: ['--mode', '$(params.mode)', '$(params.flags[*])'],
    env: [
      { name: 'OUT', value: '$(params.out-path)' },
      { name: 'DIGEST_PATH', value: '$(step.results.digest.path)' },
      { name: 'TASK', value: '$(context.task.name)' },
    ],
    securityContext: { runAsNonRoot: true, runAsUser: 65532 },
    volumeMounts: [{ name: '$(params.mode)', mountPath: '/tmp' }],
  },
};
const actions = new Map([['tool', action]]);

t.test('params flow from the TaskRun through the step into the StepAction', async (t) => {
  const spec = {
    params: [{ name: 'level', type: 'string' as const, default: 'fast' }, { name: 'extra', type: 'array' as const }],
    workspaces: [{ name: 'out' }],
    steps: [
      {
        name: 'first',
        ref: { name: 'tool' },
        params: [
          { name: 'mode', value: '$(params.level)' },
          { name: 'flags', value: '$(params.extra[*])' },
          { name: 'out-path', value: '$(workspaces.out.path)' },
        ],
        securityContext: { runAsUser: 0 },
      },
      { name: 'second', ref: { name: 'tool' }, params: [{ name: 'mode', value: '$(steps.first.results.digest)' }] },
    ],
  };
  const steps = resolveStepActionRefs(spec, { extra: ['-v', '--color=never'] }, actions);
  t.equal((steps[0] as { image?: string }).image, action.spec.image, 'the image comes from the StepAction');
  t.same((steps[0] as { securityContext?: unknown }).securityContext, action.spec.securityContext, "the StepAction's securityContext overrides the step's");
  t.same((steps[0] as { args?: string[] }).args, ['--mode', 'fast', '-v', '--color=never'], 'a Task default, then a whole array expanded into args');
  t.same((steps[1] as { args?: string[] }).args, ['--mode', '$(steps.first.results.digest)', '--quiet'], "the StepAction's default array, and a step result left for the entrypoint");
  t.same((steps[0] as { volumeMounts?: unknown }).volumeMounts, [{ name: 'fast', mountPath: '/tmp' }], 'a volumeMount named by a param');

  const resolved = resolveTaskSteps({ ...spec, steps: steps as never }, { params: { extra: ['-v', '--color=never'] }, workspaces: { out: {} }, context });
  t.equal(resolved[0]!.env.OUT, '/workspace/out', 'the workspace path passed as a param is resolved by the Task-level pass');
  t.equal(resolved[0]!.env.DIGEST_PATH, '/tekton/steps/step-first/results/digest', '$(step.results.x.path) is the step\'s own folder');
  t.equal(resolved[1]!.env.DIGEST_PATH, '/tekton/steps/step-second/results/digest');
  t.equal(resolved[0]!.env.TASK, 'task', 'context variables in a StepAction are the composing Task\'s');
  t.same(resolved[1]!.args, ['--mode', '$(steps.first.results.digest)', '--quiet'], 'still there for the entrypoint to read when the step starts');
});

t.test('what the webhook or the controller refuses, the harness refuses', async (t) => {
  const base = { name: 's', ref: { name: 'tool' }, params: [{ name: 'mode', value: 'x' }] };
  let cases = 0;
  for (const field of ['image', 'command', 'args', 'script', 'env', 'volumeMounts']) {
    t.throws(() => resolveStepActionRefs({ steps: [{ ...base, [field]: field === 'image' || field === 'script' ? 'x' : [] }] }, {}, actions), { message: new RegExp(`${field} cannot be used with ref`) }, field);
    cases++;
  }
  t.throws(() => resolveStepActionRefs({ steps: [{ ...base, ref: { name: 'missing' } }] }, {}, actions), /StepAction missing is not in the namespace/);
  t.throws(() => resolveStepActionRefs({ steps: [{ ...base, params: [] }] }, {}, actions), /needs param mode/, 'a required param left out');
  t.throws(() => resolveStepActionRefs({ steps: [{ ...base, params: [...base.params, { name: 'typo', value: 'x' }] }] }, {}, actions), /declares no param typo/);
  t.throws(() => resolveStepActionRefs({ steps: [{ ...base, params: [{ name: 'mode', value: ['a'] }] }] }, {}, actions), /mode is string but the step passes an array/);
  t.throws(() => resolveStepActionRefs({ steps: [{ ...base, ref: { resolver: 'git' } }] }, {}, actions), /by name only/);
  t.equal(cases, 6);
  const unknownResult = resolveStepActionRefs({ steps: [{ ...base, params: [{ name: 'mode', value: '$(steps.s.results.nope)' }] }] }, {}, actions);
  t.throws(() => resolveTaskSteps({ steps: unknownResult as never }, { params: {}, workspaces: {}, context }), /is not a variable Tekton substitutes here/, 'a step result no step declares');
});
