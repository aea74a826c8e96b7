// Audit of the tektoncd/catalog corpus (../shared/corpus/tektoncd-catalog)
// against @ibm/tekton-lint 1.1.0 over the same files in the same run: both
// as the command a user runs (alternating, median wall time, peak RSS from
// GNU time), and both in-process (warm, median), which leaves out Node's
// start-up and module loading.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Auditor, TaskCatalog } from '../../src/audit/index.ts';
import { atMostRatio, figure, medianMs, type BenchSection } from './lib.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = resolve(repoRoot, '..', 'shared', 'corpus', 'tektoncd-catalog');
const RUNS = 9;
const GOAL = atMostRatio(0.1); // ≥ 10× faster than tekton-lint

interface Sample {
  wallMs: number;
  peakKiB: number;
}

/** One run under GNU time: wall time and the child's peak resident set size. */
function timeOnce(args: string[], env: NodeJS.ProcessEnv): Sample {
  const child = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
  const match = /(\d+\.\d+) (\d+)\s*$/.exec(child.stderr);
  // Both tools exit 1 when they report problems; anything else is a failed run.
  if (!match || (child.status !== 0 && child.status !== 1)) throw new Error(`benchmark run failed (exit ${child.status}): ${child.stderr.slice(-300)}`);
  return { wallMs: Number(match[1]) * 1000, peakKiB: Number(match[2]) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<BenchSection> {
  const title = 'audit: tektoncd/catalog corpus vs @ibm/tekton-lint 1.1.0';
  if (!existsSync(corpus)) return { title, figures: [], extra: [`skipped: ${corpus} is missing`] };
  const cache = mkdtempSync(join(tmpdir(), 'tekton-lint-cache-'));
  try {
    const env = { ...process.env, TL_CACHE_DIR: cache, NO_COLOR: '1' };
    const ours = ['src/cli/main.ts', 'audit', '--format', 'json', '--fail-on', 'none', '--no-config', corpus];
    const theirs = [join(repoRoot, 'node_modules/@ibm/tekton-lint/dist/lint.js'), '--format', 'json', `${corpus}/**/*.yaml`];
    const a: Sample[] = [];
    const b: Sample[] = [];
    timeOnce(ours, env);
    timeOnce(theirs, env);
    for (let i = 0; i < RUNS; i++) {
      a.push(timeOnce(ours, { ...env, PWD: repoRoot }));
      b.push(timeOnce(theirs, env));
    }
    const oursMs = median(a.map((s) => s.wallMs));
    const theirsMs = median(b.map((s) => s.wallMs));
    const oursPeak = Math.max(...a.map((s) => s.peakKiB)) / 1024;
    const theirsPeak = Math.max(...b.map((s) => s.peakKiB)) / 1024;

    const catalog = await TaskCatalog.fromDirectory(join(repoRoot, 'catalog'));
    const auditor = new Auditor({ catalog });
    let files = 0;
    const inProcessOurs = await medianMs(async () => {
      files = (await auditor.auditPaths([corpus], { cwd: corpus })).summary.files;
    }, RUNS);
    const { Linter, Config } = (await import('@ibm/tekton-lint')) as unknown as {
      Linter: { run(cfg: unknown): Promise<unknown[]> };
      Config: new (cli: Record<string, unknown>) => unknown;
    };
    process.env.TL_CACHE_DIR = cache;
    const inProcessTheirs = await medianMs(() => Linter.run(new Config({ _: [`${corpus}/**/*.yaml`], config: cache, format: 'json' })), RUNS);

    const miss = (ratio: number) => (ratio <= 0.1 ? 'goal met' : ratio < 1 ? `MISSED: ${(1 / ratio).toFixed(1)}× faster, not 10×` : `MISSED: ${ratio.toFixed(2)}× slower, not 10× faster`);
    return {
      title,
      figures: [
        figure(`tekton-catalog audit, ${files} files, whole command`, 'tekton-lint 1.1.0, same files, whole command', oursMs, theirsMs, {
          goal: GOAL,
          notes: `${miss(oursMs / theirsMs)}; peak RSS ${oursPeak.toFixed(0)} MiB vs ${theirsPeak.toFixed(0)} MiB; median of ${RUNS} alternating runs`,
        }),
        figure(`tekton-catalog audit, ${files} files, in-process (warm)`, 'tekton-lint 1.1.0 Linter.run, in-process (warm)', inProcessOurs, inProcessTheirs, {
          notes: `${miss(inProcessOurs / inProcessTheirs)}; both parse with the yaml package, which is most of both times`,
        }),
      ],
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
