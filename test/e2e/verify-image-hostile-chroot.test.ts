// The real verify-image image, under chroot as uid 65532 with the args and
// env Tekton would give it, against hostile loopback registries: endless
// referrer pages, a million descriptors in one page or one index, a .sig
// manifest with too many layers, endless nesting, and a token server on a
// foreign host with docker-config credentials bound. Every attack is
// rejected with its code; the legitimate flows (basic auth, token auth, a
// foreign token server listed in trusted-token-realms) still verify.
import t from 'tap';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestHex, sha256Digest } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { MAX_LEGACY_LAYERS, MAX_REFERRER_PAGES, MAX_REFERRERS } from '../../src/sigstore/discovery/signature-discovery.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { missingRegistryTools, startRegistry, type TestRegistry } from '../harness/registry.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';
import { jsonItems, nested, startHostileServer, type HostileServer, type Route } from '../oci/fixtures/hostile-registry.ts';
import { pushBundleReferrer, pushImage, pushLegacySignatures, type PushedImage } from '../sigstore/fixtures/registry-images.ts';
import { MockSigstore, inTotoStatement, simpleSigningPayload } from '../sigstore/fixtures/signing.ts';

const WHO = { identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

t.test('verify-image from its real image refuses hostile registries and still verifies legitimate ones', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const missing = missingRegistryTools('basic') ?? missingRegistryTools('token');
  if (missing !== undefined) {
    if (process.env.CI === 'true') t.fail(`missing ${missing}; CI=true requires it`);
    else t.skip(`needs ${missing}`, () => {});
    return;
  }
  const built = await builtCatalog();
  const { spec, defaults } = await loadCatalogTask(built, 'verify-image');
  const step = spec.steps[0]!;
  const image = await unpackImage(built.layoutDir, 'step-verify-image', 'amd64');
  t.teardown(image.cleanup);
  const sigstore = await MockSigstore.create();
  const stops: (() => Promise<void>)[] = [];
  t.teardown(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  const started = <T extends { stop(): Promise<void> }>(thing: T): T => {
    stops.push(() => thing.stop());
    return thing;
  };
  const clientFor = (registry: TestRegistry) => {
    const client = new RegistryClient(registry.host, {
      plainHttp: true,
      ...(registry.username ? { credentials: { username: registry.username, password: registry.password! } } : {}),
    });
    stops.push(() => client.close());
    return client;
  };
  const signedImage = async (client: RegistryClient, repository: string): Promise<PushedImage> => {
    const pushed = await pushImage(client, repository, 'v1', `${repository} content`);
    await pushLegacySignatures(client, pushed.repository, pushed.digest, [await sigstore.legacyKeyless(simpleSigningPayload(pushed.repository, pushed.digest), WHO)]);
    await pushBundleReferrer(client, pushed, await sigstore.bundleKeyless(inTotoStatement(pushed.digest), WHO));
    return pushed;
  };

  // Workspaces as Tekton mounts them.
  const trustDir = join(image.rootfs, 'workspace', 'trusted-root');
  await mkdir(trustDir, { recursive: true });
  await writeFile(join(trustDir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot()), { mode: 0o444 });
  const dockerDir = join(image.rootfs, 'workspace', 'docker-config');
  const resultsDir = join(image.rootfs, 'tmp', 'results');
  await mkdir(resultsDir, { recursive: true });
  await chmod(resultsDir, 0o1777);

  const run = async (images: string[], options: { plainHttp: string[]; dockerAuths?: Record<string, { username: string; password: string }>; params?: Record<string, string> }) => {
    await rm(dockerDir, { recursive: true, force: true });
    if (options.dockerAuths) {
      await mkdir(dockerDir, { recursive: true });
      const auths = Object.fromEntries(Object.entries(options.dockerAuths).map(([host, c]) => [host, { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') }]));
      await writeFile(join(dockerDir, 'config.json'), JSON.stringify({ auths }), { mode: 0o444 });
    }
    const { args, env } = renderStep(step, {
      params: {
        ...defaults,
        images,
        'certificate-identity': WHO.identity,
        'certificate-oidc-issuer': WHO.issuer,
        'plain-http-registries': options.plainHttp.join(' '),
        'registry-timeout-seconds': '20',
        ...options.params,
      },
      workspaces: { 'trusted-root': '/workspace/trusted-root', 'public-key': '', 'docker-config': options.dockerAuths ? '/workspace/docker-config' : '', report: '' },
      context: { 'task.name': 'verify' },
    });
    return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tmp/results' }, timeoutMs: 120_000 });
  };

  // ---- bounds: a hostile front before a real, anonymous registry ----
  const open = started(await startRegistry());
  const openClient = clientFor(open);
  const app = await signedImage(openClient, 'hostile/app');
  const front: HostileServer = started(await startHostileServer({ upstream: open.host }));
  const ref = `${front.host}/${app.repository}@${app.digest}`;
  const descriptor = (i: number) => JSON.stringify({ mediaType: MediaType.imageManifest, digest: sha256Digest(`referrer ${i}`), size: 500, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
  const referrersPath = `/v2/${app.repository}/referrers/`;
  const tagSchemaPath = `/v2/${app.repository}/manifests/sha256-${digestHex(app.digest)}`;
  const sigPath = `${tagSchemaPath}.sig`;
  const index = (body: () => Iterable<string>) => ({ status: 200, headers: { 'content-type': MediaType.imageIndex }, stream: body });
  const indexOf = (count: number, item: (i: number) => string) => () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, item, ']}', count);

  const attacks: { name: string; route: Route; code: string; check?: () => void }[] = [
    {
      name: 'endless referrers pages',
      route: ({ path }) => {
        if (!path.startsWith(referrersPath)) return undefined;
        const page = Number(/[?&]page=(\d+)/.exec(path)?.[1] ?? 0);
        return { status: 200, headers: { 'content-type': MediaType.imageIndex, link: `<${referrersPath}${app.digest}?page=${page + 1}>; rel="next"` }, body: `{"schemaVersion":2,"manifests":[${descriptor(page)}]}` };
      },
      code: 'REGISTRY_LIMIT_EXCEEDED',
      check: () => t.ok(front.requests.filter((r) => r.path.startsWith(referrersPath)).length <= MAX_REFERRER_PAGES, `at most ${MAX_REFERRER_PAGES} referrer pages were requested`),
    },
    { name: 'a referrers page of a million tiny descriptors', route: ({ path }) => (path.startsWith(referrersPath) ? index(indexOf(1_000_000, () => '{}')) : undefined), code: 'REGISTRY_LIMIT_EXCEEDED' },
    {
      name: 'an endless referrers page',
      route: ({ path }) => (path.startsWith(referrersPath) ? index(indexOf(Infinity, descriptor)) : undefined),
      code: 'REGISTRY_LIMIT_EXCEEDED',
      check: () => t.equal(front.streams.at(-1)?.finished, false, 'the endless page was not read to an end'),
    },
    { name: `one page with ${MAX_REFERRERS + 1} descriptors`, route: ({ path }) => (path.startsWith(referrersPath) ? index(indexOf(MAX_REFERRERS + 1, descriptor)) : undefined), code: 'REGISTRY_LIMIT_EXCEEDED' },
    {
      name: 'a tag-schema fallback index of a million descriptors',
      route: ({ path }) => {
        if (path.startsWith(referrersPath)) return { status: 404, body: '{}' };
        return path === tagSchemaPath ? index(indexOf(1_000_000, descriptor)) : undefined;
      },
      code: 'REGISTRY_LIMIT_EXCEEDED',
    },
    {
      name: `a legacy .sig manifest with ${MAX_LEGACY_LAYERS + 1} layers`,
      // The .sig tag is read with one GET: the layer cap holds while that manifest streams in.
      route: ({ path }) =>
        path === sigPath
          ? { status: 200, headers: { 'content-type': MediaType.imageManifest }, stream: () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageManifest}","layers":[`, descriptor, ']}', MAX_LEGACY_LAYERS + 1) }
          : undefined,
      code: 'REGISTRY_LIMIT_EXCEEDED',
    },
    {
      name: 'signature blobs nested a million levels deep',
      route: ({ path }) => (path.startsWith(`/v2/${app.repository}/blobs/`) ? { status: 200, stream: () => nested('', 1_000_000, '') } : undefined),
      code: 'REGISTRY_LIMIT_EXCEEDED',
    },
    {
      name: 'the image manifest nested a million levels deep',
      route: ({ path }) => (path === `/v2/${app.repository}/manifests/v1` ? { status: 200, headers: { 'content-type': MediaType.imageManifest }, stream: () => nested('{"schemaVersion":2,"layers":', 1_000_000, '}') } : undefined),
      code: 'REGISTRY_LIMIT_EXCEEDED',
    },
  ];
  for (const attack of attacks) {
    front.requests.length = 0;
    front.streams.length = 0;
    front.route(attack.route);
    const target = attack.name.startsWith('the image manifest') ? `${front.host}/${app.repository}:v1` : ref;
    const result = await run([target], { plainHttp: [front.host] });
    t.equal(result.code, 1, `${attack.name}: rejected with exit 1 (${result.stderr.slice(0, 300)})`);
    t.match(result.stderr, new RegExp(`REJECTED .*\\[${attack.code}\\]`), `${attack.name}: with ${attack.code}`);
    t.notMatch(result.stderr, /\n\s+at |RangeError|heap out of memory/, `${attack.name}: no stack trace, no crash`);
    attack.check?.();
    await front.streamsSettled();
  }
  front.route(undefined);
  const clean = await run([ref], { plainHttp: [front.host] });
  t.equal(clean.code, 0, `the same image through the same front, now honest, verifies: ${clean.stderr.slice(0, 300)}`);

  // ---- credentials and token servers ----
  const basic = started(await startRegistry({ auth: 'basic' }));
  const basicImage = await signedImage(clientFor(basic), 'private/basic');
  const basicRun = await run([`${basic.host}/${basicImage.repository}@${basicImage.digest}`], {
    plainHttp: [basic.host],
    dockerAuths: { [basic.host]: { username: basic.username!, password: basic.password! } },
  });
  t.equal(basicRun.code, 0, `basic auth from the docker-config workspace verifies: ${basicRun.stderr.slice(0, 300)}`);

  const token = started(await startRegistry({ auth: 'token' }));
  const tokenImage = await signedImage(clientFor(token), 'private/token');
  const user = { username: token.username!, password: token.password! };
  const tokenRun = await run([`${token.host}/${tokenImage.repository}@${tokenImage.digest}`], { plainHttp: [token.host], dockerAuths: { [token.host]: user } });
  t.equal(tokenRun.code, 0, `token auth with the token server on the registry's host verifies: ${tokenRun.stderr.slice(0, 300)}`);

  const challenge = (await fetch(`http://${token.host}/v2/`)).headers.get('www-authenticate') ?? '';
  const realm = new URL(/realm="([^"]+)"/.exec(challenge)![1]!);
  const relay = started(await startHostileServer({ bind: '127.0.0.2', upstream: realm.host }));
  const tokenFront = started(await startHostileServer({ upstream: token.host }));
  tokenFront.route(() => ({
    forward: true,
    rewriteHeaders: (headers) => {
      const value = headers['www-authenticate'];
      if (typeof value === 'string') headers['www-authenticate'] = value.replace(realm.origin, `http://${relay.host}`);
      return headers;
    },
  }));
  const foreignRef = `${tokenFront.host}/${tokenImage.repository}@${tokenImage.digest}`;
  const refused = await run([foreignRef], { plainHttp: [tokenFront.host], dockerAuths: { [tokenFront.host]: user } });
  t.equal(refused.code, 1, 'a token server on another host is refused');
  t.match(refused.stderr, /REJECTED .*\[REGISTRY_REALM_REFUSED\]/, 'with REGISTRY_REALM_REFUSED');
  t.match(refused.stderr, /the verify-image param "trusted-token-realms"/, 'naming the Task param that allows it');
  t.notMatch(refused.stderr, user.password, 'never the password');
  t.equal(relay.requests.length, 0, 'the foreign token server received nothing');

  const listed = await run([foreignRef], { plainHttp: [tokenFront.host], dockerAuths: { [tokenFront.host]: user }, params: { 'trusted-token-realms': `http://${relay.host}` } });
  t.equal(listed.code, 0, `listed in trusted-token-realms, the same token server is used: ${listed.stderr.slice(0, 300)}`);
  t.ok(relay.requests.length > 0, 'and then it was asked');

  const badParam = await run([foreignRef], { plainHttp: [tokenFront.host], params: { 'trusted-token-realms': 'http://auth.example.com' } });
  t.equal(badParam.code, 2, 'a non-https entry is a configuration error');
  t.match(badParam.stderr, /CONFIG_TRUSTED_TOKEN_REALMS.*trusted-token-realms/, 'naming the param');
});
