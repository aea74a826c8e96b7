// What is left of a step's start-up after its bundle was trimmed is V8
// compiling the code it loads. Two ways to skip that were measured, and
// this records them: V8's code cache (node's compile cache, which a build
// could produce and ship in the image) and a start-up snapshot (node
// --build-snapshot). Either may go into the image only if the image stays
// byte-for-byte reproducible, on amd64 and on arm64 (produced here under
// qemu-user-static): so besides the time each saves, this checks whether
// producing it twice gives the same bytes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleStep, writeStepBundle } from '../../src/build/bundle-step.ts';
import { loadRuntimeLock } from '../../src/build/runtime/lock.ts';
import { RuntimeLayers } from '../../src/build/runtime/layers.ts';
import { extractFromTgz } from '../../src/build/runtime/extract.ts';
import { fetchNodePackage } from '../../src/build/runtime/npm-fetch.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { figure, imageNode, machineLoad, median, timeChild, type BenchSection, type ChildSample, printSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = "V8 code cache and start-up snapshot: the start-up each saves, and whether they are reproducible (amd64, arm64 under qemu)";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUNDS = Number(process.env.COMPILE_COST_BENCH_ROUNDS ?? 21);
const QEMU = '/usr/bin/qemu-aarch64-static';

const RULES = JSON.stringify({
  'git-revision': { type: 'git-sha' },
  image: { type: 'image-reference', requireDigest: true },
  'source-url': { type: 'https-url', allowedHosts: ['github.com'] },
  replicas: { type: 'integer', min: 1, max: 10 },
});
const VALUES = [`git-revision=${'a'.repeat(40)}`, `image=ghcr.io/org/app@sha256:${'b'.repeat(64)}`, 'source-url=https://github.com/org/app', 'replicas=3'];

/** Every file under `dir`, relative path to bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    try {
      files.set(relative(dir, path), readFileSync(path));
    } catch {
      // A folder.
    }
  }
  return files;
}

/** "identical", or how many bytes of how many differ between two sets of files with the same names. */
function compareOutputs(a: Map<string, Buffer>, b: Map<string, Buffer>): { identical: boolean; text: string } {
  if ([...a.keys()].sort().join() !== [...b.keys()].sort().join()) return { identical: false, text: 'different file names' };
  let differing = 0;
  let total = 0;
  for (const [name, bytes] of a) {
    const other = b.get(name)!;
    total += bytes.length;
    if (other.length !== bytes.length) differing += Math.max(bytes.length, other.length);
    else for (let i = 0; i < bytes.length; i++) if (bytes[i] !== other[i]) differing++;
  }
  return differing === 0 ? { identical: true, text: `identical (${a.size} files, ${total} bytes)` } : { identical: false, text: `${differing} of ${total} bytes differ over ${a.size} files` };
}

/** The arm64 image's root (base layer) and node binary, to run under qemu-user-static; undefined when qemu is missing. */
async function arm64Runtime(work: string): Promise<{ node: string; root: string } | undefined> {
  if (!existsSync(QEMU)) return undefined;
  const lock = await loadRuntimeLock();
  const layout = await OciLayout.create(join(work, 'layout'));
  const base = await new RuntimeLayers(lock, join(repoRoot, '.cache')).baseLayer(layout, 'arm64', 0);
  const root = join(work, 'arm64-root');
  mkdirSync(root);
  const untar = spawnSync('tar', ['-xzf', layout.blobPath(base.descriptor.digest), '-C', root]);
  if (untar.status !== 0) throw new Error(`cannot unpack the arm64 base layer: ${untar.stderr}`);
  const [binary] = (await extractFromTgz(await fetchNodePackage(lock.node.arm64, join(repoRoot, '.cache')), (path) => path === 'package/bin/node')).filter((f) => f.type === 'file');
  if (binary?.type !== 'file') throw new Error('the arm64 node package holds no bin/node');
  const node = join(work, 'node-arm64');
  writeFileSync(node, binary.content, { mode: 0o755 });
  return { node, root };
}

