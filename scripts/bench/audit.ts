// Audit of the tektoncd/catalog corpus (../shared/corpus/tektoncd-catalog)
// against @ibm/tekton-lint 1.1.0 over the same files in the same run: both
// as the command a user runs (alternating, median wall time, peak RSS from
// GNU time), and both in-process (warm, median), which leaves out Node's
// start-up and module loading.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments } from 'yaml';
import { Auditor, TaskCatalog } from '../../src/audit/index.ts';
import { atMostRatio, figure, medianMs, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'audit of the tektoncd/catalog corpus (vs @ibm/tekton-lint 1.1.0 on the same files)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = resolve(repoRoot, '..', 'shared', 'corpus', 'tektoncd-catalog');
const RUNS = 9;
/** Issue 14: at least 10× faster than tekton-lint, i.e. a ratio of at most 0.1. */
const GOAL = atMostRatio(0.1);

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
    const cold: Sample[] = [];
    // The command keeps V8's compiled code in the user's cache (src/cli/compile-cache.ts): the warm-up run
    // fills it, as a first run does for a user. "First run" times each run with an empty cache of its own.
    timeOnce(ours, env);
    timeOnce(theirs, env);
    for (let i = 0; i < RUNS; i++) {
      a.push(timeOnce(ours, { ...env, PWD: repoRoot }));
      b.push(timeOnce(theirs, env));
      const empty = mkdtempSync(join(tmpdir(), 'audit-compile-cache-'));
      cold.push(timeOnce(ours, { ...env, PWD: repoRoot, NODE_COMPILE_CACHE: empty }));
      rmSync(empty, { recursive: true, force: true });
    }
    const oursMs = median(a.map((s) => s.wallMs));
    const coldMs = median(cold.map((s) => s.wallMs));
    const theirsMs = median(b.map((s) => s.wallMs));
    const oursPeak = Math.max(...a.map((s) => s.peakKiB)) / 1024;
    const theirsPeak = Math.max(...b.map((s) => s.peakKiB)) / 1024;

    const catalog = await TaskCatalog.fromDirectory(join(repoRoot, 'catalog'));
    const auditor = new Auditor({ catalog });
    let files = 0;
    const inProcessOurs = await medianMs(async () => {
      files = (await auditor.auditPaths([corpus], { cwd: corpus })).summary.files;
    }, RUNS);
    // The floor under both: the yaml package parsing the same files into documents, nothing else.
    const texts = (await readdir(corpus, { recursive: true })).filter((name) => name.endsWith('.yaml')).map((name) => readFileSync(join(corpus, name), 'utf8'));
    const parseOnly = await medianMs(() => {
      for (const text of texts) parseAllDocuments(text, { lineCounter: new LineCounter(), uniqueKeys: true });
    }, RUNS);
    const { Linter, Config } = (await import('@ibm/tekton-lint')) as unknown as {
      Linter: { run(cfg: unknown): Promise<unknown[]> };
      Config: new (cli: Record<string, unknown>) => unknown;
    };
    process.env.TL_CACHE_DIR = cache;
    const inProcessTheirs = await medianMs(() => Linter.run(new Config({ _: [`${corpus}/**/*.yaml`], config: cache, format: 'json' })), RUNS);

    // The goal column marks a miss; this says by how much, in the words of the goal.
    const speed = (ratio: number) => (ratio < 1 ? `${(1 / ratio).toFixed(1)}× faster` : `${ratio.toFixed(2)}× slower`);
    return {
      title,
      figures: [
        figure(`tekton-catalog audit, ${files} files, whole command`, 'tekton-lint 1.1.0, same files, whole command', oursMs, theirsMs, {
          goal: GOAL,
          notes: `${speed(oursMs / theirsMs)}; peak RSS ${oursPeak.toFixed(0)} MiB vs ${theirsPeak.toFixed(0)} MiB; median of ${RUNS} alternating runs`,
        }),
        figure(`tekton-catalog audit, ${files} files, whole command, first run`, 'tekton-lint 1.1.0, same files, whole command', coldMs, theirsMs, {
          notes: `${speed(coldMs / theirsMs)}; an empty compile cache each run: every module stripped of types and compiled`,
        }),
        figure(`tekton-catalog audit, ${files} files, in-process (warm)`, 'tekton-lint 1.1.0 Linter.run, in-process (warm)', inProcessOurs, inProcessTheirs, {
          notes: `${speed(inProcessOurs / inProcessTheirs)}; both parse with the yaml package, which is most of both times`,
        }),
        figure(`yaml parseAllDocuments of the same ${texts.length} files alone, in-process (warm)`, 'tekton-lint 1.1.0 Linter.run, in-process (warm)', parseOnly, inProcessTheirs, {
          notes: `the floor for any tool that reads them with the yaml package: ${((parseOnly / inProcessOurs) * 100).toFixed(0)}% of the audit's in-process time`,
        }),
      ],
      extra: [
        'The 10x goal cannot be met while both tools parse with the yaml package: parsing the corpus alone (last row) takes',
        'more than a tenth of tekton-lint\'s time. A CPU profile of the command (node --cpu-prof) puts the rest in node\'s start-up,',
        'stripping types from and compiling the command\'s modules (now cached between runs: src/cli/compile-cache.ts), the',
        'zod models (zod/mini), the rules and the JSON report. Parsing YAML some other way (a CST walk of our own, or another',
        'parser) would trade the positions the issue asks the yaml package for against a parser of our own; not done.',
      ],
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
