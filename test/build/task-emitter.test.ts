import t from 'tap';
import { defineTask } from '../../src/build/definition.ts';
import { hardeningViolations } from '../../src/build/hardening.ts';
import { emitTask } from '../../src/build/task-emitter.ts';
import { HARDENED_SECURITY_CONTEXT } from '../tekton/fixtures.ts';

const pinned = (program: string) => `registry.example.com/catalog/steps/${program}@sha256:${'c'.repeat(64)}`;

const base = {
  name: 'demo',
  version: '0.1.0',
  displayName: 'Demo',
  summary: 'A demo Task.',
  description: 'Longer text.',
  categories: ['Security'],
  tags: ['demo', 'security'],
  params: [{ name: 'revision', description: 'A git revision', rule: { type: 'git-sha' as const } }],
  steps: [
    {
      name: 'run',
      program: 'validate-params',
      env: [{ name: 'PARAM_REVISION', value: '$(params.revision)' }],
    },
  ],
};

t.test('emits tektoncd/catalog labels and annotations and a summary line', async (t) => {
  const task = emitTask(defineTask(base), pinned);
  t.equal(task.apiVersion, 'tekton.dev/v1');
  t.equal(task.metadata.labels['app.kubernetes.io/version'], '0.1.0');
  t.same(task.metadata.annotations, {
    'tekton.dev/pipelines.minVersion': '0.57.0',
    'tekton.dev/categories': 'Security',
    'tekton.dev/tags': 'demo, security',
    'tekton.dev/displayName': 'Demo',
    'tekton.dev/platforms': 'linux/amd64,linux/arm64',
  });
  t.match(task.spec.description, /^A demo Task\.\n\nLonger text\.\n$/);
});

t.test('every step is hardened and pinned', async (t) => {
  const task = emitTask(defineTask(base), pinned);
  const step = task.spec.steps[0]!;
  t.equal(step.image, pinned('validate-params'));
  t.same(hardeningViolations(step), []);
  t.same(step.securityContext, HARDENED_SECURITY_CONTEXT);
  t.same(step.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
  t.same(task.spec.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
  t.ok(step.computeResources.requests.cpu && step.computeResources.limits.memory);
});

t.test('a $(...) substitution in a script is rejected', async (t) => {
  const definition = defineTask({
    ...base,
    steps: [{ name: 'run', program: 'validate-params', script: '#!/usr/local/bin/node\nconsole.log("$(params.revision)")' }],
  });
  t.throws(() => emitTask(definition, pinned), { code: 'BUILD_SCRIPT_SUBSTITUTION' });
});

t.test('an image that is not pinned by digest is rejected', async (t) => {
  t.throws(() => emitTask(defineTask(base), (program) => `registry.example.com/${program}:latest`), {
    code: 'BUILD_NOT_HARDENED',
  });
});

t.test('hardening check catches each weakened field', async (t) => {
  const step = emitTask(defineTask(base), pinned).spec.steps[0]!;
  const weakened = [
    { ...step, securityContext: { ...step.securityContext, runAsNonRoot: false } },
    { ...step, securityContext: { ...step.securityContext, readOnlyRootFilesystem: false } },
    { ...step, securityContext: { ...step.securityContext, allowPrivilegeEscalation: true } },
    { ...step, securityContext: { ...step.securityContext, capabilities: { drop: [] } } },
    { ...step, securityContext: { ...step.securityContext, seccompProfile: { type: 'Unconfined' } } },
    { ...step, computeResources: { requests: { cpu: '1' }, limits: { cpu: '1', memory: '1Gi' } } },
    { ...step, script: 'echo $(params.x)' },
  ];
  for (const candidate of weakened) t.not(hardeningViolations(candidate as typeof step).length, 0);
});

t.test('definitions are validated with field paths', async (t) => {
  t.throws(() => defineTask({ ...base, name: 'Not_A_Label' }), /name/);
  t.throws(() => defineTask({ ...base, version: '1' }), /MAJOR\.MINOR/);
  t.throws(() => defineTask({ ...base, steps: [] }));
  t.throws(() => defineTask({ ...base, params: [{ name: 'x', description: 'no rule' } as never] }), /rule/);
});
