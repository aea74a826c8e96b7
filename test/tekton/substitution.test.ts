import t from 'tap';
import {
  classify,
  containsDollarParen,
  containsSubstitution,
  findSubstitutions,
} from '../../src/tekton/substitution.ts';

const refs = (text: string) => findSubstitutions(text).map((s) => classify(s));

t.test('finds every reference form Tekton substitutes', async (t) => {
  const cases: [string, unknown][] = [
    ['$(params.x)', { kind: 'param', name: 'x', selector: 'none' }],
    ["$(params['x.y'])", { kind: 'param', name: 'x.y', selector: 'none' }],
    ['$(params["x"])', { kind: 'param', name: 'x', selector: 'none' }],
    ['$(params.list[*])', { kind: 'param', name: 'list', selector: 'all' }],
    ["$(params['list'][*])", { kind: 'param', name: 'list', selector: 'all' }],
    ['$(params.list[3])', { kind: 'param', name: 'list', selector: 'index' }],
    ['$(params.obj.key)', { kind: 'param', name: 'obj', selector: 'key' }],
    ['$(results.digest.path)', { kind: 'result', name: 'digest' }],
    ["$(results['digest'].path)", { kind: 'result', name: 'digest' }],
    ['$(workspaces.source.path)', { kind: 'workspace', name: 'source', property: 'path' }],
    ['$(workspaces.source.bound)', { kind: 'workspace', name: 'source', property: 'bound' }],
    ['$(workspaces.source.claim)', { kind: 'workspace', name: 'source', property: 'claim' }],
    ['$(workspaces.source.volume)', { kind: 'workspace', name: 'source', property: 'volume' }],
    ['$(context.taskRun.name)', { kind: 'context', path: 'taskRun.name' }],
    ['$(context.task.retry-count)', { kind: 'context', path: 'task.retry-count' }],
    ['$(tasks.build.results.digest)', { kind: 'task-result', task: 'build', result: 'digest', selector: 'none' }],
    ['$(tasks.build.results.list[*])', { kind: 'task-result', task: 'build', result: 'list', selector: 'all' }],
    ['$(tasks.build.results.obj.key)', { kind: 'task-result', task: 'build', result: 'obj', selector: 'key' }],
    ['$(tasks.build.status)', { kind: 'task-status', task: 'build', property: 'status' }],
    ['$(tasks.build.reason)', { kind: 'task-status', task: 'build', property: 'reason' }],
    ['$(tasks.status)', { kind: 'aggregate-status' }],
    ['$(steps.step-build.exitCode.path)', { kind: 'step-exit-code', step: 'step-build' }],
    ['$(steps.build.results.out)', { kind: 'step-result', step: 'build', result: 'out' }],
    ['$(step.results.out.path)', { kind: 'own-step-result', name: 'out' }],
    ['$(credentials.path)', { kind: 'credentials' }],
    ['$(inputs.params.x)', { kind: 'legacy', root: 'inputs' }],
    ['$(resources.outputs.image.url)', { kind: 'legacy', root: 'resources' }],
    ['$(results.digest)', { kind: 'other' }],
    ['$(workspaces.source.size)', { kind: 'other' }],
  ];
  for (const [text, expected] of cases) {
    t.same(refs(`echo ${text} done`), [expected], text);
  }
});

t.test('reports positions and raw text', async (t) => {
  const [found] = findSubstitutions("a $(params['x'][*]) b");
  t.equal(found?.raw, "$(params['x'][*])");
  t.equal(found?.expression, "params['x'][*]");
  t.equal(found?.start, 2);
  t.equal(found?.end, 19);
});

t.test('skips shell command substitution but finds Tekton ones nested inside it', async (t) => {
  t.same(refs('$(cat $(params.file))'), [{ kind: 'param', name: 'file', selector: 'none' }]);
  t.same(refs('$(date) $(basename "$(workspaces.out.path)")').map((r) => r.kind), ['workspace']);
  t.same(refs('x=$(echo hi) ${HOME} $HOME'), []);
  t.equal(containsSubstitution('echo $(git rev-parse HEAD)'), false);
  t.equal(containsDollarParen('echo $(git rev-parse HEAD)'), true);
});

t.test('a Kubernetes $$( escape still hides a Tekton substitution, and is flagged', async (t) => {
  const [found] = findSubstitutions('$$(params.x)');
  t.equal(found?.kubernetesEscaped, true);
  t.equal(found?.raw, '$(params.x)');
  t.equal(containsSubstitution('$$(params.x)'), true);
});

t.test('malformed forms are not substitutions', async (t) => {
  for (const text of ['$(params)', '$(params.)', '$( params.x )', '$(params.x', "$(params['x)", '$(params.x[a])', '$(params.x]', '$(unknown.x)']) {
    t.equal(containsSubstitution(text), false, text);
  }
  // The first malformed one does not hide a later valid one.
  t.equal(findSubstitutions('$(params. $(params.ok)').length, 1);
});

t.test('finds several in one string, in order', async (t) => {
  const found = findSubstitutions('$(params.a)-$(params.b)/$(context.taskRun.uid)');
  t.same(found.map((s) => s.expression), ['params.a', 'params.b', 'context.taskRun.uid']);
});
