// The release flow as a maintainer runs it, with real builds, a real registry
// and skopeo: release → change → build (refused) → bump → build → publish,
// and the three ways the issue found to break a released version:
//  1. a failing VERSION_IMMUTABLE build wrote the changed content under the
//     old version's ref in dist/oci, and the build after the bump left it;
//  2. publish pushed whatever dist/oci held, leftovers included;
//  3. publish ignored the registry the build was made for, and blamed a
//     draft conflict on a missing bump.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { buildCatalog, type BuildReport } from '../../src/build/catalog.ts';
import { parseCatalogIndex, renderCatalogIndex, type CatalogIndex } from '../../src/build/catalog-index.ts';
import { bundleRefName } from '../../src/build/dist-layout.ts';
import { releaseVersions } from '../../src/build/release.ts';
import { readBundleResource } from '../../src/bundle/read.ts';
import { explainRegistryError } from '../../src/cli/registry-hints.ts';
import { CatalogError } from '../../src/errors.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { Annotation } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry/client.ts';
import { listCatalog } from '../../src/publish/list.ts';
import { publishCatalog } from '../../src/publish/publish.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { repoRoot } from '../harness/shared.ts';

const TASK = 'flow-demo';
const definitionUrl = pathToFileURL(join(repoRoot, 'src', 'build', 'definition.ts')).href;

