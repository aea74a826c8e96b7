import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readBundleResource } from '../../src/bundle/read.ts';
import { RegistryClient } from '../../src/oci/registry/client.ts';
import { publishLayout, renderSummary, type PublishRecord } from '../../src/publish/publish.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { buildFixtureLayout } from './layout-fixture.ts';

if (requireRegistryTools(t, 'basic')) {
  const registry = await startRegistry({ auth: 'basic' });
  t.teardown(() => registry.stop());
  const creds = ['--creds', `${registry.username}:${registry.password}`];
  const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const fixture = await buildFixtureLayout();
  t.teardown(() => rm(fixture.dir, { recursive: true, force: true }));
  const work = await mkdtemp(join(tmpdir(), 'publish-test-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const lines: string[] = [];
  const base = { layoutDir: fixture.dir, registry: `${registry.host}/cat`, plainHttp: true, dockerConfigPath: registry.dockerConfigPath!, log: (l: string) => lines.push(l) };

  t.test('publish pushes every image and bundle; a re-run pushes nothing', async (t) => {
    const recordPath = join(work, 'record.json');
    const first = await publishLayout({ ...base, recordPath });
    t.equal(first.totals.pushed, 6);
    t.ok(first.totals.blobsMounted > 0, 'the shared runtime layer was mounted, not uploaded twice');
    t.same(JSON.parse(await readFile(recordPath, 'utf8')), first, 'the record on disk is the result');
    t.equal(lines.length, 6, 'one progress line per artefact');
    const second = await publishLayout({ ...base, client: {} });
    t.equal(second.totals.pushed, 0);
    t.equal(second.totals.blobsUploaded, 0);
    t.match(renderSummary(second), /nothing new to push: all 6 artefacts/);
    const hello = first.artefacts.find((a) => a.refName === 'bundle-hello-task-0.2')!;
    t.equal(hello.reference, `${registry.host}/cat/tasks/hello-task:0.2@${fixture.bundles['hello-task@0.2']!.digest}`);
  });

  t.test('skopeo inspects and copies what we pushed, digests unchanged', async (t) => {
    for (const program of ['hello', 'world']) {
      const ref = `docker://${registry.host}/cat/steps/${program}@${fixture.images[program]!.digest}`;
      const raw = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, '--raw', ref)) as { manifests: { platform: { architecture: string } }[] };
      t.same(raw.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64'], `${program}: multi-arch index`);
      const arm = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, '--override-arch', 'arm64', ref)) as { Architecture: string };
      t.equal(arm.Architecture, 'arm64', 'skopeo picks the arm64 manifest from the index');
    }
    const bundleRef = `docker://${registry.host}/cat/tasks/hello-task:0.1`;
    const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, bundleRef)) as { Digest: string };
    t.equal(inspected.Digest, fixture.bundles['hello-task@0.1']!.digest);

    const ociDir = join(work, 'copy');
    skopeo('copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--src-creds', `${registry.username}:${registry.password}`, `docker://${registry.host}/cat/steps/hello@${fixture.images.hello!.digest}`, `oci:${ociDir}:hello`);
    skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', `${registry.username}:${registry.password}`, `oci:${ociDir}:hello`, `docker://${registry.host}/copied/hello:back`);
    const back = JSON.parse(skopeo('inspect', '--tls-verify=false', ...creds, '--raw', `docker://${registry.host}/copied/hello:back`)) as unknown;
    const client = new RegistryClient(registry.host, { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! });
    t.teardown(() => client.close());
    t.equal((await client.manifestDescriptor('copied/hello', 'back'))?.digest, fixture.images.hello!.digest, 'round trip through oci: keeps the index digest');
    t.ok(back, 'skopeo reads the copied index');
    // umoci reads the multi-arch index skopeo wrote to the oci: layout.
    const listed = execFileSync('umoci', ['ls', '--layout', ociDir], { encoding: 'utf8' });
    t.match(listed, /hello/);
  });

  t.test('the resolver-compatible reader returns each Task byte-identical from the registry', async (t) => {
    for (const [key, yaml] of Object.entries(fixture.taskYaml)) {
      const [name, version] = key.split('@') as [string, string];
      const resource = await readBundleResource(
        { from: `${registry.host}/cat/tasks/${name}:${version}`, registryOptions: { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! } },
        name,
        'Task',
      );
      t.equal(resource.data.toString('utf8'), yaml, key);
    }
  });

  t.test('a version tag is never moved to different content', async (t) => {
    const changed = await buildFixtureLayout({ variant: ' (changed)' });
    t.teardown(() => rm(changed.dir, { recursive: true, force: true }));
    const error = (await publishLayout({ ...base, layoutDir: changed.dir }).catch((e: unknown) => e)) as Error & { code: string };
    t.equal(error.code, 'PUBLISH_TAG_CONFLICT');
    t.match(error.message, /tasks\/hello-task:0\.1 is sha256:/);
    const client = new RegistryClient(registry.host, { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! });
    t.teardown(() => client.close());
    t.equal((await client.manifestDescriptor('cat/catalog', '1'))?.digest, fixture.bundles.catalog!.digest, 'nothing was pushed, not even the movable catalog tag');
  });

  t.test('a registry that stops mid-push leaves no tag on partial content, and a re-run completes', async (t) => {
    const proxy = await startFaultProxy(registry.host);
    t.teardown(() => proxy.stop());
    const fresh = await buildFixtureLayout({ variant: ' (fresh)' });
    t.teardown(() => rm(fresh.dir, { recursive: true, force: true }));
    // The proxy stands for the registry; credentials are looked up by its host.
    const config = join(work, 'proxy-config.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(config, JSON.stringify({ auths: { [proxy.host]: { username: registry.username, password: registry.password } } }));
    const viaProxy = { ...base, layoutDir: fresh.dir, registry: `${proxy.host}/fresh`, dockerConfigPath: config, client: { maxAttempts: 2, backoffBaseMs: 10 } };
    // The registry "stops" once blobs are up: every manifest PUT loses its connection.
    proxy.addRule({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'drop' } });
    const error = (await publishLayout(viaProxy).catch((e: unknown) => e)) as { code?: string };
    t.equal(error.code, 'REGISTRY_UNREACHABLE');
    const uploads = proxy.requests.filter((r) => r.method === 'PUT' && /\/blobs\/uploads\//.test(r.path)).length;
    t.ok(uploads > 0, 'blobs went up before the failure');
    const client = new RegistryClient(registry.host, { plainHttp: true, dockerConfigPath: registry.dockerConfigPath! });
    t.teardown(() => client.close());
    t.equal(await client.manifestDescriptor('fresh/steps/hello', fresh.images.hello!.digest), undefined, 'no manifest points at partial content');
    t.same(await client.listTags('fresh/tasks/hello-task'), [], 'no tag was written');

    proxy.clearRules();
    const record: PublishRecord = await publishLayout(viaProxy);
    t.equal(record.totals.pushed, 6);
    t.equal((await client.manifestDescriptor('fresh/tasks/hello-task', '0.2'))?.digest, fresh.bundles['hello-task@0.2']!.digest);
    t.ok(record.artefacts.every((a) => a.status === 'pushed'));
  });
}
