// Clean, realistic workspaces must keep passing every mode: a git checkout
// (objects, packs, hook samples, an index) and a node_modules tree copied
// from this repository's own (with .bin links), sealed and verified with and
// without strict mode.
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import { repoRoot } from '../harness/shared.ts';
import { guard, tempWorkspace } from './fixtures.ts';

async function gitCheckout(ws: string): Promise<void> {
  const git = (...args: string[]) => execa('git', ['-c', 'user.name=CI', '-c', 'user.email=ci@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: ws });
  await git('init', '-q');
  mkdirSync(join(ws, 'src'));
  writeFileSync(join(ws, 'src/main.ts'), 'export const main = () => 1;\n');
  writeFileSync(join(ws, 'README.md'), '# project\n');
  writeFileSync(join(ws, 'build.sh'), '#!/bin/sh\nexec npm run build\n', { mode: 0o755 });
  await git('add', '.');
  await git('commit', '-q', '-m', 'first');
  writeFileSync(join(ws, 'src/main.ts'), 'export const main = () => 2;\n');
  await git('commit', '-q', '-am', 'second');
  await git('tag', 'v1');
  await git('gc', '-q');
}

function nodeModules(ws: string): void {
  const modules = join(ws, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  for (const name of ['yaml', 'execa', 'typescript']) cpSync(join(repoRoot, 'node_modules', name), join(modules, name), { recursive: true, verbatimSymlinks: true });
  symlinkSync('../typescript/bin/tsc', join(modules, '.bin', 'tsc'));
  symlinkSync('../yaml/bin.mjs', join(modules, '.bin', 'yaml'));
}

for (const [label, fill] of [
  ['a git checkout', gitCheckout],
  ['a node_modules tree', nodeModules],
] as const) {
  t.test(`${label} passes every mode`, async (t) => {
    const ws = tempWorkspace(t);
    await fill(ws);
    const police = await guard(ws).police();
    t.same(police.findings, [], 'police');
    for (const mtimes of [false, true]) {
      const sealed = await guard(ws, { mtimes }).seal();
      t.same(sealed.findings, [], `seal${mtimes ? ' (strict)' : ''}`);
      t.ok(sealed.counts.entries > 20, `${sealed.counts.entries} entries`);
      const verify = await guard(ws, { mtimes, expectedDigest: sealed.manifestDigest! }).verify();
      t.same(verify.findings, [], `verify${mtimes ? ' (strict)' : ''}`);
    }
    const scrub = await guard(ws).scrub();
    t.same(scrub.findings, [], 'scrub');
    t.same(scrub.scrubbed, [], 'nothing to scrub');
  });
}
