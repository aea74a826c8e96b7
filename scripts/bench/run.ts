// npm run bench [-- area ...]: runs every benchmark module in scripts/bench/
// (or the named ones) and writes the figures to BENCHMARKS.md.
import { readdir } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import type { BenchSection } from './lib.ts';

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
          `| ${cell(f.name)} | ${formatMs(f.valueMs)} | ${cell(f.baseline)} | ${formatMs(f.baselineMs)} | ${f.ratio.toFixed(2)}× | ${cell(f.goal ?? '')} | ${cell(f.notes ?? '')} |`,
        );
      }
      lines.push('');
    }
    // Free-form rows keep their indentation in a text block.
    if (section.extra?.length) lines.push('```text', ...section.extra, '```', '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const modules = (await readdir(benchDir))
    .filter((file) => file.endsWith('.ts') && !NOT_BENCHMARKS.has(file))
    .filter((file) => wanted.length === 0 || wanted.includes(file.replace(/\.ts$/, '')))
    .sort();
  if (modules.length === 0) throw new Error(`no benchmark matches ${wanted.join(', ')}`);
  const sections: BenchSection[] = [];
  for (const file of modules) {
    process.stdout.write(`bench: ${file}\n`);
    const module = (await import(pathToFileURL(join(benchDir, file)).href)) as { run?: () => Promise<BenchSection> };
    if (typeof module.run !== 'function') throw new Error(`${file} does not export run()`);
    const section = await module.run();
    sections.push(section);
    process.stdout.write(render([section]).split('\n').slice(6).join('\n'));
  }
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
