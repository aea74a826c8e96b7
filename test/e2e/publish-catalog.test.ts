import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { readBundleResource } from '../../src/bundle/read.ts';
import { publishLayout } from '../../src/publish/publish.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';

/**
 * The "done when": the built catalog published to a loopback
 * registry; skopeo inspects every step image and bundle; every Task read
 * back through the resolver-compatible reader is byte-identical to the
 * catalog YAML; a second publish pushes nothing.
 */
t.test('the built catalog publishes, inspects and reads back byte-identical', async (t) => {
  if (!requireRegistryTools(t, 'none')) return;
  const built = await builtCatalog();
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const target = `${registry.host}/catalog-e2e`;

  const record = await publishLayout({ layoutDir: built.layoutDir, registry: target, plainHttp: true });
  t.ok(record.totals.pushed > 0, 'the catalog was pushed');

  for (const artefact of record.artefacts) {
    // skopeo 1.9 takes a tag or a digest, not both: inspect by tag and compare the digest.
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/${artefact.repository}:${artefact.tag}`], { encoding: 'utf8' }),
    ) as { Digest: string };
    t.equal(inspected.Digest, artefact.digest, `skopeo inspects ${artefact.refName}`);
  }

  for (const [name, entry] of Object.entries(built.index.tasks)) {
    for (const [version, record] of Object.entries(entry.versions)) {
      const expected = await readFile(join(built.catalogDir, record.path), 'utf8');
      const resource = await readBundleResource({ from: `${target}/tasks/${name}:${version}`, registryOptions: { plainHttp: true } }, name, 'task');
      t.equal(resource.data.toString('utf8'), expected, `${name} ${version} reads back byte-identical`);
      t.equal(resource.bundleDigest, record.bundle.digest, `${name} ${version}: the bundle digest in the index is what was published`);
    }
  }

  const again = await publishLayout({ layoutDir: built.layoutDir, registry: target, plainHttp: true });
  t.equal(again.totals.pushed, 0, 'a re-run pushes nothing');
});
