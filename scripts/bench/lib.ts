import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/**
 * Shared shape and timing helpers for benchmarks. Every figure is a ratio to
 * a baseline measured in the same run on the same machine, so the numbers
 * compare across machines of different speed.
 */
export interface BenchFigure {
  /** What was measured, e.g. "validate-params cold start (10 params)". */
  name: string;
  /** What the baseline is, e.g. "node -e 0". */
  baseline: string;
  valueMs: number;
  baselineMs: number;
  /** valueMs / baselineMs. */
  ratio: number;
  /** A goal from the issue, if there is one: see atMostRatio and atMostSeconds. */
  goal?: BenchGoal;
  /** Extra facts: sizes, counts, peak memory. */
  notes?: string;
}

/** A goal is a bound on the ratio, or on the measured time itself (e.g. a build "≤ 30 s"). */
export type BenchGoal = { ratioAtMost: number } | { secondsAtMost: number };

export function atMostRatio(ratio: number): BenchGoal {
  return { ratioAtMost: ratio };
}

export function atMostSeconds(seconds: number): BenchGoal {
  return { secondsAtMost: seconds };
}

export function describeGoal(goal: BenchGoal): string {
  return 'ratioAtMost' in goal ? `≤ ${goal.ratioAtMost}×` : `≤ ${goal.secondsAtMost} s`;
}

/** True when the figure meets its goal, false when it misses it, undefined without a goal. */
export function meetsGoal(f: BenchFigure): boolean | undefined {
  if (f.goal === undefined) return undefined;
  return 'ratioAtMost' in f.goal ? f.ratio <= f.goal.ratioAtMost : f.valueMs <= f.goal.secondsAtMost * 1000;
}

export interface BenchSection {
  title: string;
  figures: BenchFigure[];
  /** Free-form rows (sizes and the like) that are not ratios. */
  extra?: string[];
}

/** Median wall time in ms of `runs` calls, after `warmup` unmeasured calls. */
export async function medianMs(fn: () => unknown | Promise<unknown>, runs = 10, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Median wall time of running a command to completion. */
export function commandMs(file: string, args: string[], options: { runs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  return medianMs(() => {
    execFileSync(file, args, { stdio: ['pipe', 'ignore', 'ignore'], env: options.env ?? process.env, input: options.input ?? '' });
  }, options.runs ?? 10);
}

export function figure(name: string, baseline: string, valueMs: number, baselineMs: number, extra: Partial<BenchFigure> = {}): BenchFigure {
  return { name, baseline, valueMs, baselineMs, ratio: valueMs / baselineMs, ...extra };
}
