import t from 'tap';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { builtCatalog } from '../harness/catalog-build.ts';
import { repoRoot } from '../harness/shared.ts';

async function tree(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path, 'utf8'));
  }
  return files;
}

t.test('the committed catalog/ is exactly what a fresh build produces', async (t) => {
  const built = await builtCatalog();
  const fresh = await tree(built.catalogDir);
  const committed = await tree(join(repoRoot, 'catalog'));
  t.ok(fresh.size > 0, 'the fresh build wrote files');
  t.same([...committed.keys()].sort(), [...fresh.keys()].sort(), 'same files');
  const differing = [...fresh.keys()].filter((path) => committed.has(path) && committed.get(path) !== fresh.get(path));
  t.same(differing, [], 'no file differs; run `npm run build` and commit catalog/ if this fails');
  t.same(built.report.changed, [], 'the build changed nothing relative to the committed catalog');
  t.same(built.report.removed, [], 'the build removed nothing');
});

t.test('every Task version in the index has its YAML, README and digests', async (t) => {
  const { index } = await builtCatalog();
  const names = Object.keys(index.tasks);
  t.ok(names.length >= 1, 'at least one Task');
  for (const name of names) {
    const entry = index.tasks[name]!;
    const record = entry.versions[entry.latest];
    t.ok(record, `${name}: latest version ${entry.latest} is recorded`);
    if (!record) continue;
    const yaml = await readFile(join(repoRoot, 'catalog', record.path), 'utf8');
    t.equal(`sha256:${createHash('sha256').update(yaml).digest('hex')}`, record.contentDigest, `${name}: content digest matches the YAML`);
    for (const image of Object.values(record.images)) {
      t.match(image.reference, /@sha256:[a-f0-9]{64}$/, `${name}: image pinned by digest`);
      t.ok(yaml.includes(image.reference), `${name}: the YAML uses ${image.reference}`);
      t.same(Object.keys(image.platforms).sort(), ['amd64', 'arm64'], `${name}: both architectures`);
    }
    const readme = await readFile(join(repoRoot, 'catalog', 'task', name, entry.latest, 'README.md'), 'utf8');
    t.ok(readme.includes(record.bundle.reference), `${name}: README carries the bundle reference`);
  }
});
