// Cold start of every step program, as its image runs it: the image's own
// Node binary running the split bundle (entry and chunks), each program on
// its realistic smallest input and with --help, as ratios to `node -e 0` run
// by the same binary. Runs alternate (one round runs the baseline and every
// case once) so load from other work on the machine hits all of them alike.
// Wall time is what a pipeline waits for; CPU time (user + system of the
// child) is reported beside it because it moves much less on a busy machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleBytes, bundleStep, writeStepBundle, type StepBundle } from '../../src/build/bundle-step.ts';
import { startUpParts } from '../../src/build/step-bundle-rules.ts';
import { atMostRatio, figure, imageNode, machineLoad, median, timeChild, type BenchFigure, type BenchGoal, type BenchSection, type ChildSample, printSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'cold start of every step program, --help and its smallest real input (vs node -e 0 of the image node)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = Number(process.env.STARTUP_BENCH_ROUNDS ?? 31);
const PROGRAMS = ['validate-params', 'verify-image', 'inject-credentials', 'workspace-guard', 'audit', 'verify-catalog'] as const;

const sha = '3f786850e387550fdab836ed7e6dc881de23001b';
/** Ten params of a typical gate: the realistic input for validate-params. */
const RULES = {
  'git-revision': { type: 'git-sha' },
  image: { type: 'image-reference', requireDigest: true },
  'image-tag': { type: 'image-tag' },
  version: { type: 'semver' },
  namespace: { type: 'dns-label' },
  'config-map': { type: 'k8s-name' },
  'context-dir': { type: 'relative-path' },
  'source-url': { type: 'https-url', allowedHosts: ['github.com'] },
  replicas: { type: 'integer', min: 1, max: 10 },
  'build-arg': { type: 'text', maxLength: 256 },
};
const VALUES = [
  `git-revision=${sha}`,
  `image=ghcr.io/org/app@sha256:${'a'.repeat(64)}`,
  'image-tag=v1.2.3',
  'version=1.2.3-rc.1',
  'namespace=team-a',
  'config-map=app-config.v1',
  'context-dir=services/api',
  'source-url=https://github.com/org/app',
  'replicas=3',
  'build-arg=GOFLAGS=-trimpath',
];
const TASK_YAML = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build
spec:
  params:
    - name: revision
      type: string
  steps:
    - name: build
      image: ghcr.io/org/builder@sha256:${'b'.repeat(64)}
      args: ["--revision", "$(params.revision)"]
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      computeResources:
        limits: { memory: 256Mi }
`;

interface Case {
  /** The step program run; absent for a floor case, which runs `file`. */
  program?: (typeof PROGRAMS)[number];
  /** A file of the bench's own, run instead of a step program (the floor cases). */
  file?: string;
  name: string;
  args: string[];
  /** Per run: the environment (a fresh folder where a run needs one). */
  env: (run: number) => NodeJS.ProcessEnv;
  okCodes?: number[];
  goal?: BenchGoal;
  notes?: string;
}

/** Where validate-params' goal stands against what node needs to run any ES module that writes a result. */
function floorNote(cases: Case[], samples: Map<Case, ChildSample[]>, baseline: ChildSample[]): string {
  const wallOf = (name: string) => median(samples.get(cases.find((c) => c.name === name)!)!.map((s) => s.wallMs));
  const base = median(baseline.map((s) => s.wallMs));
  const floor = wallOf('floor: an .mjs that only writes one result file');
  const validate = wallOf('validate-params, 10 params, JSON rules');
  const goal = 1.1 * base;
  const verdict = floor > goal ? `above the 1.1x goal itself (${(floor / base).toFixed(2)}x): the goal cannot be met` : `${(goal - floor).toFixed(1)} ms under the 1.1x goal`;
  return `Floor: an .mjs that only writes one result takes ${floor.toFixed(1)} ms, ${verdict}; validate-params takes ${(validate - floor).toFixed(1)} ms more than it.`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** "entry + static imports / all files": what start-up reads, and what the image carries. */
function bundleSizes(bundle: StepBundle): string {
  const startUp = startUpParts(bundle.entry.path, bundle.parts);
  const startUpBytes = bundle.files.filter((file) => startUp.has(file.path)).reduce((sum, file) => sum + file.contents.byteLength, 0);
  return `bundle ${kib(startUpBytes)} at start-up of ${kib(bundleBytes(bundle))} in ${bundle.files.length} files`;
}

export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  const node = await imageNode(repoRoot);
  const loadBefore = machineLoad();
  try {
    const bundles = new Map<string, StepBundle>();
    const entries = new Map<string, string>();
    for (const program of PROGRAMS) {
      const bundle = await bundleStep(repoRoot, program);
      bundles.set(program, bundle);
      entries.set(program, await writeStepBundle(bundle, join(work, 'app', program)));
    }
    // Every run writes its results into an empty folder made before the clock starts, as a TaskRun's
    // /tekton/results is. Renaming over the results of the run before would cost what a TaskRun never pays:
    // ext4 flushes a file's data when a rename replaces another file (auto_da_alloc), a few ms per result.
    let resultsDirs = 0;
    const resultsDir = () => {
      const dir = join(work, 'results', String(resultsDirs++));
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    // inject-credentials writes into an empty credentials workspace: one per run, made before the clock starts.
    const secretDir = join(work, 'secret');
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, '.dockerconfigjson'), JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('robot:token').toString('base64') } } }), { mode: 0o444 });
    const credentialsDir = (runIndex: number) => {
      const dir = join(work, 'credentials', String(runIndex));
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    // workspace-guard seals a small workspace: 20 source files in 3 folders.
    const workspace = join(work, 'workspace');
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(workspace, `pkg-${i % 3}`), { recursive: true });
      writeFileSync(join(workspace, `pkg-${i % 3}`, `file-${i}.ts`), `export const value${i} = ${i};\n`);
    }
    // audit reads one Task.
    const auditSource = join(work, 'audit-source');
    mkdirSync(auditSource);
    writeFileSync(join(auditSource, 'task.yaml'), TASK_YAML);

    // The floor under any step program: node starting an ES module at all, and one that writes one result
    // file the way src/step/results.ts does (a temp file renamed into place).
    const emptyModule = join(work, 'empty.mjs');
    writeFileSync(emptyModule, '');
    const oneResult = join(work, 'one-result.mjs');
    writeFileSync(
      oneResult,
      "const { writeFileSync, renameSync } = process.getBuiltinModule('node:fs');\n" +
        "const dir = process.env.TEKTON_RESULTS_DIR;\n" +
        "writeFileSync(`${dir}/VALIDATED.tmp`, 'true', { mode: 0o644 });\n" +
        "renameSync(`${dir}/VALIDATED.tmp`, `${dir}/VALIDATED`);\n",
    );
    const cases: Case[] = [
      { file: emptyModule, name: 'floor: an empty .mjs file', args: [], env: () => ({}), notes: 'node loading one ES module that does nothing' },
      { file: oneResult, name: 'floor: an .mjs that only writes one result file', args: [], env: () => ({ TEKTON_RESULTS_DIR: resultsDir() }), notes: 'the least a step that reports a result can do' },
      {
        program: 'validate-params',
        name: 'validate-params, 10 params, JSON rules',
        args: VALUES,
        env: () => ({ TEKTON_RESULTS_DIR: resultsDir(), RULES: JSON.stringify(RULES) }),
        goal: atMostRatio(1.1),
        notes: 'the issue\'s goal case: exit 0, results written',
      },
      {
        program: 'validate-params',
        name: 'validate-params, 10 params, YAML rules',
        args: VALUES,
        env: () => ({ TEKTON_RESULTS_DIR: resultsDir(), RULES: Object.entries(RULES).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') }),
        notes: 'loads the yaml chunk',
      },
      {
        program: 'validate-params',
        name: 'validate-params, 10 params, one of them a regex rule',
        args: VALUES,
        env: () => ({ TEKTON_RESULTS_DIR: resultsDir(), RULES: JSON.stringify({ ...RULES, 'build-arg': { type: 'regex', pattern: '[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*', maxLength: 256 } }) }),
        notes: 'loads the RE2 chunk (re2js)',
      },
      {
        program: 'inject-credentials',
        name: 'inject-credentials --help',
        args: ['--help'],
        env: () => ({}),
        goal: atMostRatio(1.3),
      },
      {
        program: 'inject-credentials',
        name: 'inject-credentials, a dockerconfigjson Secret for one registry',
        args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io'],
        env: (i) => ({ TEKTON_RESULTS_DIR: resultsDir(), CREDENTIALS_DIR: credentialsDir(i), SECRET_DIR: secretDir, SECRET_TYPE: 'kubernetes.io/dockerconfigjson' }),
        notes: 'from a mounted Secret into an empty workspace',
      },
      {
        program: 'workspace-guard',
        name: 'workspace-guard --help',
        args: ['--help'],
        env: () => ({}),
        goal: atMostRatio(1.3),
      },
      {
        program: 'workspace-guard',
        name: 'workspace-guard, seal of 20 files',
        args: ['--mode=seal', `--target=${workspace}`, `--manifest=${join(work, 'manifest.ndjson')}`, '--run-uid=bench'],
        env: () => ({ TEKTON_RESULTS_DIR: resultsDir() }),
        notes: 'hashes on the main thread (too few files to start workers)',
      },
      { program: 'audit', name: 'audit --help', args: ['--help'], env: () => ({}) },
      {
        program: 'audit',
        name: 'audit of one Task',
        args: ['--source', auditSource],
        env: () => ({ TEKTON_RESULTS_DIR: resultsDir() }),
        okCodes: [0, 1],
        notes: 'every rule, the catalog definitions loaded',
      },
      { program: 'verify-image', name: 'verify-image --help', args: ['--help'], env: () => ({}), notes: 'verifying images: see the verify-image section' },
      { program: 'verify-catalog', name: 'verify-catalog --help', args: ['--help'], env: () => ({}), notes: 'a real run needs a signed catalog in a registry' },
    ];

    const baseline: ChildSample[] = [];
    const samples = new Map<Case, ChildSample[]>(cases.map((c) => [c, []]));
    const runOnce = (c: Case, i: number) => timeChild(node.path, [c.file ?? entries.get(c.program!)!, ...c.args], c.env(i), c.okCodes);
    // One unmeasured round warms the file cache.
    timeChild(node.path, ['-e', '0'], {});
    cases.forEach((c) => runOnce(c, -1));
    for (let i = 0; i < ROUNDS; i++) {
      baseline.push(timeChild(node.path, ['-e', '0'], {}));
      for (const c of cases) samples.get(c)!.push(runOnce(c, i));
    }
    const wall = (s: ChildSample[]) => median(s.map((x) => x.wallMs));
    const cpu = (s: ChildSample[]) => median(s.map((x) => x.cpuMs));
    const figures: BenchFigure[] = [];
    for (const c of cases) {
      const s = samples.get(c)!;
      const cpuRatio = cpu(s) / cpu(baseline);
      const notes = [`CPU ${cpu(s).toFixed(0)} ms vs ${cpu(baseline).toFixed(0)} ms (${cpuRatio.toFixed(2)}×)`, c.program && bundleSizes(bundles.get(c.program)!), c.notes].filter(Boolean).join('; ');
      figures.push(figure(c.name, 'node -e 0', wall(s), wall(baseline), { ...(c.goal ? { goal: c.goal } : {}), notes }));
    }
    return {
      title: 'Step start-up',
      figures,
      extra: [
        floorNote(cases, samples, baseline),
        'Tried for this section (each measured alone, 31-41 alternating rounds on the image\'s node, before -> after):',
        '- validate-params hashes PARAMS_DIGEST with @noble/hashes instead of node:crypto, whose loading alone took about 4 ms: 1.52x -> 1.36x.',
        '- inject-credentials checks its environment with zod only after --help (env.ts, basic-auth-formats.ts): --help 1.23x -> 1.09x.',
        '- Every run writes its results into an empty folder, as a TaskRun does: renaming a result over the last run\'s makes ext4 flush',
        '  the file (auto_da_alloc), 2-4 ms per result that the earlier figures carried and a TaskRun never pays.',
        '- Not done: a V8 code cache or snapshot (see "Compile cost": not reproducible). What validate-params still spends above the',
        '  floor is compiling its 52 KB entry (every rule type) and running the rules; the rule types could be split into chunks, but',
        '  ten params of ten types, the goal case, would load most of them anyway.',
        `Wall time, median of ${ROUNDS} alternating rounds (one round: node -e 0, then every case once), the image's Node (${node.version}).`,
        'CPU is user + system time of the child, threads included. Bundle: the entry and the chunks it imports statically, of all its files.',
        `Machine before: ${loadBefore}; after: ${machineLoad()}.`,
      ],
    };
  } finally {
    await node.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printSection(await run());
