// Credentials and token servers against the real registry and its token
// server (test/harness/registry.ts): a hostile front names a token server on
// another loopback host (127.0.0.2, or "localhost" for 127.0.0.1), which
// relays to the real one. With credentials the client refuses before sending
// anything; listed in the configuration it works; anonymous requests still go.
import t from 'tap';
import { CatalogError } from '../../src/errors.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/registry/client.ts';
import { runCli } from '../../src/cli/main.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRegistryTools, startRegistry } from '../harness/registry.ts';
import { startHostileServer } from './fixtures/hostile-registry.ts';

const SETTING = 'the test setting "trusted-token-realms"';

if (requireRegistryTools(t, 'token')) {
  const registry = await startRegistry({ auth: 'token' });
  t.teardown(() => registry.stop());
  const challenge = (await fetch(`http://${registry.host}/v2/`)).headers.get('www-authenticate') ?? '';
  const realm = new URL(/realm="([^"]+)"/.exec(challenge)![1]!);
  const credentials = { username: registry.username!, password: registry.password! };

  // The token server relayed from another loopback host: a working token server that is "foreign".
  const relay = await startHostileServer({ bind: '127.0.0.2', upstream: realm.host });
  t.teardown(() => relay.stop());
  const front = await startHostileServer({ upstream: registry.host });
  t.teardown(() => front.stop());
  const nameRealm = (realmOrigin: string) =>
    front.route(() => ({
      forward: true,
      rewriteHeaders: (headers) => {
        const value = headers['www-authenticate'];
        if (typeof value === 'string') headers['www-authenticate'] = value.replace(realm.origin, realmOrigin);
        return headers;
      },
    }));

  // Content to read through the front.
  const writer = new RegistryClient(registry.host, { plainHttp: true, credentials });
  t.teardown(() => writer.close());
  const blob = Buffer.from('{"config":true}');
  const blobDigest = sha256Digest(blob);
  await writer.uploadBlob('realm/app', blobDigest, blob);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.imageManifest, config: { mediaType: MediaType.imageConfig, digest: blobDigest, size: blob.byteLength }, layers: [] }));
  const manifestDigest = await writer.putManifest('realm/app', 'v1', manifest, MediaType.imageManifest);

  const client = (options: RegistryClientOptions = {}) => {
    const c = new RegistryClient(front.host, { plainHttp: true, maxAttempts: 1, trustedTokenRealmsSetting: SETTING, ...options });
    t.teardown(() => c.close());
    return c;
  };
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as CatalogError);
  t.beforeEach(() => {
    relay.requests.length = 0;
    front.requests.length = 0;
  });

  t.test('the real token server on its own host (another port) gets the credentials', async (t) => {
    nameRealm(realm.origin);
    t.equal((await client({ credentials }).getManifest('realm/app', 'v1')).digest, manifestDigest);
  });

  t.test('a token server on another loopback address is refused before anything is sent', async (t) => {
    const relayRealm = `http://${relay.host}`;
    nameRealm(relayRealm);
    const error = await failure(client({ credentials }).getManifest('realm/app', 'v1'));
    t.equal(error?.code, 'REGISTRY_REALM_REFUSED');
    t.match(error?.message, relay.host, 'the message names the token server');
    t.match(error?.message, SETTING, 'and the setting that would allow it');
    t.notMatch(error?.message, credentials.password, 'never the password');
    t.equal(relay.requests.length, 0, 'the foreign token server never saw a request');

    const listed = await client({ credentials, trustedTokenRealms: [relayRealm] }).getManifest('realm/app', 'v1');
    t.equal(listed.digest, manifestDigest, 'listed in the configuration, it is used');
    t.ok(relay.requests.length > 0 && relay.requests.every((r) => r.authorization?.startsWith('Basic ')), 'and then it received the credentials');
  });

  t.test('"localhost" is another host than 127.0.0.1', async (t) => {
    nameRealm(`http://localhost:${realm.port}`);
    const error = await failure(client({ credentials }).getManifest('realm/app', 'v1'));
    t.equal(error?.code, 'REGISTRY_REALM_REFUSED');
  });

  t.test('user info in the realm is refused', async (t) => {
    nameRealm(`http://127.0.0.1@${relay.host}`);
    const error = await failure(client({ credentials }).getManifest('realm/app', 'v1'));
    t.equal(error?.code, 'REGISTRY_REALM_REFUSED');
    t.equal(relay.requests.length, 0);
  });

  t.test('without credentials the foreign token server is asked anonymously', async (t) => {
    nameRealm(`http://${relay.host}`);
    const error = await failure(client().getManifest('realm/app', 'v1'));
    t.equal(error?.code, 'REGISTRY_UNAUTHORIZED', 'this token server refuses anonymous access');
    t.match(error?.message, /refused anonymous access/);
    t.ok(relay.requests.length > 0, 'the anonymous request went');
    t.ok(relay.requests.every((r) => r.authorization === undefined), 'without credentials');
    const scopes = relay.requests.flatMap((r) => new URL(r.path, 'http://x').searchParams.getAll('scope'));
    t.same([...new Set(scopes)], ['repository:realm/app:pull'], 'asking only for the repository read');
  });

  t.test('a public registry whose token server lives elsewhere still works anonymously', async (t) => {
    const tokens = await startHostileServer({ bind: '127.0.0.2' });
    t.teardown(() => tokens.stop());
    tokens.route(() => ({ status: 200, body: '{"token":"public-token","expires_in":300}' }));
    const publicRegistry = await startHostileServer();
    t.teardown(() => publicRegistry.stop());
    publicRegistry.route(({ path, headers }) => {
      if (headers.authorization !== 'Bearer public-token') return { status: 401, headers: { 'www-authenticate': `Bearer realm="http://${tokens.host}/token",service="public"` }, body: '{}' };
      if (path === '/v2/realm/app/manifests/v1') return { status: 200, headers: { 'content-type': MediaType.imageManifest }, body: manifest };
      return { status: 404, body: '{}' };
    });
    const anonymous = new RegistryClient(publicRegistry.host, { plainHttp: true, maxAttempts: 1 });
    t.teardown(() => anonymous.close());
    t.equal((await anonymous.getManifest('realm/app', 'v1')).digest, manifestDigest, 'pulled with an anonymous token');
    const withCredentials = new RegistryClient(publicRegistry.host, { plainHttp: true, maxAttempts: 1, credentials });
    t.teardown(() => withCredentials.close());
    t.equal((await failure(withCredentials.getManifest('realm/app', 'v1')))?.code, 'REGISTRY_REALM_REFUSED', 'with credentials it fails closed rather than fall back to anonymous');
    t.ok(tokens.requests.every((r) => r.authorization === undefined), 'the token server never saw the credentials');
  });

  t.test('a blob redirected to a CDN carries neither the token nor the credentials', async (t) => {
    const cdn = await startHostileServer({ bind: '127.0.0.2' });
    t.teardown(() => cdn.stop());
    cdn.route(() => ({ status: 200, body: blob }));
    front.route(({ path, headers }) =>
      path.includes('/blobs/') && headers.authorization !== undefined ? { status: 307, headers: { location: `http://${cdn.host}/cdn${path}` } } : { forward: true },
    );
    t.ok((await client({ credentials }).getBlob('realm/app', blobDigest)).equals(blob), 'the CDN content is used once its digest checks out');
    t.ok(front.requests.some((r) => r.path.includes('/blobs/') && r.authorization?.startsWith('Bearer ')), 'the registry got the token');
    t.equal(cdn.requests.length, 1);
    t.equal(cdn.requests[0]!.authorization, undefined, 'the CDN got nothing');
  });

  t.test('the command line: --trusted-token-realm lets list send the docker config credentials to a listed token server', async (t) => {
    const relayRealm = `http://${relay.host}`;
    nameRealm(relayRealm);
    const dir = await mkdtemp(join(tmpdir(), 'realm-cli-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const dockerConfig = join(dir, 'config.json');
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    await writeFile(dockerConfig, JSON.stringify({ auths: { [front.host]: { auth } } }));
    const run = async (...extra: string[]) => {
      const out = { stdout: '', stderr: '' };
      const io = { stdout: { write: (text: string | Uint8Array) => (out.stdout += String(text)) }, stderr: { write: (text: string | Uint8Array) => (out.stderr += String(text)) } };
      try {
        return { code: await runCli(['list', `${front.host}/realm`, '--plain-http', '--docker-config', dockerConfig, ...extra], io), error: undefined, ...out };
      } catch (error) {
        return { code: undefined, error: error as CatalogError, ...out };
      }
    };
    const refused = await run();
    t.equal(refused.error?.code, 'REGISTRY_REALM_REFUSED', 'without the flag the credentials stay home');
    t.match(refused.error?.message, '--trusted-token-realm', 'and the message names the flag to set');
    t.equal(relay.requests.length, 0, 'the token server saw nothing');
    const listed = await run('--trusted-token-realm', relayRealm);
    t.not(listed.error?.code, 'REGISTRY_REALM_REFUSED', `listed with the flag, the token server is used (${listed.error?.code ?? `exit ${listed.code}`})`);
    t.ok(relay.requests.some((r) => r.authorization?.startsWith('Basic ')), 'and received the credentials');
  });

}
