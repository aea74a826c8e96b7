// The kit's RBAC grants exactly what a Pipeline's catalog Tasks declare
// they read from the Kubernetes API, for exactly the objects named, and its
// egress policy exactly the destinations of kit.yaml. Both are fed to our
// own audit, which must find nothing, and hand-widened variants of them,
// which it must catch (so the audit check can fail).
import t from 'tap';
import { auditDocuments } from '../../src/audit/index.ts';
import { HardeningKit } from '../../src/kit/kit.ts';
import { planEgress } from '../../src/kit/network/egress-policy.ts';
import { planRbac } from '../../src/kit/rbac/least-privilege.ts';
import { kubernetesObjectProblems } from '../../src/kit/validate/kubernetes-objects.ts';
import { config, injectPipeline, referencePipeline, taskDefinitions } from './fixtures.ts';

const json = (object: { toJSON(): unknown }) => object.toJSON() as Record<string, any>;

t.test('the reference Pipeline: a runner without a Role or token, and get on the one Secret for inject-credentials only', async (t) => {
  const { pipeline } = await referencePipeline();
  const plan = planRbac(pipeline, await taskDefinitions(), config());
  t.same(json(plan.runner), {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'secure-build-runner', namespace: 'ci', labels: { 'app.kubernetes.io/part-of': 'secure-build', 'app.kubernetes.io/managed-by': 'tekton-catalog-kit' } },
    automountServiceAccountToken: false,
  });
  t.same(json(plan.apiReader!.role).rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['registry-push-creds'], verbs: ['get'] }]);
  t.same(plan.apiReader!.pipelineTasks, ['inject-credentials'], 'cleanup-credentials (mode cleanup) reads nothing from the API');
  t.same(json(plan.apiReader!.roleBinding).subjects, [{ kind: 'ServiceAccount', name: 'secure-build-api-reader', namespace: 'ci' }]);
  t.same(plan.unknownTasks, ['clone', 'build', 'push'], "the user's own tasks get nothing");
});

t.test('what decides a grant: generated Pipelines', async (t) => {
  const definitions = await taskDefinitions();
  const api = { name: 'secret-source', value: 'kubernetes-api' };
  const cases: { label: string; params: { name: string; value: unknown }[]; pipelineParams?: { name: string; default?: string }[]; config?: Record<string, string>; names?: string[]; error?: RegExp }[] = [
    { label: 'a literal Secret name', params: [api, { name: 'secret-name', value: 'push' }], names: ['push'] },
    { label: 'a mounted Secret (the Task default source): nothing from the API', params: [{ name: 'secret-name', value: 'push' }] },
    { label: 'secret-source workspace said explicitly', params: [{ name: 'secret-source', value: 'workspace' }, { name: 'secret-name', value: 'push' }] },
    { label: 'from a Pipeline param, its value in kit.yaml', params: [api, { name: 'secret-name', value: '$(params.sec)' }], pipelineParams: [{ name: 'sec' }], config: { sec: 'from-config' }, names: ['from-config'] },
    { label: 'from a Pipeline param with a default', params: [api, { name: 'secret-name', value: '$(params.sec)' }], pipelineParams: [{ name: 'sec', default: 'from-default' }], names: ['from-default'] },
    { label: 'kit.yaml over the default', params: [api, { name: 'secret-name', value: '$(params.sec)' }], pipelineParams: [{ name: 'sec', default: 'd' }], config: { sec: 'c' }, names: ['c'] },
    { label: 'a Pipeline param without a value', params: [api, { name: 'secret-name', value: '$(params.sec)' }], pipelineParams: [{ name: 'sec' }], error: /Pipeline param "sec", which has no default and no value in the kit config/ },
    { label: 'a task result', params: [api, { name: 'secret-name', value: '$(tasks.x.results.name)' }], error: /decided only when the pipeline runs/ },
    { label: 'a name built from a param', params: [api, { name: 'secret-name', value: 'push-$(params.env)' }], pipelineParams: [{ name: 'env', default: 'prod' }], error: /decided only when the pipeline runs/ },
    { label: 'the source from a param', params: [{ name: 'secret-source', value: '$(params.src)' }, { name: 'secret-name', value: 'push' }], pipelineParams: [{ name: 'src', default: 'kubernetes-api' }], names: ['push'] },
    { label: 'no name at all', params: [api], error: /not a Kubernetes object name/ },
    { label: 'a name that is not one', params: [api, { name: 'secret-name', value: 'Push_Creds' }], error: /not a Kubernetes object name/ },
  ];
  for (const item of cases) {
    const pipeline = injectPipeline(item.params, item.pipelineParams);
    const run = () => planRbac(pipeline, definitions, config({ params: item.config ?? {} }));
    if (item.error) {
      t.throws(run, { code: 'CONFIG_KIT_PARAM_UNKNOWN', message: item.error }, item.label);
      continue;
    }
    const plan = run();
    t.same(plan.apiReader ? (json(plan.apiReader.role).rules as { resourceNames: string[] }[])[0]!.resourceNames : undefined, item.names, item.label);
    t.same(plan.unknownTasks, ['build'], `${item.label}: the user task is not a catalog Task`);
  }
  t.equal(cases.length, 12);
});

