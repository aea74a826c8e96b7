// The committed samples as a user copies them: they resolve our Tasks from
// the very bundles the catalog records (pinned tag@digest, which Renovate can
// move), and what they need from the cluster is what the README grants.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { parseCatalogIndex } from '../../src/build/catalog-index.ts';
import { repoRoot } from '../harness/shared.ts';

const base = join(repoRoot, 'catalog', 'task');
const index = parseCatalogIndex(readFileSync(join(repoRoot, 'catalog', 'index.json'), 'utf8'), 'index')!;
const ours = new Set(Object.keys(index.tasks));

type TaskRef = { name?: string; resolver?: string; params?: { name: string; value: unknown }[] };

function sampleFiles(): { task: string; version: string; file: string; docs: Record<string, any>[] }[] {
  const out = [];
  for (const [task, entry] of Object.entries(index.tasks)) {
    for (const version of Object.keys(entry.versions)) {
      const dir = join(base, task, version, 'samples');
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
        out.push({ task, version, file, docs: parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJS() as Record<string, any>) });
      }
    }
  }
  return out;
}

function taskRefs(node: unknown, out: TaskRef[] = []): TaskRef[] {
  if (Array.isArray(node)) node.forEach((child) => taskRefs(child, out));
  else if (node !== null && typeof node === 'object') {
    for (const [key, child] of Object.entries(node)) {
      if (key === 'taskRef' && child !== null && typeof child === 'object') out.push(child as TaskRef);
      else taskRefs(child, out);
    }
  }
  return out;
}

const param = (ref: TaskRef, name: string) => ref.params?.find((p) => p.name === name)?.value;

t.test('samples resolve catalog Tasks from the pinned bundles the index records', async (t) => {
  const files = sampleFiles();
  t.ok(files.length >= 10, `${files.length} sample files`);
  for (const { task, version, file, docs } of files) {
    const where = `${task} ${version} samples/${file}`;
    const refs = taskRefs(docs);
    t.same(refs.filter((ref) => ref.name !== undefined && ours.has(ref.name)).map((ref) => ref.name), [], `${where}: no catalog Task by name`);
    const bundles = refs.filter((ref) => ref.resolver === 'bundles' && typeof param(ref, 'bundle') === 'string' && !String(param(ref, 'bundle')).startsWith('$('));
    t.ok(bundles.some((ref) => param(ref, 'name') === task), `${where}: runs ${task} from its bundle`);
    for (const ref of bundles) {
      const name = String(param(ref, 'name'));
      const entry = index.tasks[name];
      t.ok(entry, `${where}: ${name} is a catalog Task`);
      if (!entry) continue;
      t.equal(param(ref, 'bundle'), entry.versions[entry.latest]!.bundle.reference, `${where}: ${name} is pinned to the bundle the index records (tag@digest)`);
      t.equal(param(ref, 'kind'), 'task', `${where}: kind task`);
    }
  }
});

t.test('every Secret a sample reads from the Kubernetes API is granted by the README RBAC example, to the sample service account', async (t) => {
  let checked = 0;
  for (const { task, version, file, docs } of sampleFiles()) {
    const readme = readFileSync(join(base, task, version, 'README.md'), 'utf8');
    const rbac = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .flatMap((block) => parseAllDocuments(block[1]!).map((d) => d.toJS() as Record<string, any> | null))
      .filter((doc): doc is Record<string, any> => doc?.apiVersion === 'rbac.authorization.k8s.io/v1');
    const granted = new Set(rbac.filter((d) => d.kind === 'Role').flatMap((d) => (d.rules ?? []).filter((r: any) => r.resources?.includes('secrets') && r.verbs?.includes('get')).flatMap((r: any) => r.resourceNames ?? [])));
    const subjects = new Set(rbac.filter((d) => d.kind === 'RoleBinding').flatMap((d) => (d.subjects ?? []).map((s: any) => s.name)));
    for (const doc of docs) {
      for (const run of [doc, ...(doc.spec?.tasks ?? []), ...(doc.spec?.finally ?? [])]) {
        const params: { name: string; value: unknown }[] = run.spec?.params ?? run.params ?? [];
        if (params.find((p) => p.name === 'secret-source')?.value !== 'kubernetes-api') continue;
        const secret = params.find((p) => p.name === 'secret-name')?.value;
        checked++;
        t.ok(granted.has(secret), `${task} samples/${file}: Secret ${String(secret)} is in the README Role's resourceNames (${[...granted].join(', ') || 'none'})`);
        if (doc.kind === 'TaskRun') t.ok(subjects.has(doc.spec.serviceAccountName), `${task} samples/${file}: service account ${doc.spec.serviceAccountName} is bound to that Role`);
      }
    }
  }
  t.ok(checked >= 1, `${checked} Kubernetes-API reads checked`);
});
