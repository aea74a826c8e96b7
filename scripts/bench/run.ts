// npm run bench [-- area ...]: runs every benchmark module in scripts/bench/
// (or the named ones) and writes the figures to BENCHMARKS.md.
import { readdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import { describeGoal, meetsGoal, type BenchFigure, type BenchSection } from './lib.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..', '..');
const NOT_BENCHMARKS = new Set(['lib.ts', 'run.ts']);

/** Markdown table cells may not hold a pipe (baselines such as `find … | xargs …` do). */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** The goal cell: a missed goal is marked so that nobody reads it as met. */
function goalCell(f: BenchFigure): string {
  if (f.goal === undefined) return '';
  return meetsGoal(f) ? `${describeGoal(f.goal)} (met)` : `${describeGoal(f.goal)} **MISSED**`;
}

function render(sections: BenchSection[]): string {
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench`. Every figure is a ratio to a baseline measured in the same run on the same machine.',
    '',
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}. Run on ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, '');
    if (section.figures.length > 0) {
      lines.push('| measurement | time | baseline | baseline time | ratio | goal | notes |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const f of section.figures) {
        lines.push(
          `| ${cell(f.name)} | ${formatMs(f.valueMs)} | ${cell(f.baseline)} | ${formatMs(f.baselineMs)} | ${f.ratio.toFixed(2)}× | ${cell(goalCell(f))} | ${cell(f.notes ?? '')} |`,
        );
      }
      lines.push('');
    }
    // Free-form rows keep their indentation in a text block.
    if (section.extra?.length) lines.push('```text', ...section.extra, '```', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Every benchmark area: a module in scripts/bench/ exporting run() and a one-line summary. */
async function areas(): Promise<{ name: string; file: string; summary: string }[]> {
  const files = (await readdir(benchDir)).filter((file) => file.endsWith('.ts') && !NOT_BENCHMARKS.has(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { summary?: unknown };
      return { name: file.replace(/\.ts$/, ''), file, summary: typeof module.summary === 'string' ? module.summary : '' };
    }),
  );
}

function usage(all: { name: string; summary: string }[]): string {
  const width = Math.max(...all.map((a) => a.name.length));
  return [
    'usage: npm run bench [-- AREA ...]',
    '',
    'Measures each area as ratios to a baseline timed in the same run. With no AREA, runs',
    'them all and rewrites BENCHMARKS.md; with AREAs, prints their figures only.',
    'A figure that misses its goal is marked MISSED.',
    '',
    'areas:',
    ...all.map((a) => `  ${a.name.padEnd(width)}  ${a.summary}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const all = await areas();
  if (wanted.includes('--help') || wanted.includes('-h')) {
    process.stdout.write(`${usage(all)}\n`);
    return;
  }
  const unknown = wanted.filter((name) => !all.some((a) => a.name === name));
  if (unknown.length > 0) {
    throw new Error(`no benchmark area named ${unknown.map((u) => JSON.stringify(u)).join(', ')}; areas: ${all.map((a) => a.name).join(', ')} (npm run bench -- --help)`);
  }
  const modules = all.filter((a) => wanted.length === 0 || wanted.includes(a.name)).map((a) => a.file);
  const sections: BenchSection[] = [];
  for (const file of modules) {
    process.stdout.write(`bench: ${file}\n`);
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { run?: () => Promise<BenchSection> };
    if (typeof module.run !== 'function') throw new Error(`${file} does not export run()`);
    const section = await module.run();
    sections.push(section);
    process.stdout.write(render([section]).split('\n').slice(6).join('\n'));
  }
  const missed = sections.flatMap((section) => section.figures.filter((f) => meetsGoal(f) === false).map((f) => `${section.title}: ${f.name}`));
  for (const miss of missed) process.stdout.write(`bench: MISSED goal: ${miss}\n`);
  if (wanted.length === 0) {
    await writeFileAtomic(join(repoRoot, 'BENCHMARKS.md'), render(sections));
    process.stdout.write('bench: wrote BENCHMARKS.md\n');
  } else {
    process.stdout.write('bench: partial run; BENCHMARKS.md is written only by a full run\n');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
