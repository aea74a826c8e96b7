import t from 'tap';
import { CatalogError } from '../../src/errors.ts';
import { sha256Digest, digestHex } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry/client.ts';
import { credentialsFromConfigObject, credentialsFromDockerConfig } from '../../src/oci/registry/credentials.ts';
import { parseChallenge } from '../../src/oci/registry/auth.ts';
import { parseReference } from '../../src/oci/registry/reference.ts';
import { requireRegistryTools, startRegistry, type RegistryAuth } from '../harness/registry.ts';

const codeOf = (error: unknown) => (error instanceof CatalogError ? error.code : String(error));

t.test('parseReference applies Docker defaults and rejects what is not a reference', async (t) => {
  t.same(parseReference('alpine'), { registry: 'docker.io', repository: 'library/alpine' });
  t.same(parseReference('127.0.0.1:5000/tasks/git-clone:0.1'), { registry: '127.0.0.1:5000', repository: 'tasks/git-clone', tag: '0.1' });
  const digest = `sha256:${'a'.repeat(64)}`;
  t.same(parseReference(`ghcr.io/org/x:1@${digest}`), { registry: 'ghcr.io', repository: 'org/x', tag: '1', digest });
  t.same(parseReference('localhost/x'), { registry: 'localhost', repository: 'x' });
  for (const bad of ['', 'Upper/case', 'ghcr.io/x@sha512:abc', 'a//b', 'x:-tag', 'ghcr.io/x@sha256:ABC']) {
    t.throws(() => parseReference(bad), { code: 'USAGE_IMAGE_REFERENCE' }, bad);
  }
});

t.test('WWW-Authenticate challenges parse into scheme and parameters', async (t) => {
  t.same(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    realm: 'https://auth.example/token',
    service: 'registry.example',
    scope: 'repository:a/b:pull',
  });
  t.same(parseChallenge('Basic realm="x"'), { scheme: 'basic', realm: 'x' });
  t.equal(parseChallenge('Negotiate abc'), undefined);
  t.equal(parseChallenge('Bearer service="no-realm"'), undefined);
});

t.test('docker config credentials are used only for an exact host match', async (t) => {
  const auth = Buffer.from('user:pa:ss').toString('base64');
  const config = { auths: { 'registry.example.com': { auth }, 'https://other.example:5000/v1/': { username: 'u2', password: 'p2' } } };
  t.same(credentialsFromConfigObject(config, 'registry.example.com'), { username: 'user', password: 'pa:ss' });
  t.same(credentialsFromConfigObject(config, 'other.example:5000'), { username: 'u2', password: 'p2' });
  t.equal(credentialsFromConfigObject(config, 'registry.example.com.evil.test'), undefined);
  t.equal(credentialsFromConfigObject(config, 'registry.example.com:443'), undefined);
  t.equal(credentialsFromConfigObject(config, 'other.example'), undefined);
  t.throws(() => credentialsFromConfigObject({ auths: { h: { auth: Buffer.from('nocolon').toString('base64') } } }, 'h'), { code: 'CONFIG_DOCKER_CONFIG' });
  await t.rejects(credentialsFromDockerConfig('/nonexistent/config.json', 'h', 'the docker-config workspace'), { code: 'CONFIG_DOCKER_CONFIG', hint: /the docker-config workspace/ });
});

t.test('plain HTTP is refused unless asked for, and then only for loopback', async (t) => {
  const remote = new RegistryClient('registry.example.com', { plainHttp: true });
  await t.rejects(remote.ping(), { code: 'REGISTRY_INSECURE' });
  await remote.close();
});

