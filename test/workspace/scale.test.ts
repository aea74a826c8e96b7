import { appendFileSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { WorkspaceWalker } from '../../src/workspace/walker.ts';
import { guard, rulesAt, tempWorkspace } from './fixtures.ts';

t.test('20,000 nested folders: no stack overflow, no path-length limit', async (t) => {
  const ws = tempWorkspace(t, 'wsg-', { inMemory: true });
  const start = process.cwd();
  process.chdir(ws);
  try {
    for (let i = 0; i < 20_000; i++) {
      mkdirSync('d');
      process.chdir('d');
    }
    writeFileSync('bottom.txt', 'deep');
    // A sibling after the deepest folder forces the walk back up through every level.
    process.chdir(ws);
    writeFileSync('z-after', 'x');
  } finally {
    process.chdir(start);
  }
  const report = await guard(ws).seal();
  t.equal(report.violations, 0, JSON.stringify(report.findings.slice(0, 3)));
  t.equal(report.counts.dirs, 20_002, 'root, 20,000 levels and the reserved folder');
  t.equal(report.counts.files, 2);
  const verify = await guard(ws, { expectedDigest: report.manifestDigest! }).verify();
  t.equal(verify.violations, 0);
});

t.test('200,000 files seal and verify, with the same digest each time', async (t) => {
  const ws = tempWorkspace(t, 'wsg-', { inMemory: true });
  for (let d = 0; d < 200; d++) {
    const dir = join(ws, `dir-${d}`);
    mkdirSync(dir);
    for (let f = 0; f < 1000; f++) writeFileSync(join(dir, `f${f}`), `${d}/${f}`);
  }
  const first = await guard(ws).seal();
  t.equal(first.counts.files, 200_000);
  t.equal(first.violations, 0);
  const second = await guard(ws).seal();
  t.equal(second.manifestDigest, first.manifestDigest);
  unlinkSync(join(ws, 'dir-123/f456'));
  const verify = await guard(ws, { expectedDigest: first.manifestDigest! }).verify();
  t.same(verify.findings.map((f) => `${f.rule}:${f.path}`), ['removed:dir-123/f456']);
});

t.test('files that change or vanish mid-walk are findings, not crashes', async (t) => {
  const ws = tempWorkspace(t);
  for (const name of ['grows', 'vanishes', 'steady']) writeFileSync(join(ws, name), 'content');
  // Enough files that threads: 2 really hands batches to worker threads (a few files are inspected inline).
  mkdirSync(join(ws, 'filler'));
  for (let i = 0; i < 600; i++) writeFileSync(join(ws, 'filler', `f${i}`), `${i}`);
  const beforeOpen = (path: string) => {
    if (path === 'grows') appendFileSync(join(ws, 'grows'), ' and more');
    if (path === 'vanishes') unlinkSync(join(ws, 'vanishes'));
  };
  for (const threads of [0, 2]) {
    const report = await guard(ws, { beforeOpen, threads }).seal();
    t.same(rulesAt(report, 'grows'), ['changed-during-walk'], `threads ${threads}`);
    t.same(rulesAt(report, 'vanishes'), ['vanished-during-walk']);
    t.same(rulesAt(report, 'steady'), []);
    t.equal(report.violations, 2, 'nothing else is reported');
    t.equal(report.counts.files, 603);
    t.equal(report.manifestDigest, undefined, 'no manifest for a moving tree');
    writeFileSync(join(ws, 'vanishes'), 'back');
  }
});

t.test('a folder swapped for a symlink mid-walk is not followed', async (t) => {
  const ws = tempWorkspace(t);
  mkdirSync(join(ws, 'a'));
  writeFileSync(join(ws, 'a/x'), 'x');
  mkdirSync(join(ws, 'b'));
  writeFileSync(join(ws, 'b/y'), 'y');
  let swapped = false;
  const walker = new WorkspaceWalker(ws, {
    threads: 0,
    beforeOpen: (path) => {
      if (path === 'a/x' && !swapped) {
        swapped = true;
        rmSync(join(ws, 'b'), { recursive: true });
        symlinkSync('/etc', join(ws, 'b'));
      }
    },
  });
  const seen: string[] = [];
  for await (const entry of walker.entries()) seen.push(`${entry.path}:${entry.type}${entry.problem ? `:${entry.problem.kind}` : ''}`);
  t.ok(swapped);
  t.ok(seen.some((s) => s.startsWith('b:')), 'b is reported');
  t.notOk(seen.some((s) => s.startsWith('b/')), 'nothing under the swapped link was walked');
});

t.test('a folder swapped for a symlink between its lstat and its open is refused, not followed', async (t) => {
  const ws = tempWorkspace(t);
  mkdirSync(join(ws, 'a'));
  writeFileSync(join(ws, 'a/x'), 'x');
  const outside = tempWorkspace(t, 'wsg-outside-');
  writeFileSync(join(outside, 'secret'), 'not yours');
  let swapped = false;
  const report = await guard(ws, {
    threads: 0,
    beforeOpen: (path) => {
      if (path === 'a' && !swapped) {
        swapped = true;
        rmSync(join(ws, 'a'), { recursive: true });
        symlinkSync(outside, join(ws, 'a'));
      }
    },
  }).police();
  t.ok(swapped);
  t.same(rulesAt(report, 'a'), ['changed-during-walk'], 'lstat saw a folder, the open met a symlink');
  t.notOk(report.findings.some((f) => f.path.startsWith('a/')), 'nothing under the swapped link was walked');
  t.equal(report.counts.files, 0, 'the outside file was not read');
});

t.test('a folder moved away while walked below the descriptor budget fails the seal', async (t) => {
  // 200 levels: the walk keeps 128 folder descriptors open and reopens the
  // shallower ones through "..". Moving level 51 to the root mid-walk makes
  // the ".." of level 51 the root, not level 50, so level 50's remaining
  // names (z-later) cannot be reached: the walk must say so, not seal less.
  const ws = tempWorkspace(t);
  const chain = (levels: number) => Array(levels).fill('d').join('/');
  mkdirSync(join(ws, chain(200)), { recursive: true });
  writeFileSync(join(ws, chain(200), 'bottom'), 'deep');
  writeFileSync(join(ws, chain(50), 'z-later'), 'after the chain');
  let moved = false;
  const report = await guard(ws, {
    threads: 0,
    beforeOpen: (path) => {
      if (path === `${chain(200)}/bottom` && !moved) {
        moved = true;
        renameSync(join(ws, chain(51)), join(ws, 'moved'));
      }
    },
  }).seal();
  t.ok(moved);
  t.same(rulesAt(report, chain(50)), ['changed-during-walk'], 'the folder whose walk was cut short is named');
  t.equal(report.manifestDigest, undefined, 'no manifest for an incomplete walk');
  t.notOk(report.findings.some((f) => f.path.endsWith('z-later')), 'z-later was never reached');
});
