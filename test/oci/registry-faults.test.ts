import t from 'tap';
import { sha256Digest } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/registry/client.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { requireRegistryTools, startRegistry, type TestRegistry } from '../harness/registry.ts';

/** Faults injected between the client and a real registry: each ends in correct content or a clear error. */
if (requireRegistryTools(t, 'basic')) {
  const registry: TestRegistry = await startRegistry({ auth: 'basic' });
  t.teardown(() => registry.stop());
  const proxy: FaultProxy = await startFaultProxy(registry.host);
  t.teardown(() => proxy.stop());
  // Explicit credentials: the docker config is keyed by the registry's host, and these clients talk to the proxy's.
  const fast: RegistryClientOptions = {
    plainHttp: true,
    credentials: { username: registry.username!, password: registry.password! },
    maxAttempts: 3,
    backoffBaseMs: 10,
    backoffMaxMs: 50,
  };
  const client = (options: RegistryClientOptions = {}) => {
    const c = new RegistryClient(proxy.host, { ...fast, ...options });
    t.teardown(() => c.close());
    return c;
  };
  t.beforeEach(() => {
    proxy.clearRules();
    proxy.requests.length = 0;
  });

  // Content every case reads.
  const blob = Buffer.alloc(50_000, 3);
  const blobDigest = sha256Digest(blob);
  const direct = new RegistryClient(registry.host, fast);
  t.teardown(() => direct.close());
  await direct.uploadBlob('fault/repo', blobDigest, blob);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.imageManifest, config: { mediaType: MediaType.imageConfig, digest: blobDigest, size: blob.byteLength }, layers: [] }),
  );
  const manifestDigest = await direct.putManifest('fault/repo', 'v1', manifest, MediaType.imageManifest);

  t.test('5xx answers are retried and the content still checks out', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 503 }, times: 2 });
    t.ok((await client().getBlob('fault/repo', blobDigest)).equals(blob));
    t.equal(proxy.requests.filter((r) => r.fault === 'status').length, 2);
  });

  t.test('429 with Retry-After is honoured', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 });
    const start = Date.now();
    t.equal((await client().getManifest('fault/repo', 'v1')).digest, manifestDigest);
    t.ok(Date.now() - start >= 900, 'waited about the second the registry asked for');
  });

  t.test('a Retry-After beyond the limit fails instead of hanging', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: '3600' } });
    await t.rejects(client().getManifest('fault/repo', 'v1'), { code: 'REGISTRY_BUSY' });
  });

  t.test('retries are bounded: a registry that keeps failing gives a clear error', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 502 } });
    const error = (await client().getManifest('fault/repo', 'v1').catch((e: unknown) => e)) as Error & { code: string };
    t.equal(error.code, 'REGISTRY_UNAVAILABLE');
    t.match(error.message, /registry 127\.0\.0\.1:\d+, repository fault\/repo, manifest GET v1: HTTP 502 after 3 attempts/);
    t.equal(proxy.requests.filter((r) => r.fault === 'status').length, 3);
  });

  t.test('a truncated blob is retried once, or fails clearly if it stays truncated', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'truncate', keepBytes: 1000 }, times: 1 });
    t.ok((await client().getBlob('fault/repo', blobDigest)).equals(blob), 'second attempt got the whole blob');
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'truncate', keepBytes: 1000 } });
    await t.rejects(client().getBlob('fault/repo', blobDigest), { code: 'REGISTRY_UNREACHABLE' });
  });

  t.test('content that does not match its digest is rejected', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'swap', body: Buffer.alloc(50_000, 4) } });
    await t.rejects(client().getBlob('fault/repo', blobDigest), { code: 'REGISTRY_DIGEST_MISMATCH' });
    proxy.clearRules();
    const forged = Buffer.from(manifest.toString().replace('"layers":[]', '"layers": []'));
    proxy.addRule({ method: 'GET', path: /\/manifests\/v1$/, fault: { kind: 'swap', body: forged } });
    await t.rejects(client().getManifest('fault/repo', 'v1'), { code: 'REGISTRY_DIGEST_MISMATCH' }, 'by tag: checked against Docker-Content-Digest');
    proxy.clearRules();
    proxy.addRule({ method: 'GET', path: /\/manifests\//, fault: { kind: 'swap', body: forged } });
    await t.rejects(client().getManifest('fault/repo', manifestDigest), { code: 'REGISTRY_DIGEST_MISMATCH' }, 'by digest');
  });

  t.test('oversized responses are refused', async (t) => {
    await t.rejects(client({ maxManifestBytes: 100 }).getManifest('fault/repo', 'v1'), { code: 'REGISTRY_RESPONSE_TOO_LARGE' });
    await t.rejects(client().getBlob('fault/repo', blobDigest, { maxBytes: 10_000 }), { code: 'REGISTRY_RESPONSE_TOO_LARGE' });
  });

  t.test('credentials do not follow a redirect to another host', async (t) => {
    // 127.0.0.2 is loopback too, but another origin: it must not see our Authorization header.
    const other = await startFaultProxy(registry.host, { bind: '127.0.0.2' });
    t.teardown(() => other.stop());
    other.addRule({ path: /\/blobs\//, fault: { kind: 'respond', status: 200, body: blob } });
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'redirect', location: (path) => `http://${other.host}${path}` } });
    t.ok((await client().getBlob('fault/repo', blobDigest)).equals(blob), 'the redirected content is used after its digest checks out');
    t.ok(proxy.requests.some((r) => r.headers.authorization !== undefined), 'the registry itself got credentials');
    t.equal(other.requests.length, 1);
    t.equal(other.requests[0]!.headers.authorization, undefined, 'the other host got none');
  });

  t.test('a registry that does not answer in time gives a timeout error', async (t) => {
    proxy.addRule({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 3000 } });
    await t.rejects(client({ timeoutMs: 300, maxAttempts: 1 }).getManifest('fault/repo', 'v1'), { code: 'REGISTRY_TIMEOUT' });
  });

  t.test('an upload interrupted by 5xx or a dropped connection is restarted and completes', async (t) => {
    const bytes = Buffer.alloc(30_000, 9);
    const digest = sha256Digest(bytes);
    proxy.addRule({ method: 'PATCH', fault: { kind: 'status', status: 500 }, times: 1 });
    proxy.addRule({ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'drop' }, times: 1 });
    await client({ chunkSize: 8192 }).uploadBlob('fault/upload', digest, bytes);
    t.ok((await direct.getBlob('fault/upload', digest)).equals(bytes));
    t.equal(proxy.requests.filter((r) => r.fault !== undefined).length, 2, 'both faults fired');
  });
}