for (const auth of ['none', 'basic', 'token'] as RegistryAuth[]) {
  t.test(`a real registry (${auth} auth): uploads, mounts, manifests, tags and referrers`, async (t) => {
    if (!requireRegistryTools(t, auth)) return;
    const registry = await startRegistry({ auth });
    t.teardown(() => registry.stop());
    const client = new RegistryClient(registry.host, {
      plainHttp: true,
      ...(registry.dockerConfigPath ? { dockerConfigPath: registry.dockerConfigPath } : {}),
      maxAttempts: 2,
      chunkSize: 4096,
    });
    t.teardown(() => client.close());

    if (auth !== 'none') {
      const anonymous = new RegistryClient(registry.host, { plainHttp: true, maxAttempts: 1 });
      await t.rejects(anonymous.hasBlob('x/y', sha256Digest('nothing')), { code: 'REGISTRY_UNAUTHORIZED' }, 'no credentials: a clear refusal');
      await anonymous.close();
    }
    if (auth === 'basic') {
      const anonymous = new RegistryClient(registry.host, { plainHttp: true, maxAttempts: 1 });
      await t.rejects(anonymous.hasBlob('x/y', sha256Digest('nothing')), { code: 'REGISTRY_UNAUTHORIZED', hint: /--docker-config/ }, 'the CLI names its flag');
      await anonymous.close();
      // Inside a Task the hint names what the pipeline author binds, not the CLI flag.
      const inTask = new RegistryClient(registry.host, { plainHttp: true, maxAttempts: 1, dockerConfigSetting: 'the docker-config workspace' });
      await t.rejects(inTask.hasBlob('x/y', sha256Digest('nothing')), { code: 'REGISTRY_UNAUTHORIZED', hint: /^give the docker-config workspace with an "auths" entry/ });
      await inTask.close();
    }
    if (auth !== 'none') {
      const wrong = new RegistryClient(registry.host, { plainHttp: true, maxAttempts: 1, credentials: { username: registry.username!, password: 'wrong' } });
      const error = await wrong.hasBlob('x/y', sha256Digest('nothing')).catch((e: unknown) => e);
      t.equal(codeOf(error), 'REGISTRY_UNAUTHORIZED', 'a wrong password is refused');
      t.notMatch(String((error as Error).message), registry.password!, 'the password never appears in the message');
      await wrong.close();
    }

    const small = Buffer.from('{"small":true}');
    const large = Buffer.alloc(20_000, 7);
    const smallDigest = sha256Digest(small);
    const largeDigest = sha256Digest(large);
    t.equal(await client.blobSize('app/one', largeDigest), undefined, 'absent blob: HEAD says so');
    await client.uploadBlob('app/one', smallDigest, small);
    await client.uploadBlob('app/one', largeDigest, large);
    t.equal(await client.blobSize('app/one', largeDigest), large.byteLength, 'chunked upload stored every byte');
    t.ok((await client.getBlob('app/one', largeDigest)).equals(large));
    await t.rejects(client.uploadBlob('app/one', smallDigest, large), { code: 'REGISTRY_DIGEST_MISMATCH' }, 'never uploads bytes under a wrong digest');

    t.equal(await client.mountBlob('app/two', largeDigest, 'app/one'), true, 'cross-repository mount');
    t.equal(await client.pushBlob('app/two', largeDigest, async () => large), 'exists');
    t.equal(await client.pushBlob('app/three', smallDigest, async () => small, { mountFrom: 'app/one' }), 'mounted');

    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        config: { mediaType: MediaType.imageConfig, digest: smallDigest, size: small.byteLength },
        layers: [{ mediaType: MediaType.layerTar, digest: largeDigest, size: large.byteLength }],
      }),
    );
    const manifestDigest = await client.putManifest('app/one', 'v1', manifest, MediaType.imageManifest);
    t.equal(manifestDigest, sha256Digest(manifest));
    const pulled = await client.getManifest('app/one', 'v1');
    t.equal(pulled.digest, manifestDigest);
    t.equal(pulled.mediaType, MediaType.imageManifest);
    t.same((await client.manifestDescriptor('app/one', 'v1'))?.digest, manifestDigest);
    t.equal(await client.manifestDescriptor('app/one', 'missing'), undefined);

    for (const tag of ['v2', 'v3', 'v4']) await client.putManifest('app/one', tag, manifest, MediaType.imageManifest);
    t.same((await client.listTags('app/one', { pageSize: 1 })).sort(), ['v1', 'v2', 'v3', 'v4'], 'pagination follows Link headers');
    t.same(await client.listTags('never/pushed'), []);

    // This registry has no referrers API, so the sha256-<hex> tag schema is read, unfiltered.
    t.same(await client.referrers('app/one', manifestDigest), { source: 'tag-schema', filtersApplied: [], manifests: [] });
    const referrersIndex = {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        { mediaType: MediaType.imageManifest, digest: manifestDigest, size: manifest.byteLength, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' },
        { mediaType: MediaType.imageManifest, digest: manifestDigest, size: manifest.byteLength, artifactType: 'application/spdx+json' },
      ],
    };
    await client.putManifest('app/one', `sha256-${digestHex(manifestDigest)}`, Buffer.from(JSON.stringify(referrersIndex)), MediaType.imageIndex);
    const referrers = await client.referrers('app/one', manifestDigest, { artifactType: 'application/spdx+json' });
    t.equal(referrers.source, 'tag-schema');
    t.same(referrers.manifests, referrersIndex.manifests, 'fallback entries are returned raw, not filtered');
  });
}

t.test('plain-HTTP refusals name the setting the caller can change: a flag by default, a Task param inside a step', async (t) => {
  for (const [setting, expected] of [[undefined, '--plain-http'], ['the verify-image param "plain-http-registries"', 'the verify-image param "plain-http-registries"']] as const) {
    const client = new RegistryClient('registry.example.com', { plainHttp: true, maxAttempts: 1, ...(setting ? { plainHttpSetting: setting } : {}) });
    t.teardown(() => client.close());
    const error = await client.getManifest('app', 'v1').then(() => undefined, (e: unknown) => e as CatalogError);
    t.equal(error?.code, 'REGISTRY_INSECURE', 'plain HTTP to a remote host is refused');
    t.equal(error?.hint, `drop ${expected}; a remote registry must be reached over TLS`, `the hint names ${expected}`);
  }
});