t.test('several tasks reading Secrets: one rule with every name, bound to the account only they use', async (t) => {
  const pipeline = injectPipeline([{ name: 'secret-source', value: 'kubernetes-api' }, { name: 'secret-name', value: 'b-creds' }]);
  pipeline.spec.tasks!.push({ name: 'inject-git', taskRef: { name: 'inject-credentials' }, params: [{ name: 'secret-source', value: 'kubernetes-api' }, { name: 'secret-name', value: 'a-creds' }] });
  pipeline.spec.finally = [{ name: 'cleanup', taskRef: { name: 'inject-credentials' }, params: [{ name: 'mode', value: 'cleanup' }] }];
  const plan = planRbac(pipeline, await taskDefinitions(), config());
  t.same(json(plan.apiReader!.role).rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['a-creds', 'b-creds'], verbs: ['get'] }]);
  t.same(plan.apiReader!.pipelineTasks, ['inject', 'inject-git']);
});

t.test('the egress policy: DNS over UDP and TCP, each destination, the API only when a task needs it', async (t) => {
  const withApi = planEgress(config(), { kubernetesApi: true });
  const spec = json(withApi.policy).spec;
  t.same(spec.podSelector, { matchLabels: { 'app.kubernetes.io/managed-by': 'tekton-pipelines' } });
  t.same(spec.policyTypes, ['Egress']);
  t.same(spec.egress[0].ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }]);
  t.same(spec.egress[0].to, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], 'namespace and pods in one peer: both must match');
  t.same(spec.egress[1], { to: [{ ipBlock: { cidr: '10.0.50.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] });
  t.same(spec.egress.at(-1), { to: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] });
  t.equal(withApi.purposes.length, spec.egress.length, 'every rule is explained');
  t.equal(json(planEgress(config(), { kubernetesApi: false }).policy).spec.egress.length, 2, 'no API rule when no task reads the API');
  const withCollector = json(
    planEgress(config({ egress: { ...structuredClone(config().egress), collectors: [{ name: 'pushgateway', namespace: 'monitoring', podLabels: { app: 'pushgateway' }, ports: [9091] }] } } as never), { kubernetesApi: false }).policy,
  ).spec.egress;
  t.same(
    withCollector.at(-1),
    { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { app: 'pushgateway' } } }], ports: [{ protocol: 'TCP', port: 9091 }] },
    'a collector: its pods in its namespace, on its ports only',
  );
  for (const rule of spec.egress) t.ok(rule.to.length > 0 && rule.ports.length > 0, 'every rule names destinations and ports: none allows everything');
});

t.test('a task that reads the API without an egress rule to it stops the kit', async (t) => {
  const { pipeline } = await referencePipeline();
  const noApi = config({ egress: { registries: [{ name: 'registry', cidrs: ['10.0.50.0/24'], ports: [443] }] } as never });
  const kit = new HardeningKit(await taskDefinitions());
  t.throws(() => kit.generate(pipeline, noApi, { pipeline: 'test', configText: '' }), {
    code: 'CONFIG_KIT_EGRESS_API_MISSING',
    message: /inject-credentials read Secrets from the Kubernetes API/,
  });
});

