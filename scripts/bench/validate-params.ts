// Cold start of the bundled validate-params program on a 10-param set, as a
// ratio to `node -e 0`. Runs alternate between the two so that load from
// other work on the machine hits both sides alike. Wall time is the goal's
// measure; CPU time (user + system of the child) is reported beside it
// because it moves much less when other work shares the machine.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleBytes, bundleStep, writeStepBundle } from '../../src/build/bundle-step.ts';
import { atMostRatio, figure, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'validate-params cold start on 10 params (vs node -e 0)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = 31;

const sha = '3f786850e387550fdab836ed7e6dc881de23001b';
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
  'build-arg': { type: 'regex', pattern: '[A-Z_][A-Z0-9_]*=[A-Za-z0-9._-]*', maxLength: 256 },
};
const ARGS = [
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

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/**
 * One run under bash's `time` keyword, which reads the child's rusage with
 * millisecond resolution (times(2) and /proc would give 10 ms ticks): real
 * time around fork, exec and wait only, and user + system CPU time. A
 * failing program fails the benchmark.
 */
function timeOnce(file: string, args: string[], env: NodeJS.ProcessEnv): Sample {
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>/dev/null';
  const child = spawnSync('/bin/bash', ['-c', script, 'bash', file, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  const times = /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)$/.exec(child.stderr.trim());
  if (child.status !== 0 || !times) {
    throw new Error(`benchmark run of ${args[0] ?? file} failed (exit ${child.status}): ${child.stderr.slice(0, 300)}`);
  }
  const [, real, user, system] = times.map(Number) as [number, number, number, number];
  return { wallMs: real * 1000, cpuMs: (user + system) * 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<BenchSection> {
  const work = await mkdtemp(join(tmpdir(), 'bench-validate-params-'));
  try {
    const bundle = await bundleStep(repoRoot, 'validate-params');
    const program = await writeStepBundle(bundle, work);
    const env = { RULES: JSON.stringify(RULES), TEKTON_RESULTS_DIR: join(work, 'results'), TASK_NAME: 'bench' };
    const yamlEnv = { ...env, RULES: Object.entries(RULES).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') };
    // The same set with the regex rule turned into a text rule: the step then never loads re2js.
    const noRegexEnv = { ...env, RULES: JSON.stringify({ ...RULES, 'build-arg': { type: 'text', maxLength: 256 } }) };
    const baseline: Sample[] = [];
    const json: Sample[] = [];
    const yaml: Sample[] = [];
    const noRegex: Sample[] = [];
    // One unmeasured round warms the file cache.
    timeOnce(process.execPath, ['-e', '0'], {});
    timeOnce(process.execPath, [program, ...ARGS], env);
    for (let i = 0; i < RUNS; i++) {
      baseline.push(timeOnce(process.execPath, ['-e', '0'], {}));
      json.push(timeOnce(process.execPath, [program, ...ARGS], env));
      yaml.push(timeOnce(process.execPath, [program, ...ARGS], yamlEnv));
      noRegex.push(timeOnce(process.execPath, [program, ...ARGS], noRegexEnv));
    }
    const wall = (samples: Sample[]) => median(samples.map((s) => s.wallMs));
    const cpu = (samples: Sample[]) => median(samples.map((s) => s.cpuMs));
    const kb = (bundleBytes(bundle) / 1024).toFixed(0);
    return {
      title: 'validate-params cold start',
      figures: [
        figure('validate-params, 10 params, JSON rules (bundled, exit 0)', 'node -e 0', wall(json), wall(baseline), {
          goal: atMostRatio(1.1),
          notes: `wall time; bundle ${kb} KiB; median of ${RUNS} alternating runs`,
        }),
        figure('validate-params, 10 params, JSON rules: CPU time', 'node -e 0', cpu(json), cpu(baseline), {
          notes: 'user + system CPU time of the child; steadier than wall time on a loaded machine',
        }),
        figure('validate-params, 10 params, YAML rules', 'node -e 0', wall(yaml), wall(baseline), {
          notes: 'wall time; loads the yaml parser on demand',
        }),
        figure('validate-params, 10 params, JSON rules, no regex rule', 'node -e 0', wall(noRegex), wall(baseline), {
          goal: atMostRatio(1.1),
          notes: 'wall time; the regex engine (re2js) is loaded only for rule sets with a regex rule',
        }),
      ],
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = await run();
  for (const f of section.figures) console.log(`${f.name}: ${f.valueMs.toFixed(1)} ms vs ${f.baselineMs.toFixed(1)} ms = ${f.ratio.toFixed(2)}×`);
}
