// The committed record of StepActions and reference Pipelines agrees with
// itself and with the files: every StepAction version belongs to a recorded
// Task version and runs exactly that version's step image; every Pipeline
// version's YAML and kit have the digests the index records, and it pins
// recorded Task versions.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseCatalogIndex } from '../../src/build/catalog-index.ts';
import { kitDigest } from '../../src/build/pipeline-build.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { repoRoot } from '../harness/shared.ts';

const catalogDir = join(repoRoot, 'catalog');

t.test('every StepAction version runs its Task version\'s step image, as recorded', async (t) => {
  const index = parseCatalogIndex(await readFile(join(catalogDir, 'index.json'), 'utf8'), 'catalog/index.json')!;
  const names = Object.keys(index.stepActions);
  t.ok(names.length > 0, 'the catalog records StepActions');
  for (const name of names) {
    for (const [version, record] of Object.entries(index.stepActions[name]!.versions)) {
      const [task, taskVersion] = record.task.split('@') as [string, string];
      const taskRecord = index.tasks[task]?.versions[taskVersion];
      t.ok(taskRecord, `${name} ${version}: Task ${record.task} is recorded`);
      t.equal(taskVersion, version, `${name} ${version}: the StepAction carries its Task's version`);
      t.equal(record.image, taskRecord?.images[name]?.reference, `${name} ${version}: the image of ${record.task}'s step program ${name}`);
      t.equal(record.status === 'released', taskRecord?.status === 'released', `${name} ${version}: released with its Task version`);
      const yaml = await readFile(join(catalogDir, record.path), 'utf8');
      t.equal(sha256Digest(yaml), record.contentDigest, `${name} ${version}: content digest`);
      const document = parse(yaml) as { spec: { image: string }; metadata: { labels: Record<string, string> } };
      t.equal(document.spec.image, record.image);
      t.equal(document.metadata.labels['app.kubernetes.io/version'], version);
    }
  }
});

t.test('every Pipeline version has its recorded YAML and kit, and pins recorded Task versions', async (t) => {
  const index = parseCatalogIndex(await readFile(join(catalogDir, 'index.json'), 'utf8'), 'catalog/index.json')!;
  const names = Object.keys(index.pipelines);
  t.ok(names.length > 0, 'the catalog records a reference Pipeline');
  for (const name of names) {
    for (const [version, record] of Object.entries(index.pipelines[name]!.versions)) {
      t.equal(sha256Digest(await readFile(join(catalogDir, record.path), 'utf8')), record.contentDigest, `${name} ${version}: content digest`);
      const kitDir = join(catalogDir, 'pipeline', name, version, 'kit');
      const files = new Map<string, string>();
      for (const entry of await readdir(kitDir, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(kitDir.length + 1), await readFile(join(entry.parentPath, entry.name), 'utf8'));
      }
      t.equal(kitDigest(files), record.kitDigest, `${name} ${version}: kit digest`);
      for (const pinned of record.tasks) {
        const [task, taskVersion] = pinned.split('@') as [string, string];
        t.ok(index.tasks[task]?.versions[taskVersion], `${name} ${version}: pins ${pinned}, which is recorded`);
        if (record.status === 'released') t.equal(index.tasks[task]?.versions[taskVersion]?.status, 'released', `${name} ${version} is released, so ${pinned} is too`);
      }
    }
  }
});
