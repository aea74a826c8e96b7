import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readBundleResource } from '../../src/bundle/read.ts';
import { RegistryClient } from '../../src/oci/registry/client.ts';
import { publishCatalog, renderPlan, renderSummary, type PublishRecord } from '../../src/publish/publish.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { buildFixtureCatalog, type FixtureCatalog } from './layout-fixture.ts';

if (requireRegistryTools(t, 'basic')) {
  const registry = await startRegistry({ auth: 'basic' });
  t.teardown(() => registry.stop());
  const creds = ['--creds', `${registry.username}:${registry.password}`];
  const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const client = new RegistryClient(registry.host, { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! });
  t.teardown(() => client.close());
  const work = await mkdtemp(join(tmpdir(), 'publish-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const fixtures: FixtureCatalog[] = [];
  t.teardown(() => Promise.all(fixtures.map((f) => rm(f.dir, { recursive: true, force: true }))));
  const fixture = async (namespace: string, options: Omit<Parameters<typeof buildFixtureCatalog>[0], 'registry'> = {}) => {
    const built = await buildFixtureCatalog({ registry: `${registry.host}/${namespace}`, ...options });
    fixtures.push(built);
    return built;
  };
  const options = (f: FixtureCatalog) => ({ catalogDir: f.catalogDir, layoutDir: f.layoutDir, plainHttp: true, dockerConfigPath: registry.dockerConfigPath! });

  const cat = await fixture('cat', { statuses: { 'hello-task@0.1.0': 'released' } });

  t.test('publish pushes every artefact the index lists; a re-run pushes nothing', async (t) => {
    const lines: string[] = [];
    const recordPath = join(work, 'record.json');
    const first = await publishCatalog({ ...options(cat), recordPath, log: (l) => lines.push(l) });
    t.same(
      first.artefacts.map((a) => `${a.kind} ${a.repository}:${a.tag}`),
      [
        'step-image cat/steps/hello:0.2.0',
        'step-image cat/steps/world:0.1.0',
        'task-bundle cat/tasks/hello-task:0.1.0',
        'task-bundle cat/tasks/hello-task:0.2.0',
        'task-bundle cat/tasks/world-task:0.1.0',
        'catalog-bundle cat/catalog:latest',
        'catalog-index cat/catalog-index:latest',
      ],
      'images first, then bundles, the catalog bundle and the index: exactly what the index lists',
    );
    t.equal(first.totals.pushed, 7);
    t.ok(first.totals.blobsMounted > 0, 'the shared runtime layer was mounted, not uploaded twice');
    t.same(JSON.parse(await readFile(recordPath, 'utf8')), first, 'the record on disk is the result');
    t.equal(lines.length, 7, 'one progress line per artefact');
    const second = await publishCatalog({ ...options(cat), client: {} });
    t.equal(second.totals.pushed, 0);
    t.equal(second.totals.blobsUploaded, 0);
    t.match(renderSummary(second), /nothing new to push: all 7 artefacts/);
    const hello = first.artefacts.find((a) => a.repository === 'cat/tasks/hello-task' && a.tag === '0.2.0')!;
    t.equal(hello.reference, `${registry.host}/cat/tasks/hello-task:0.2.0@${cat.bundles['hello-task@0.2.0']!.digest}`);
  });

  t.test('skopeo inspects and copies what we pushed, digests unchanged', async (t) => {
    for (const [program, tag] of [['hello', '0.2.0'], ['world', '0.1.0']] as const) {
      const ref = `docker://${registry.host}/cat/steps/${program}:${tag}`;
      const raw = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, '--raw', ref)) as { manifests: { platform: { architecture: string } }[] };
      t.same(raw.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64'], `${program}: multi-arch index`);
      const arm = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, '--override-arch', 'arm64', ref)) as { Architecture: string };
      t.equal(arm.Architecture, 'arm64', 'skopeo picks the arm64 manifest from the index');
    }
    const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, `docker://${registry.host}/cat/tasks/hello-task:0.1.0`)) as { Digest: string };
    t.equal(inspected.Digest, cat.bundles['hello-task@0.1.0']!.digest);

    const ociDir = join(work, 'copy');
    skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--src-creds', `${registry.username}:${registry.password}`, `docker://${registry.host}/cat/steps/hello@${cat.images.hello!.digest}`, `oci:${ociDir}:hello`);
    skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', `${registry.username}:${registry.password}`, `oci:${ociDir}:hello`, `docker://${registry.host}/copied/hello:back`);
    t.equal((await client.manifestDescriptor('copied/hello', 'back'))?.digest, cat.images.hello!.digest, 'round trip through oci: keeps the index digest');
    // umoci reads the multi-arch index skopeo wrote to the oci: layout.
    t.match(execFileSync('umoci', ['ls', '--layout', ociDir], { encoding: 'utf8' }), /hello/);
  });

  t.test('the resolver-compatible reader returns each Task byte-identical from the registry', async (t) => {
    for (const [key, yaml] of Object.entries(cat.taskYaml)) {
      const [name, version] = key.split('@') as [string, string];
      const resource = await readBundleResource(
        { from: `${registry.host}/cat/tasks/${name}:${version}`, registryOptions: { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! } },
        name,
        'Task',
      );
      t.equal(resource.data.toString('utf8'), yaml, key);
    }
  });

  t.test('a released version tag is never moved: the refusal says to bump', async (t) => {
    const changed = await fixture('cat', { variant: ' (changed)', statuses: { 'hello-task@0.1.0': 'released' } });
    const error = (await publishCatalog(options(changed)).catch((e: unknown) => e)) as Error & { code: string; hint: string };
    t.equal(error.code, 'PUBLISH_RELEASED_CONFLICT');
    t.match(error.message, /cat\/tasks\/hello-task:0\.1\.0 holds sha256:[a-f0-9]{64}, but Task hello-task 0\.1\.0 \(released\) was released as sha256:/);
    t.match(error.hint, /bump its version in tasks\/hello-task\/task\.ts/);
    t.match(error.message, /nothing was pushed/);
    t.equal((await client.manifestDescriptor('cat/catalog', 'latest'))?.digest, cat.bundles.catalog!.digest, 'not even the movable catalog tag moved');
    t.equal((await client.manifestDescriptor('cat/tasks/hello-task', '0.2.0'))?.digest, cat.bundles['hello-task@0.2.0']!.digest, 'the drafts did not move either');
  });

  t.test('a draft tag holding other content is refused with how to proceed; --replace-drafts moves it', async (t) => {
    const rebuilt = await fixture('cat', { variant: ' (rebuilt)' });
    // hello-task 0.1.0 is a draft in this build, so every conflict is a draft's.
    const error = (await publishCatalog(options(rebuilt)).catch((e: unknown) => e)) as Error & { code: string; hint: string };
    t.equal(error.code, 'PUBLISH_DRAFT_CONFLICT');
    t.match(error.message, /the namespace already holds other content for this draft/);
    t.notMatch(`${error.message} ${error.hint}`, /bump/, 'a draft conflict never says to bump');
    t.match(error.hint, /--replace-drafts/);
    t.match(error.hint, /namespace of your own/);

    const plan = await publishCatalog({ ...options(rebuilt), dryRun: true });
    t.equal(plan.totals.refused, 5, 'the dry run shows every refusal: 2 step images and 3 bundles');
    t.match(renderPlan(plan), /^refuse .*cat\/tasks\/hello-task:0\.1\.0@/m);
    t.match(renderPlan(plan), /^push   .*cat\/catalog:latest@/m, 'catalog tags move');
    t.equal((await client.manifestDescriptor('cat/tasks/hello-task', '0.1.0'))?.digest, cat.bundles['hello-task@0.1.0']!.digest, 'a dry run pushes nothing');

    const replaced = await publishCatalog({ ...options(rebuilt), replaceDrafts: true });
    t.equal(replaced.totals.pushed, 7);
    t.ok(replaced.artefacts.filter((a) => a.kind === 'task-bundle').every((a) => a.previous !== undefined), 'each draft tag moved from its earlier content');
    t.equal((await client.manifestDescriptor('cat/tasks/hello-task', '0.1.0'))?.digest, rebuilt.bundles['hello-task@0.1.0']!.digest);
  });

  t.test('an older version\'s step image must already be in the registry; it is tagged, never rebuilt', async (t) => {
    const old = await fixture('old-src');
    // The "older image": the world image of another build, which this build does not hold under hello.
    const withOld = await fixture('old', { oldImage: old.images.world! });
    const error = (await publishCatalog(options(withOld)).catch((e: unknown) => e)) as Error & { code: string; hint: string };
    t.equal(error.code, 'PUBLISH_ARTEFACT_UNAVAILABLE');
    t.match(error.message, new RegExp(`old/steps/hello:0\\.1\\.0@${old.images.world!.digest} \\(step image hello of Task hello-task 0\\.1\\.0 \\(draft\\)\\) is not in the registry`));
    t.match(error.hint, /git checkout hello-task-v0\.1\.0 && npm ci && npm run build && npm run publish/);
    t.equal(await client.manifestDescriptor('old/tasks/hello-task', '0.2.0'), undefined, 'nothing was pushed');

    // Once the image is in the repository by digest (published by the build that made it), publish adds its tag.
    const layout = old.layout;
    const index = await layout.readJson<{ manifests: { digest: `sha256:${string}`; mediaType: string }[] }>(old.images.world!.digest);
    for (const child of index.manifests) {
      const manifest = await layout.readJson<{ config: { digest: `sha256:${string}` }; layers: { digest: `sha256:${string}` }[] }>(child.digest);
      for (const blob of [manifest.config, ...manifest.layers]) await client.pushBlob('old/steps/hello', blob.digest, () => layout.readBlob(blob.digest));
      await client.putManifest('old/steps/hello', child.digest, await layout.readBlob(child.digest), child.mediaType);
    }
    await client.putManifest('old/steps/hello', old.images.world!.digest, await layout.readBlob(old.images.world!.digest), old.images.world!.mediaType);
    const record = await publishCatalog(options(withOld));
    const tagged = record.artefacts.find((a) => a.repository === 'old/steps/hello' && a.tag === '0.1.0')!;
    t.equal(tagged.action, 'tag');
    t.equal((await client.manifestDescriptor('old/steps/hello', '0.1.0'))?.digest, old.images.world!.digest);
  });

  t.test('a registry that stops mid-push leaves no tag on partial content, and a re-run completes', async (t) => {
    const proxy = await startFaultProxy(registry.host);
    t.teardown(() => proxy.stop());
    const fresh = await buildFixtureCatalog({ registry: `${proxy.host}/fresh`, variant: ' (fresh)' });
    fixtures.push(fresh);
    // The proxy stands for the registry; credentials are looked up by its host.
    const config = join(work, 'proxy-config.json');
    await writeFile(config, JSON.stringify({ auths: { [proxy.host]: { username: registry.username, password: registry.password } } }));
    const viaProxy = { ...options(fresh), dockerConfigPath: config, client: { maxAttempts: 2, backoffBaseMs: 10 } };
    // The registry "stops" once blobs are up: every manifest PUT loses its connection.
    proxy.addRule({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'drop' } });
    const error = (await publishCatalog(viaProxy).catch((e: unknown) => e)) as { code?: string };
    t.equal(error.code, 'REGISTRY_UNREACHABLE');
    const uploads = proxy.requests.filter((r) => r.method === 'PUT' && /\/blobs\/uploads\//.test(r.path)).length;
    t.ok(uploads > 0, 'blobs went up before the failure');
    t.equal(await client.manifestDescriptor('fresh/steps/hello', fresh.images.hello!.digest), undefined, 'no manifest points at partial content');
    t.same(await client.listTags('fresh/tasks/hello-task'), [], 'no tag was written');

    proxy.clearRules();
    const record: PublishRecord = await publishCatalog(viaProxy);
    t.equal(record.totals.pushed, 7);
    t.equal((await client.manifestDescriptor('fresh/tasks/hello-task', '0.2.0'))?.digest, fresh.bundles['hello-task@0.2.0']!.digest);
    t.ok(record.artefacts.every((a) => a.status === 'pushed'));
  });
}