if (requireRegistryTools(t, 'none')) {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const prefix = `${registry.host}/flow`;
  const work = await mkdtemp(join(tmpdir(), 'release-flow-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // The task.ts files below use ES imports: outside a "type": "module" package Node loads a .ts
  // file as CommonJS, so they would load only when some other package.json happened to sit in /tmp.
  await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
  const catalogDir = join(work, 'catalog');
  const distDir = join(work, 'dist');
  const layoutDir = join(distDir, 'oci');
  const client = new RegistryClient(registry.host, { plainHttp: true });
  t.teardown(() => client.close());
  let stages = 0;

  /** A fresh tasks folder per stage (module URLs are cached by path). */
  const writeTask = async (version: string, description: string, extraParam = false): Promise<string> => {
    const dir = join(work, `tasks-${++stages}`);
    await mkdir(join(dir, TASK), { recursive: true });
    const params = extraParam ? `params: [{ name: 'level', description: 'How strict', default: 'high', rule: { type: 'enum', values: ['high', 'low'] } }],` : '';
    await writeFile(
      join(dir, TASK, 'task.ts'),
      `import { defineTask } from ${JSON.stringify(definitionUrl)};
export default defineTask({
  name: '${TASK}',
  version: '${version}',
  displayName: 'Flow demo',
  summary: 'A Task for the release flow test.',
  description: ${JSON.stringify(description)},
  categories: ['Security'],
  tags: ['demo'],
  ${params}
  steps: [{ name: 'check', program: 'validate-params' }],
});
`,
    );
    return dir;
  };
  const build = (tasksDir: string, registryPrefix = prefix, dirs = { catalogDir, distDir }): Promise<BuildReport> =>
    buildCatalog({ repoRoot, tasksDir, ...dirs, registry: registryPrefix, platforms: ['amd64'] });
  const publish = (extra: Partial<Parameters<typeof publishCatalog>[0]> = {}) =>
    publishCatalog({ catalogDir, layoutDir, plainHttp: true, ...extra });
  const readIndex = async (dir = catalogDir): Promise<CatalogIndex> => parseCatalogIndex(await readFile(join(dir, 'index.json'), 'utf8'), 'index')!;
  const layoutRefs = async (): Promise<Record<string, string>> => {
    const index = await (await OciLayout.open(layoutDir)).index();
    return Object.fromEntries(index.manifests.map((m) => [m.annotations![Annotation.refName]!, m.digest]));
  };
  const rejection = async (promise: Promise<unknown>): Promise<CatalogError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof CatalogError)) throw new Error(`expected a CatalogError, got ${String(error)}`);
    return error;
  };
  /** Every version's bundle in the layout has exactly the digest the index records, and nothing else is there. */
  const assertLayoutIsIndex = async (t: { same(a: unknown, b: unknown, message: string): unknown }) => {
    const index = await readIndex();
    const refs = await layoutRefs();
    const expected: Record<string, string> = {};
    for (const [version, record] of Object.entries(index.tasks[TASK]!.versions)) expected[bundleRefName(TASK, version)] = record.bundle.digest;
    for (const bundle of index.catalogBundles) expected[`catalog-${bundle.tag}`] = bundle.digest;
    const newest = index.tasks[TASK]!.versions[index.tasks[TASK]!.latest]!;
    expected['step-validate-params'] = newest.images['validate-params']!.index;
    t.same(refs, expected, 'dist/oci holds exactly the index\'s bundles (every version), the newest step image and the catalog bundle, at the recorded digests');
  };

  let released010: string;
  let yaml010: string;

  t.test('build 0.1.0, publish it, release it', async (t) => {
    const report = await build(await writeTask('0.1.0', 'First behaviour.'));
    t.same(report.versions.map((v) => `${v.name} ${v.version} ${v.status} ${v.fromSource}`), [`${TASK} 0.1.0 draft true`]);
    const record = await publish();
    t.same(record.artefacts.map((a) => `${a.action} ${a.repository}:${a.tag}`), [
      'push flow/steps/validate-params:0.1.0',
      `push flow/tasks/${TASK}:0.1.0`,
      'push flow/catalog:latest',
      'push flow/catalog-index:latest',
    ]);
    const released = await releaseVersions(catalogDir, [TASK]);
    t.same(released.map((r) => `${r.name}@${r.version} ${r.tag}`), [`${TASK}@0.1.0 ${TASK}-v0.1.0`]);
    const index = await readIndex();
    released010 = index.tasks[TASK]!.versions['0.1.0']!.bundle.digest;
    yaml010 = await readFile(join(catalogDir, 'task', TASK, '0.1.0', `${TASK}.yaml`), 'utf8');
    await assertLayoutIsIndex(t);
  });

  t.test('failure 1: a change under the released version is refused and writes nothing, not even to dist/oci', async (t) => {
    const indexBefore = await readFile(join(catalogDir, 'index.json'), 'utf8');
    const layoutBefore = await readFile(join(layoutDir, 'index.json'), 'utf8');
    const error = await rejection(build(await writeTask('0.1.0', 'Changed behaviour.')));
    t.equal(error.code, 'VERSION_IMMUTABLE');
    t.match(error.hint, /bump the version in tasks\/flow-demo\/task\.ts to 0\.1\.1/);
    t.equal(await readFile(join(catalogDir, 'index.json'), 'utf8'), indexBefore, 'catalog/ is as it was');
    t.equal(await readFile(join(layoutDir, 'index.json'), 'utf8'), layoutBefore, 'dist/oci is as it was');
    t.equal((await layoutRefs())[bundleRefName(TASK, '0.1.0')], released010, 'the released version\'s ref still holds the released bundle');
    t.same((await readdir(distDir)).filter((n) => n.startsWith('oci.')), [], 'no temporary layout is left behind');
  });

  t.test('bump → build: every version\'s bundle digest equals the index, the released one unchanged', async (t) => {
    const report = await build(await writeTask('0.1.1', 'Changed behaviour.'));
    t.same(report.versions.map((v) => `${v.version} ${v.status} ${v.fromSource ? 'source' : 'committed YAML'}`), ['0.1.0 released committed YAML', '0.1.1 draft source']);
    const index = await readIndex();
    t.equal(index.tasks[TASK]!.versions['0.1.0']!.bundle.digest, released010, 'the released record is untouched');
    t.equal(await readFile(join(catalogDir, 'task', TASK, '0.1.0', `${TASK}.yaml`), 'utf8'), yaml010, 'its committed YAML too');
    await assertLayoutIsIndex(t);
    const yaml011 = await readFile(join(catalogDir, 'task', TASK, '0.1.1', `${TASK}.yaml`), 'utf8');
    t.match(yaml011, /artifacthub\.io\/changes: \|\n\s+- kind: changed\n\s+description: "Same interface as 0\.1\.0/, 'the release notes are in the new version\'s YAML');
    t.match(await readFile(join(catalogDir, 'task', TASK, 'CHANGELOG.md'), 'utf8'), /## 0\.1\.1 \(draft[\s\S]*## 0\.1\.0 \(released, git tag `flow-demo-v0\.1\.0`\)/);

    // A patch may not change the interface: adding a param needs 0.2.0.
    const patch = await rejection(build(await writeTask('0.1.1', 'Changed behaviour.', true)));
    t.equal(patch.code, 'VERSION_PATCH_CHANGES_INTERFACE');
    t.match(patch.hint, /release this as 0\.2\.0/);
  });

  t.test('publish after the bump: the released tag still serves the released Task; skopeo reads back the index\'s digests', async (t) => {
    const record = await publish();
    const actions = Object.fromEntries(record.artefacts.map((a) => [`${a.repository}:${a.tag}`, a.action]));
    t.equal(actions[`flow/tasks/${TASK}:0.1.0`], 'skip', 'the released bundle is already there, unchanged');
    t.equal(actions['flow/steps/validate-params:0.1.0'], 'skip', 'its step image too (not in this build: only in the registry)');
    t.equal(actions[`flow/tasks/${TASK}:0.1.1`], 'push');
    const index = await readIndex();
    for (const [version, entry] of Object.entries(index.tasks[TASK]!.versions)) {
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/flow/tasks/${TASK}:${version}`], { encoding: 'utf8' })) as { Digest: string };
      t.equal(inspected.Digest, entry.bundle.digest, `skopeo: tasks/${TASK}:${version} is the recorded bundle`);
      const image = entry.images['validate-params']!;
      const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/flow/steps/validate-params:${image.tag}`], { encoding: 'utf8' })) as { annotations: Record<string, string> };
      t.equal(raw.annotations['org.opencontainers.image.version'], version, `the step image of ${version} is tagged and labelled ${version}`);
    }
    const old = await readBundleResource({ from: `${registry.host}/flow/tasks/${TASK}:0.1.0`, registryOptions: { plainHttp: true } }, TASK, 'task');
    t.equal(old.data.toString('utf8'), yaml010, 'the old tag serves the released Task, byte for byte');
    const listing = await listCatalog({ registry: prefix }, { plainHttp: true });
    t.same(listing.versions.map((v) => `${v.version} ${v.status} ${v.digest}`), [`0.1.0 released ${released010}`, `0.1.1 draft ${index.tasks[TASK]!.versions['0.1.1']!.bundle.digest}`], 'list: the namespace, with release status from the published index');
    t.same(listing.problems, []);
  });

  t.test('a recorded bundle that cannot be rebuilt to its digest fails the build naming both digests', async (t) => {
    const copy = join(work, 'tampered');
    await cp(catalogDir, join(copy, 'catalog'), { recursive: true });
    const tasksDir = await writeTask('0.1.1', 'Changed behaviour.');
    const index = await readIndex();
    index.tasks[TASK]!.versions['0.1.0']!.bundle.annotations['org.opencontainers.image.description'] = 'edited by hand';
    await writeFile(join(copy, 'catalog', 'index.json'), renderCatalogIndex(index));
    const error = await rejection(build(tasksDir, prefix, { catalogDir: join(copy, 'catalog'), distDir: join(copy, 'dist') }));
    t.equal(error.code, 'VERSION_BUNDLE_MISMATCH');
    t.match(error.message, new RegExp(`has digest sha256:[a-f0-9]{64}, but catalog/index.json records ${released010}`));

    await cp(catalogDir, join(copy, 'catalog'), { recursive: true, force: true });
    await writeFile(join(copy, 'catalog', 'task', TASK, '0.1.0', `${TASK}.yaml`), yaml010.replace('First behaviour.', 'Rewritten.'));
    const edited = await rejection(build(tasksDir, prefix, { catalogDir: join(copy, 'catalog'), distDir: join(copy, 'dist') }));
    t.equal(edited.code, 'CATALOG_RECORD_MISMATCH');
    t.match(edited.message, /task\/flow-demo\/0\.1\.0\/flow-demo\.yaml has content digest sha256:[a-f0-9]{64}, but catalog\/index\.json records sha256:/);
  });

  t.test('failure 3b: a draft conflict names its real cause and how to proceed, never a bump', async (t) => {
    await build(await writeTask('0.2.0', 'Next behaviour.', true));
    await publish();
    await build(await writeTask('0.2.0', 'Next behaviour, revised.', true));
    const error = await rejection(publish());
    t.equal(error.code, 'PUBLISH_DRAFT_CONFLICT');
    t.match(error.message, new RegExp(`flow/tasks/${TASK}:0\\.2\\.0 holds sha256:[a-f0-9]{64}, not this build's sha256:[a-f0-9]{64} of Task ${TASK} 0\\.2\\.0 \\(draft\\): the namespace already holds other content for this draft`));
    t.match(error.hint, /--replace-drafts/);
    t.notMatch(`${error.message}\n${error.hint}`, /bump/);
    const replaced = await publish({ replaceDrafts: true });
    t.equal(replaced.artefacts.find((a) => a.tag === '0.2.0' && a.kind === 'task-bundle')?.action, 'push');
    t.equal(replaced.artefacts.find((a) => a.tag === '0.1.0' && a.kind === 'task-bundle')?.action, 'skip', 'released versions are never touched by --replace-drafts');
  });

  t.test('failure 2: a reverted bump leaves nothing behind, and publish pushes only what the index lists', async (t) => {
    const report = await build(await writeTask('0.1.1', 'Changed behaviour.'));
    t.same(report.withdrawn, [`${TASK}@0.2.0`], 'the draft above the source\'s version is withdrawn');
    const index = await readIndex();
    t.same(Object.keys(index.tasks[TASK]!.versions), ['0.1.0', '0.1.1']);
    await assertLayoutIsIndex(t);
    await t.rejects(readFile(join(catalogDir, 'task', TASK, '0.2.0', `${TASK}.yaml`)), 'its folder is gone from catalog/');
    const fresh = await startRegistry();
    t.teardown(() => fresh.stop());

    // A stray artefact in dist/oci (as an old build could leave) is named, and nothing is pushed.
    const layout = await OciLayout.open(layoutDir);
    const stray = (await layout.resolve('catalog-latest'))!;
    await layout.tag(bundleRefName(TASK, '0.2.0'), stray);
    const extra = await rejection(publish());
    t.equal(extra.code, 'PUBLISH_LAYOUT_MISMATCH');
    t.match(extra.message, /extra: "bundle-flow-demo-0\.2\.0" is not an artefact the index lists/);
    const refs = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    refs.manifests = refs.manifests.filter((m) => m.annotations[Annotation.refName] !== bundleRefName(TASK, '0.1.0'));
    await writeFile(join(layoutDir, 'index.json'), JSON.stringify(refs));
    const missing = await rejection(publish());
    t.match(missing.message, new RegExp(`missing: bundle-flow-demo-0\\.1\\.0 \\(Task flow-demo 0\\.1\\.0 \\(released\\), ${released010}\\)`));

    // A rebuild replaces dist/oci with exactly the index's artefacts.
    await build(await writeTask('0.1.1', 'Changed behaviour.'));
    await assertLayoutIsIndex(t);
    const record = await publish({ dryRun: true });
    t.notOk(record.artefacts.some((a) => a.tag === '0.2.0' && a.kind !== 'catalog-bundle'), 'no 0.2.0 in the plan');
  });

  t.test('failure 3: one registry end to end', async (t) => {
    const other = `${registry.host}/other`;
    const mismatch = await rejection(publish({ registry: other }));
    t.equal(mismatch.code, 'PUBLISH_REGISTRY_MISMATCH');
    t.match(mismatch.message, new RegExp(`this build is for ${prefix}.*pull their step images from ${prefix}/steps/`));
    t.match(mismatch.hint, new RegExp(`npm run build -- --registry ${other}`));
    t.equal(await client.manifestDescriptor('other/tasks/flow-demo', '0.1.0'), undefined, 'nothing went to the other namespace');

    const bare = await rejection(publish({ registry: registry.host }));
    t.equal(bare.code, 'USAGE_REGISTRY');
    t.match(bare.message, /has no namespace after the host/);
    t.equal((await rejection(build(await writeTask('0.1.1', 'Changed behaviour.'), registry.host))).code, 'USAGE_REGISTRY', 'the build refuses a bare host too');

    // Building this catalog for another registry would rewrite the released version: refused, with the command to build elsewhere.
    const moved = await rejection(build(await writeTask('0.1.1', 'Changed behaviour.'), other));
    t.equal(moved.code, 'CONFIG_REGISTRY_CHANGED');
    t.match(moved.message, new RegExp(`records registry ${prefix}.*flow-demo 0\\.1\\.0 \\(released\\)`));
    t.match(moved.hint, new RegExp(`npm run build -- --registry ${other} --catalog \\S+ --dist \\S+`));

    // TLS against a plain-HTTP registry: the message says so and suggests --plain-http.
    const tls = explainRegistryError(await rejection(publish({ plainHttp: false, client: { maxAttempts: 1 } })), registry.host, false) as CatalogError;
    t.equal(tls.code, 'REGISTRY_PLAIN_HTTP');
    t.match(tls.message, /ERR_SSL_WRONG_VERSION_NUMBER.*the registry does not speak TLS/);
    t.match(tls.hint, /add --plain-http/);
    const remote = explainRegistryError(new CatalogError('REGISTRY_UNREACHABLE', 'x', { cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }) }), 'registry.example.com', false) as CatalogError;
    t.match(remote.hint, /allowed only for a loopback registry/, 'a remote host is not told to use --plain-http');
  });

  t.test('a bump reverted back to a released version withdraws the draft and keeps the released one as latest', async (t) => {
    await releaseVersions(catalogDir, [`${TASK}@0.1.1`]);
    await build(await writeTask('0.2.0', 'Next behaviour.', true));
    t.equal((await readIndex()).tasks[TASK]!.latest, '0.2.0');
    const report = await build(await writeTask('0.1.1', 'Changed behaviour.'));
    t.same(report.withdrawn, [`${TASK}@0.2.0`]);
    const index = await readIndex();
    t.equal(index.tasks[TASK]!.latest, '0.1.1');
    t.same(index.catalogBundles[0]!.tasks, [`${TASK}@0.1.1`], 'the catalog bundle holds the released latest');
    await assertLayoutIsIndex(t);
  });
}
