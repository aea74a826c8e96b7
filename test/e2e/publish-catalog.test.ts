import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildCatalog } from '../../src/build/catalog.ts';
import { parseCatalogIndex, type CatalogIndex } from '../../src/build/catalog-index.ts';
import { readBundleResource } from '../../src/bundle/read.ts';
import { runCli } from '../../src/cli/main.ts';
import { Annotation } from '../../src/oci/media-types.ts';
import { listCatalog } from '../../src/publish/list.ts';
import { publishCatalog } from '../../src/publish/publish.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { repoRoot } from '../harness/shared.ts';

/**
 * The "done when": the whole catalog, built for a loopback registry
 * and published there; skopeo reads every pushed artefact back and finds
 * exactly the index's versions and digests, each with the
 * org.opencontainers.image.* annotations tools read; every Task read back
 * through the resolver-compatible reader is byte-identical to the catalog
 * YAML; `list` and `show-task` see the same; a second publish pushes nothing.
 */
const OCI_KEYS = ['version', 'source', 'revision', 'title', 'description', 'documentation', 'licenses', 'created'].map((k) => `org.opencontainers.image.${k}`);

t.test('the built catalog publishes, and skopeo reads back exactly the index with its annotations', async (t) => {
  if (!requireRegistryTools(t, 'none')) return;
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const work = await mkdtemp(join(tmpdir(), 'publish-catalog-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const prefix = `${registry.host}/catalog-e2e`;
  const catalogDir = join(work, 'catalog');
  const distDir = join(work, 'dist');
  // The catalog as its README says to build it for your own registry: in folders of its own.
  await buildCatalog({ repoRoot, registry: prefix, catalogDir, distDir });
  const index: CatalogIndex = parseCatalogIndex(await readFile(join(catalogDir, 'index.json'), 'utf8'), 'index')!;
  t.equal(index.registry, prefix);

  const record = await publishCatalog({ catalogDir, layoutDir: join(distDir, 'oci'), plainHttp: true });
  t.ok(record.totals.pushed > 0, 'the catalog was pushed');
  t.equal(record.totals.refused, 0);

  const skopeo = (...args: string[]) => execFileSync('skopeo', [args[0]!, '--tls-verify=false', ...args.slice(1)], { encoding: 'utf8' });
  const tagsOf = (repository: string) => (JSON.parse(skopeo('list-tags', `docker://${registry.host}/${repository}`)) as { Tags: string[] }).Tags.sort();
  const annotationsOf = (reference: string) => (JSON.parse(skopeo('inspect', '--raw', `docker://${reference}`)) as { annotations?: Record<string, string> }).annotations ?? {};
  // skopeo 1.9 takes a tag or a digest, not both: inspect by tag and compare the digest.
  const digestOf = (reference: string) => (JSON.parse(skopeo('inspect', `docker://${reference}`)) as { Digest: string }).Digest;

  for (const [name, entry] of Object.entries(index.tasks)) {
    t.same(tagsOf(`catalog-e2e/tasks/${name}`), Object.keys(entry.versions).sort(), `${name}: the registry holds exactly the index's versions`);
    for (const [version, versionRecord] of Object.entries(entry.versions)) {
      const bundleRef = `${prefix}/tasks/${name}:${version}`;
      t.equal(digestOf(bundleRef), versionRecord.bundle.digest, `skopeo: ${bundleRef} has the recorded digest`);
      const annotations = annotationsOf(bundleRef);
      t.same(OCI_KEYS.filter((k) => !annotations[k]), [], `${bundleRef} carries every org.opencontainers.image annotation`);
      t.equal(annotations[Annotation.version], version);
      t.equal(annotations[Annotation.revision], `${name}-v${version}`);
      t.same(annotations, versionRecord.bundle.annotations, 'exactly the annotations the index records');

      for (const [program, image] of Object.entries(versionRecord.images)) {
        t.same(tagsOf(`catalog-e2e/steps/${program}`), [image.tag], `steps/${program}: exactly the index's image tags`);
        t.equal(image.reference, `${prefix}/steps/${program}:${version}@${image.index}`, 'step images are referenced as <prefix>/steps/<program>:<tag>@sha256:<digest>');
        const imageRef = `${prefix}/steps/${program}:${image.tag}`;
        t.equal(digestOf(imageRef), image.index, `skopeo: ${imageRef} has the recorded digest`);
        const indexAnnotations = annotationsOf(imageRef);
        t.same(OCI_KEYS.filter((k) => !indexAnnotations[k]), [], `${imageRef}: the index carries every annotation`);
        const labels = (JSON.parse(skopeo('inspect', '--override-arch', 'arm64', `docker://${imageRef}`)) as { Labels: Record<string, string> }).Labels;
        t.same(OCI_KEYS.filter((k) => labels[k] !== indexAnnotations[k]), [], `${imageRef}: the arm64 config labels say the same`);
        t.equal(labels[Annotation.created], '1970-01-01T00:00:00Z', 'created is SOURCE_DATE_EPOCH');
      }

      const expected = await readFile(join(catalogDir, versionRecord.path), 'utf8');
      t.equal(versionRecord.path, `task/${name}/${version}/${name}.yaml`, 'the version folder is the version');
      t.match(expected, new RegExp(`\n    app\\.kubernetes\\.io/version: "?${version.replace(/\./g, '\\.')}"?\n`), 'and so is the app.kubernetes.io/version label');
      const resource = await readBundleResource({ from: `${bundleRef}@${versionRecord.bundle.digest}`, registryOptions: { plainHttp: true } }, name, 'task');
      t.equal(resource.data.toString('utf8'), expected, `${name} ${version} reads back byte-identical`);
    }
  }
  t.same(tagsOf('catalog-e2e/catalog'), index.catalogBundles.map((b) => b.tag).sort(), 'the catalog bundle tags');
  for (const bundle of index.catalogBundles) {
    const ref = `${prefix}/catalog:${bundle.tag}`;
    t.equal(digestOf(ref), bundle.digest, `skopeo: ${ref} has the recorded digest`);
    const annotations = annotationsOf(ref);
    t.same(OCI_KEYS.filter((k) => !annotations[k]), [], `${ref} carries every annotation`);
  }

  t.test('list shows the namespace and the catalog bundle as the index records them', async (t) => {
    const listing = await listCatalog({ registry: prefix }, { plainHttp: true });
    t.same(listing.problems, []);
    t.same(
      listing.versions.map((v) => `${v.task} ${v.version} ${v.status} ${v.digest}`),
      Object.entries(index.tasks).flatMap(([name, entry]) => Object.entries(entry.versions).map(([version, r]) => `${name} ${version} ${r.status} ${r.bundle.digest}`)),
    );
    const bundleListing = await listCatalog({ registry: index.catalogBundles[0]!.reference }, { plainHttp: true });
    t.same(bundleListing.versions.map((v) => `${v.task} ${v.version} ${v.status}`), index.catalogBundles[0]!.tasks.map((task) => `${task.replace('@', ' ')} draft`));
    const out: string[] = [];
    const code = await runCli(['list', prefix, '--plain-http'], { stdout: { write: (s) => out.push(String(s)) }, stderr: { write: () => true } });
    t.equal(code, 0);
    t.match(out.join(''), /TASK\s+VERSION\s+STATUS\s+REFERENCE\n/);
  });

  t.test('show-task accepts the full reference the READMEs print', async (t) => {
    const versionRecord = index.tasks['validate-params']!.versions['0.1.0']!;
    const out: Buffer[] = [];
    const code = await runCli(['show-task', versionRecord.bundle.reference, '--plain-http'], {
      stdout: { write: (s) => out.push(Buffer.from(s)) },
      stderr: { write: () => true },
    });
    t.equal(code, 0);
    t.equal(Buffer.concat(out).toString('utf8'), await readFile(join(catalogDir, versionRecord.path), 'utf8'));
    const readme = await readFile(join(catalogDir, 'task', 'validate-params', '0.1.0', 'README.md'), 'utf8');
    t.ok(readme.includes(versionRecord.bundle.reference), 'that reference is the one the Task README prints');
  });

  const again = await publishCatalog({ catalogDir, layoutDir: join(distDir, 'oci'), plainHttp: true });
  t.equal(again.totals.pushed, 0, 'a re-run pushes nothing');
});
