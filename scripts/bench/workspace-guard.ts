// Seal and verify of a generated tree (100,000 small files plus a few large
// ones, about 1 GB) by the bundled workspace-guard program, run by the
// image's own Node binary, as ratios to `find DIR -type f -print0 | xargs -0
// sha256sum` over the same tree in the same run. Runs alternate between
// guard and baseline so load from other work hits both alike. The goal is
// on CPU seconds (user + system, worker threads included): on a node busy
// with other pods, CPU is what the guard takes from them; its wall-clock
// ratio follows the machine's load. Peak memory is the child's max RSS.
// WSG_BENCH_SMALL_FILES and WSG_BENCH_LARGE_MB shrink the tree for a quick run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleStep, writeStepBundle } from '../../src/build/bundle-step.ts';
import { atMostRatio, figure, imageNode, machineLoad, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'workspace-guard seal and verify of 100,000 files (vs find | xargs sha256sum)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SMALL_FILES = Number(process.env.WSG_BENCH_SMALL_FILES ?? 100_000);
const LARGE_MB = Number(process.env.WSG_BENCH_LARGE_MB ?? 900);
const LARGE_FILES = 4;
const RUNS = Number(process.env.WSG_BENCH_RUNS ?? 5);

function generate(root: string): number {
  let bytes = 0;
  const perDir = 1000;
  for (let i = 0; i < SMALL_FILES; i++) {
    const dir = join(root, 'src', `pkg-${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    const content = `// module ${i}\nexport const value${i} = ${i * 7};\n`.repeat(1 + (i % 8));
    writeFileSync(join(dir, `m${i}.ts`), content);
    bytes += Buffer.byteLength(content);
  }
  mkdirSync(join(root, 'blobs'));
  const chunk = Buffer.alloc(1024 * 1024);
  for (let f = 0; f < LARGE_FILES; f++) {
    const path = join(root, 'blobs', `large-${f}.bin`);
    const mb = Math.floor(LARGE_MB / LARGE_FILES);
    for (let m = 0; m < mb; m++) {
      chunk.fill((m * 31 + f) & 0xff);
      chunk.writeUInt32LE(m, 0);
      writeFileSync(path, chunk, { flag: m === 0 ? 'w' : 'a' });
    }
    bytes += mb * 1024 * 1024;
  }
  return bytes;
}

/** Runs a command under GNU time; returns wall ms, CPU seconds (user + system) and max RSS in KiB. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv): { ms: number; cpuS: number; maxRssKiB: number } {
  const rssFile = join(tmpdir(), `wsg-bench-rss-${process.pid}`);
  const start = performance.now();
  execFileSync('/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, file, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = performance.now() - start;
  const [rss, user, system] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(rssFile, { force: true });
  return { ms, cpuS: user! + system!, maxRssKiB: rss! };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'wsg-bench-'));
  const node = await imageNode(repoRoot);
  const loadBefore = machineLoad();
  try {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    const bytes = generate(tree);
    const program = await writeStepBundle(await bundleStep(repoRoot, 'workspace-guard'), work);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TEKTON_RESULTS_DIR: join(work, 'results') };
    const manifest = join(work, 'manifest.ndjson');
    const guardArgs = (mode: string, extra: string[] = []) => [program, `--mode=${mode}`, `--target=${tree}`, `--manifest=${manifest}`, '--run-uid=bench', ...extra];
    const baselineArgs = ['-c', `find '${tree}' -type f -print0 | xargs -0 sha256sum > /dev/null`];

    // Warm the page cache for both sides.
    timed('/bin/sh', baselineArgs, env);
    const seal: number[] = [];
    const verify: number[] = [];
    const baseline: number[] = [];
    const sealCpu: number[] = [];
    const verifyCpu: number[] = [];
    const baselineCpu: number[] = [];
    let sealRss = 0;
    let verifyRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const b = timed('/bin/sh', baselineArgs, env);
      baseline.push(b.ms);
      baselineCpu.push(b.cpuS);
      const s = timed(node.path, guardArgs('seal'), env);
      seal.push(s.ms);
      sealCpu.push(s.cpuS);
      sealRss = Math.max(sealRss, s.maxRssKiB);
      const digest = readFileSync(join(work, 'results', 'manifest-digest'), 'utf8');
      const v = timed(node.path, guardArgs('verify', [`--expected-digest=${digest}`]), env);
      verify.push(v.ms);
      verifyCpu.push(v.cpuS);
      verifyRss = Math.max(verifyRss, v.maxRssKiB);
    }
    const files = SMALL_FILES + LARGE_FILES;
    const size = `${files} files, ${(bytes / 1e9).toFixed(2)} GB`;
    const base = 'find -type f -print0 | xargs -0 sha256sum';
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    return {
      title: 'workspace-guard',
      figures: [
        figure(`seal (${size}): CPU time`, `${base}: CPU time`, median(sealCpu) * 1000, median(baselineCpu) * 1000, {
          goal: atMostRatio(1.0),
          notes: `user + system, worker threads included; wall ${s(median(seal))} vs ${s(median(baseline))}; peak RSS ${(sealRss / 1024).toFixed(0)} MiB`,
        }),
        figure(`verify (${size}): CPU time`, `${base}: CPU time`, median(verifyCpu) * 1000, median(baselineCpu) * 1000, {
          goal: atMostRatio(1.0),
          notes: `wall ${s(median(verify))} vs ${s(median(baseline))}; peak RSS ${(verifyRss / 1024).toFixed(0)} MiB`,
        }),
        figure(`seal (${size}): wall time`, base, median(seal), median(baseline), { notes: 'follows the load of the machine' }),
      ],
      extra: [
        `Median of ${RUNS} alternating runs, the image's Node (${node.version}). Machine before: ${loadBefore}; after: ${machineLoad()}.`,
        'Where a seal\'s CPU goes (perf record of a seal of 100,000 small files and 200 MB, every thread and child): the hashing',
        'workers 41% (open through /proc/self/fd/N/name, read, fstat, close, SHA-256, the credential scan), the walking thread 36%',
        '(readdir, one lstat per entry, the manifest), V8\'s helper threads 12% (GC, compilation), getfattr 10%. sha256sum does',
        'the per-file part with fewer, cheaper calls; on the large files Node\'s SHA-256 (SHA-NI) is faster than coreutils\'.',
        'Tried (seal of 100,000 small files and 200 MB, median of 3-5 alternating runs, CPU before -> after):',
        '- getfattr batches and the hashing window of 4096 entries instead of 1024: 2.88 s -> 2.76 s, wall -11%, but peak RSS',
        '  201 -> 282 MiB on that tree (the window, not the tree, sets it): not kept, a third of the headroom under the Task\'s',
        '  512Mi limit for 4% of the CPU time.',
        '- One hashing worker instead of two: 2.78 s -> 2.63 s CPU but 3.55 s -> 4.14 s wall (not kept).',
        '- A larger young generation (--max-semi-space-size=32): 2.88 s -> 2.84 s, noise (not kept).',
        'Left: dropping the walking thread\'s lstat for regular files (readdir\'s d_type says "file", the worker\'s fstat of the open',
        'file gives the metadata) would save about 0.17 s per 100,000 files (measured: lstat through /proc 2.8 us, fstat 1.2 us),',
        'but moves every TOCTOU check the walker makes; not done in this round.',
      ],
    };
  } finally {
    await node.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await run(), null, 2));