t.test("our own audit finds nothing in the kit's RBAC and egress objects, and catches widened ones", async (t) => {
  const { pipeline } = await referencePipeline();
  const output = new HardeningKit(await taskDefinitions()).generate(pipeline, config(), { pipeline: 'test', configText: '' });
  const inputs = output.objects.map((object) => ({ name: object.file, text: object.yaml }));
  const report = await auditDocuments(inputs);
  t.same(report.findings.map((f) => `${f.ruleId} ${f.location.file}: ${f.message}`), [], 'no finding');
  t.ok(report.summary.documents >= 5, `${report.summary.documents} documents audited (service accounts, Role, RoleBinding, NetworkPolicy)`);

  const role = output.objects.find((object) => object.file === 'namespace/role.yaml')!;
  const widened: [string, (rule: Record<string, any>) => void, string][] = [
    ['the impersonate verb', (rule) => rule.verbs.push('impersonate'), 'TA104'],
    ['no resourceNames', (rule) => delete rule.resourceNames, 'TA102'],
    ['a wildcard verb', (rule) => (rule.verbs = ['*']), 'TA103'],
    ['pods/exec', (rule) => (rule.resources = ['pods/exec']), 'TA104'],
  ];
  for (const [label, widen, ruleId] of widened) {
    const object = structuredClone(role.object) as { rules: Record<string, any>[] };
    widen(object.rules[0]!);
    const findings = (await auditDocuments([{ name: 'role.yaml', document: object }])).findings.map((f) => f.ruleId);
    t.ok(findings.includes(ruleId), `${label}: ${ruleId}`);
  }
  const policy = output.objects.find((object) => object.file === 'namespace/networkpolicy.yaml')!;
  const open = structuredClone(policy.object) as { spec: { egress: Record<string, unknown>[] } };
  open.spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] });
  t.ok((await auditDocuments([{ name: 'np.yaml', document: open }])).findings.some((f) => f.ruleId === 'TA801'), 'an egress rule to 0.0.0.0/0: TA801');
});

t.test('every kit object fits the schema of its kind, and the checks reject broken objects', async (t) => {
  const { pipeline } = await referencePipeline();
  const output = new HardeningKit(await taskDefinitions()).generate(pipeline, config({ observability: { production: { pipelines: 'prod-.*', approvedHoursUtc: { from: 8, to: 18 } } } } as never), { pipeline: 'test', configText: '' });
  for (const object of output.objects) t.same(kubernetesObjectProblems(object.object), [], `${object.file} (${String(object.object.kind)})`);
  const byKind = (kind: string) => structuredClone(output.objects.find((object) => object.object.kind === kind)!.object) as Record<string, any>;
  const broken: [string, Record<string, any>, RegExp][] = [
    ['a name with upper case', { ...byKind('ServiceAccount'), metadata: { ...byKind('ServiceAccount').metadata, name: 'Runner' } }, /metadata\.name/],
    ['no namespace', { ...byKind('Role'), metadata: { name: 'r' } }, /metadata\.namespace/],
    ['verbs as a string', { ...byKind('Role'), rules: [{ apiGroups: [''], resources: ['secrets'], verbs: 'get' }] }, /schema: .*verbs must be array/],
    ['a RoleBinding without roleRef', (() => { const b = byKind('RoleBinding'); delete b.roleRef; return b; })(), /schema: .*roleRef/],
    ['protocol SCTPX', (() => { const p = byKind('NetworkPolicy'); p.spec.egress[0].ports[0].protocol = 'SCTPX'; return p; })(), /schema: .*protocol/],
    ['a duration Prometheus cannot read', (() => { const r = byKind('PrometheusRule'); r.spec.groups[0].rules[4].for = '15 minutes'; return r; })(), /schema: .*for/],
    ['a ConfigMap value that is not a string', (() => { const c = byKind('ConfigMap'); c.data['transparency.enabled'] = true; return c; })(), /schema: .*must be string/],
    ['a ConfigMap key with a slash', (() => { const c = byKind('ConfigMap'); c.data['a/b'] = 'x'; return c; })(), /data a\/b/],
    ['a label value with a space', (() => { const s = byKind('ServiceAccount'); s.metadata.labels['app.kubernetes.io/part-of'] = 'a b'; return s; })(), /metadata\.labels/],
    ['a kind the kit does not emit', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ci' } }, /not a kind the kit emits/],
  ];
  for (const [label, object, problem] of broken) t.match(kubernetesObjectProblems(object).join('\n'), problem, label);
});