export async function run(): Promise<BenchSection> {
  const work = mkdtempSync(join(tmpdir(), 'bench-compile-cost-'));
  const node = await imageNode(repoRoot);
  const loadBefore = machineLoad();
  try {
    const entry = await writeStepBundle(await bundleStep(repoRoot, 'validate-params'), join(work, 'app'));
    const env = { RULES, TEKTON_RESULTS_DIR: join(work, 'results') };
    const args = [entry, ...VALUES];

    // 1. The code cache: a warm cache against none, alternating.
    const cacheDir = join(work, 'compile-cache');
    timeChild(node.path, args, { ...env, NODE_COMPILE_CACHE: cacheDir });
    const baseline: ChildSample[] = [];
    const cold: ChildSample[] = [];
    const warm: ChildSample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      baseline.push(timeChild(node.path, ['-e', '0'], {}));
      cold.push(timeChild(node.path, args, env));
      warm.push(timeChild(node.path, args, { ...env, NODE_COMPILE_CACHE: cacheDir }));
    }
    const wall = (s: ChildSample[]) => median(s.map((x) => x.wallMs));
    const cpu = (s: ChildSample[]) => median(s.map((x) => x.cpuMs));

    // 2. Is the cache reproducible? Produce it twice from the same bundle and compare.
    const produce = (dir: string, run: (dir: string) => void) => {
      mkdirSync(dir);
      run(dir);
      return filesUnder(dir);
    };
    const amd64Cache = compareOutputs(
      produce(join(work, 'cache-a'), (dir) => timeChild(node.path, args, { ...env, NODE_COMPILE_CACHE: dir })),
      produce(join(work, 'cache-b'), (dir) => timeChild(node.path, args, { ...env, NODE_COMPILE_CACHE: dir })),
    );
    const arm64 = await arm64Runtime(work);
    const arm64Cache = arm64
      ? compareOutputs(
          produce(join(work, 'cache-arm-a'), (dir) => timeChild(QEMU, ['-L', arm64.root, arm64.node, ...args], { ...env, NODE_COMPILE_CACHE: dir })),
          produce(join(work, 'cache-arm-b'), (dir) => timeChild(QEMU, ['-L', arm64.root, arm64.node, ...args], { ...env, NODE_COMPILE_CACHE: dir })),
        )
      : { identical: false, text: `not checked: ${QEMU} is missing` };

    // 3. A start-up snapshot of a small program: reproducible, and how fast does it start?
    const snapshotEntry = join(work, 'snapshot-entry.cjs');
    writeFileSync(
      snapshotEntry,
      "const v8 = require('node:v8');\nconst table = new Map();\nfor (let i = 0; i < 1000; i++) table.set(`key-${i}`, { i });\nv8.startupSnapshot.setDeserializeMainFunction(() => { process.exitCode = table.size === 1000 ? 0 : 1; });\n",
    );
    const blob = (name: string) => {
      const path = join(work, name);
      timeChild(node.path, ['--snapshot-blob', path, '--build-snapshot', snapshotEntry], {});
      return path;
    };
    const [blobA, blobB] = [blob('snapshot-a.blob'), blob('snapshot-b.blob')];
    const snapshot = compareOutputs(new Map([['blob', readFileSync(blobA)]]), new Map([['blob', readFileSync(blobB)]]));
    const snapshotRuns: ChildSample[] = [];
    const snapshotBaseline: ChildSample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      snapshotBaseline.push(timeChild(node.path, ['-e', '0'], {}));
      snapshotRuns.push(timeChild(node.path, ['--snapshot-blob', blobA], {}));
    }
    const blobMiB = (readFileSync(blobA).length / 2 ** 20).toFixed(1);

    const verdict = (ok: boolean) => (ok ? 'reproducible' : 'NOT reproducible');
    return {
      title: 'Compile cost: V8 code cache and start-up snapshot (measured, not used)',
      figures: [
        figure('validate-params, 4 params, no code cache (as shipped)', 'node -e 0', wall(cold), wall(baseline), { notes: `CPU ${cpu(cold).toFixed(0)} ms vs ${cpu(baseline).toFixed(0)} ms` }),
        figure('validate-params, 4 params, warm V8 code cache (NODE_COMPILE_CACHE)', 'node -e 0', wall(warm), wall(baseline), {
          notes: `CPU ${cpu(warm).toFixed(0)} ms: ${(((cpu(cold) - cpu(warm)) / cpu(cold)) * 100).toFixed(0)}% less than without`,
        }),
        figure(`start from a ${blobMiB} MiB user-land snapshot (node --snapshot-blob)`, 'node -e 0', wall(snapshotRuns), wall(snapshotBaseline), {
          notes: `CPU ${cpu(snapshotRuns).toFixed(0)} ms vs ${cpu(snapshotBaseline).toFixed(0)} ms; a snapshot replaces node's own, so even an empty program starts slower`,
        }),
      ],
      extra: [
        `Code cache produced twice, amd64: ${amd64Cache.text}: ${verdict(amd64Cache.identical)}.`,
        `Code cache produced twice, arm64 under qemu-user-static: ${arm64Cache.text}: ${verdict(arm64Cache.identical)}.`,
        `Snapshot built twice, amd64: ${snapshot.text}: ${verdict(snapshot.identical)}.`,
        'V8 seeds its string hashes at random in every process, and both the code cache and the snapshot carry',
        'hash values (and V8 compiles lazily, so what a cache holds depends on what ran). A fixed --hash-seed',
        "could make them repeatable, but it would have to be set for every run of the image too (V8 rejects a cache",
        'made under other flags) and would give up the defence against hash flooding. Neither goes into the images;',
        'a compile cache written at run time would not help either: every TaskRun starts a new pod with an empty /tmp',
        'and a read-only root. The command line does keep one between runs (src/cli/compile-cache.ts).',
        `Median of ${ROUNDS} alternating rounds, the image's Node (${node.version}). Machine before: ${loadBefore}; after: ${machineLoad()}.`,
      ],
    };
  } finally {
    await node.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printSection(await run());
