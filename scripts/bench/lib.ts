import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadRuntimeLock } from '../../src/build/runtime/lock.ts';
import { extractFromTgz } from '../../src/build/runtime/extract.ts';
import { fetchNodePackage } from '../../src/build/runtime/npm-fetch.ts';

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

/** One timed child run: wall time around fork, exec and wait, and the child's user + system CPU time. */
export interface ChildSample {
  wallMs: number;
  cpuMs: number;
}

/**
 * Runs a command once under bash's `time` keyword, which reads the child's
 * rusage with millisecond resolution (times(2) and /proc give 10 ms ticks),
 * threads and children included. Output goes to /dev/null; an exit code not
 * in `okCodes` fails the benchmark with the end of stderr.
 */
export function timeChild(file: string, args: string[], env: NodeJS.ProcessEnv, okCodes: readonly number[] = [0]): ChildSample {
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>"$ERR_FILE"; status=$?; exit $status';
  const errFile = join(tmpdir(), `bench-stderr-${process.pid}`);
  const child = spawnSync('/bin/bash', ['-c', script, 'bash', file, ...args], {
    env: { ...env, ERR_FILE: errFile },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 600_000,
  });
  const times = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(child.stderr);
  if (!okCodes.includes(child.status ?? -1) || !times) {
    let stderr = '';
    try {
      stderr = readFileSync(errFile, 'utf8').slice(-1500);
    } catch {
      // No stderr file: the shell itself failed.
    }
    throw new Error(`benchmark run of ${[file, ...args].join(' ').slice(0, 200)} exited ${child.status}: ${stderr || child.stderr.slice(-500)}`);
  }
  const [, real, user, system] = times.map(Number) as [number, number, number, number];
  return { wallMs: real * 1000, cpuMs: (user + system) * 1000 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The system's 1-minute load average now, and the number of cores: how busy the machine was. */
export function machineLoad(): string {
  return `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`;
}

/**
 * The Node binary the step images run (the node layer's, from the pinned
 * npm package in runtime.lock.json for this machine's architecture), so a
 * benchmark compares a step with `node -e 0` of the same binary, not the
 * host's node. Extracted into a temporary folder; `cleanup` removes it.
 */
export async function imageNode(repoRoot: string): Promise<{ path: string; version: string; cleanup(): Promise<void> }> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const entry = (await loadRuntimeLock()).node[arch];
  const tgz = await fetchNodePackage(entry, join(repoRoot, '.cache'));
  const [node] = (await extractFromTgz(tgz, (path) => path === 'package/bin/node')).filter((file) => file.type === 'file');
  if (node?.type !== 'file') throw new Error(`${entry.name}@${entry.version} holds no bin/node`);
  const dir = await mkdtemp(join(tmpdir(), 'bench-image-node-'));
  const path = join(dir, 'node');
  await writeFile(path, node.content, { mode: 0o755 });
  return { path, version: `${entry.name}@${entry.version}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A bench module run on its own (node scripts/bench/<area>.ts): its section as plain text on stdout. */
export function printSection(section: BenchSection): void {
  const lines = [section.title];
  for (const f of section.figures) lines.push(`${f.name}: ${f.valueMs.toFixed(1)} ms vs ${f.baselineMs.toFixed(1)} ms = ${f.ratio.toFixed(2)}× (${f.notes ?? ''})`);
  lines.push(...(section.extra ?? []));
  process.stdout.write(`${lines.join('\n')}\n`);
}
