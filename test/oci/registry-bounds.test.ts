// The registry client against a hostile loopback registry: every list, body
// and header it reads is bounded while it is read. Each case is an attack
// (endless pages, a million descriptors in one page, deep nesting, endless
// error bodies, redirect chains, foreign next-page links, oversized tokens)
// and must fail with its stable code after reading no more than the cap.
import t, { type Test } from 'tap';
import { CatalogError } from '../../src/errors.ts';
import { digestHex, sha256Digest, type Digest } from '../../src/oci/digest.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/registry/client.ts';
import { MANIFEST_JSON_LIMITS } from '../../src/oci/registry/bounded-json.ts';
import { DEFAULT_REFERRER_LIMITS, DEFAULT_TAG_LIMITS } from '../../src/oci/registry/index.ts';
import { MAX_ERROR_BODY_BYTES } from '../../src/oci/registry/transport.ts';
import { jsonItems, nested, startHostileServer, type HostileServer, type Route } from './fixtures/hostile-registry.ts';

const REPO = 'hostile/app';
const SUBJECT = sha256Digest('subject');
const descriptor = (i: number) => JSON.stringify({ mediaType: MediaType.imageManifest, digest: sha256Digest(`referrer ${i}`), size: 100 + i, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
const tag = (i: number) => JSON.stringify(`v${i}`);
const INDEX = { 'content-type': MediaType.imageIndex };

const server: HostileServer = await startHostileServer();
const foreign: HostileServer = await startHostileServer({ bind: '127.0.0.2' });
t.teardown(async () => {
  await server.stop();
  await foreign.stop();
});

const options: RegistryClientOptions = { plainHttp: true, maxAttempts: 1, timeoutMs: 20_000 };
const newClient = (extra: RegistryClientOptions = {}) => {
  const client = new RegistryClient(server.host, { ...options, ...extra });
  t.teardown(() => client.close());
  return client;
};

/** Registry basics every case shares: /v2/ answers 200; the rest is the case's route. */
function registry(route: Route): Route {
  return (request) => (request.path === '/v2/' ? { status: 200, body: '{}' } : route(request));
}

/** An endless chain of pages, each `perPage` items long, each linking to the next. */
function endlessPages(kind: 'tags' | 'referrers', perPage: number): Route {
  return registry(({ path }) => {
    const page = Number(/[?&]page=(\d+)/.exec(path)?.[1] ?? 0);
    const base = kind === 'tags' ? `/v2/${REPO}/tags/list` : `/v2/${REPO}/referrers/${SUBJECT}`;
    if (!path.startsWith(base)) return undefined;
    const items = Array.from({ length: perPage }, (_, i) => (kind === 'tags' ? tag(page * perPage + i) : descriptor(page * perPage + i)));
    const body = kind === 'tags' ? `{"name":"${REPO}","tags":[${items.join(',')}]}` : `{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[${items.join(',')}]}`;
    return { status: 200, headers: { ...INDEX, link: `<${base}?page=${page + 1}>; rel="next"` }, body };
  });
}

/** One page streamed from a generator: the client must stop reading it, the server must not get to its end. */
function streamedPage(kind: 'tags' | 'referrers', count: number, item: (i: number) => string): Route {
  return registry(({ path }) => {
    if (kind === 'tags' && path.startsWith(`/v2/${REPO}/tags/list`)) return { status: 200, stream: () => jsonItems(`{"name":"${REPO}","tags":[`, item, ']}', count) };
    if (kind === 'referrers' && path.startsWith(`/v2/${REPO}/referrers/`)) {
      return { status: 200, headers: INDEX, stream: () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, item, ']}', count) };
    }
    return undefined;
  });
}

const list = (kind: 'tags' | 'referrers', client: RegistryClient, limits: { maxItems?: number; maxPages?: number; maxBytes?: number } = {}) =>
  kind === 'tags' ? client.listTags(REPO, limits) : client.referrers(REPO, SUBJECT, limits);

interface Case {
  name: string;
  route: Route;
  run: (client: RegistryClient) => Promise<unknown>;
  code: string;
  /** Checks on what the server saw, after the call failed. */
  check?: (t: Test) => unknown;
  clientOptions?: RegistryClientOptions;
}

const cases: Case[] = [];
for (const kind of ['tags', 'referrers'] as const) {
  const defaults = kind === 'tags' ? DEFAULT_TAG_LIMITS : DEFAULT_REFERRER_LIMITS;
  const small = kind === 'tags' ? tag : descriptor;
  for (const perPage of [0, 1, 3]) {
    cases.push({
      name: `${kind}: endless pages of ${perPage} item(s) stop at the page cap`,
      route: endlessPages(kind, perPage),
      run: (client) => list(kind, client, { maxPages: 7, maxItems: 1000 }),
      code: 'REGISTRY_LIST_TOO_LONG',
      check: (t) => t.equal(server.requests.filter((r) => r.path.includes(kind === 'tags' ? '/tags/list' : '/referrers/')).length, 7, 'exactly the capped number of pages was requested'),
    });
  }
  cases.push({
    name: `${kind}: endless pages stop at the default page cap (${defaults.maxPages}) or item cap, never run on`,
    route: endlessPages(kind, 1),
    run: (client) => list(kind, client),
    code: 'REGISTRY_LIST_TOO_LONG',
    check: (t) => t.ok(server.requests.length <= defaults.maxPages + 1, `at most ${defaults.maxPages} pages (+ the ping)`),
  });
  for (const [maxItems, perPage, pagesRead] of [
    [25, 10, 3],
    [10, 10, 2],
    [1, 2, 1],
  ] as const) {
    cases.push({
      name: `${kind}: pages of ${perPage} stop at ${maxItems} items in total`,
      route: endlessPages(kind, perPage),
      run: (client) => list(kind, client, { maxItems, maxPages: 100 }),
      code: 'REGISTRY_LIST_TOO_LONG',
      check: (t) => t.equal(server.requests.filter((r) => r.method === 'GET' && r.path !== '/v2/').length, pagesRead, `reading stopped on page ${pagesRead}`),
    });
  }
  for (const count of [1_000_000, Infinity]) {
    for (const [label, item] of [
      ['tiny items', (i: number) => (kind === 'tags' ? `"${i % 10}"` : '{}')],
      ['real items', small],
    ] as const) {
      cases.push({
        name: `${kind}: one page of ${count === Infinity ? 'endless' : 'a million'} ${label} is refused while streaming`,
        route: streamedPage(kind, count, item),
        run: (client) => list(kind, client, { maxItems: 500 }),
        code: 'REGISTRY_LIST_TOO_LONG',
        check: async (t) => {
          await server.streamsSettled();
          t.equal(server.streams.length, 1);
          // A finite page of a few MB can sit whole in loopback socket buffers; an endless one shows the reading stopped.
          if (count === Infinity) t.equal(server.streams[0]!.finished, false, 'the server never got to the end of the page');
        },
      });
    }
  }
  cases.push({
    name: `${kind}: a page with a string bigger than the byte cap`,
    route: registry(({ path }) =>
      path.startsWith('/v2/') ? { status: 200, headers: INDEX, stream: () => jsonItems('{"tags":["', () => 'x'.repeat(1024), '"]}', Infinity, 64) } : undefined,
    ),
    run: (client) => list(kind, client, { maxBytes: 256 * 1024 }),
    code: 'REGISTRY_LIST_TOO_LONG',
  });
  cases.push({
    name: `${kind}: pages that add up past the byte cap`,
    route: endlessPages(kind, 50),
    run: (client) => list(kind, client, { maxBytes: 20_000, maxPages: 1000, maxItems: 100_000 }),
    code: 'REGISTRY_LIST_TOO_LONG',
  });
  cases.push({
    name: `${kind}: a page nested deeper than ${MANIFEST_JSON_LIMITS.maxDepth} levels`,
    route: registry(({ path }) => (path.startsWith('/v2/') ? { status: 200, headers: INDEX, stream: () => nested('{"tags":', 1_000_000, '}') } : undefined)),
    run: (client) => list(kind, client),
    code: 'REGISTRY_RESPONSE_TOO_LARGE',
  });
  cases.push({
    name: `${kind}: a next link pointing back at a page already read`,
    route: registry(({ path }) => (path.startsWith('/v2/') ? { status: 200, headers: { ...INDEX, link: `<${path}>; rel="next"` }, body: '{"tags":[],"manifests":[]}' } : undefined)),
    run: (client) => list(kind, client),
    code: 'REGISTRY_PROTOCOL',
  });
  cases.push({
    name: `${kind}: a next link to another host is refused, not followed and not taken as the end`,
    route: registry(({ path }) => (path.startsWith('/v2/') ? { status: 200, headers: { ...INDEX, link: `<http://${foreign.host}${path}?more>; rel="next"` }, body: '{"tags":[],"manifests":[]}' } : undefined)),
    run: (client) => list(kind, client),
    code: 'REGISTRY_PROTOCOL',
    check: (t) => t.equal(foreign.requests.length, 0, 'the other host was never asked'),
  });
  cases.push({
    name: `${kind}: a page that is not JSON`,
    route: registry(({ path }) => (path.startsWith('/v2/') ? { status: 200, headers: INDEX, body: '{"tags":["a"]} trailing' } : undefined)),
    run: (client) => list(kind, client),
    code: 'REGISTRY_PROTOCOL',
  });
}

// The tag-schema fallback index is a list too.
for (const count of [1_000_000, Infinity]) cases.push({
  name: `referrers fallback: a tag-schema index of ${count === Infinity ? 'endless' : 'a million'} descriptors is refused while streaming`,
  route: registry(({ method, path }) => {
    if (path.startsWith(`/v2/${REPO}/referrers/`)) return { status: 404, body: '{}' };
    if (path === `/v2/${REPO}/manifests/sha256-${digestHex(SUBJECT)}`) {
      if (method === 'HEAD') return { status: 200, headers: { 'content-type': MediaType.imageIndex } };
      return { status: 200, headers: INDEX, stream: () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, () => '{}', ']}', count) };
    }
    return undefined;
  }),
  run: (client) => client.referrers(REPO, SUBJECT, { maxItems: 100 }),
  code: 'REGISTRY_LIST_TOO_LONG',
  check: async (t) => {
    await server.streamsSettled();
    t.equal(server.streams.length, 1, 'one index was streamed');
    if (count === Infinity) t.equal(server.streams[0]?.finished, false, 'the index was not read to its end');
  },
});

// Manifests and indexes: every array in them is bounded, and so are depth and size.
const manifestStream = (body: () => Iterable<string>): Route =>
  registry(({ path }) => (path.startsWith(`/v2/${REPO}/manifests/`) ? { status: 200, headers: { 'content-type': MediaType.imageIndex }, stream: body } : undefined));
for (const [name, body, code, run, endless] of [
  [`an index of a million platform manifests (150 MB)`, () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, descriptor, ']}', 1_000_000), 'REGISTRY_LIST_TOO_LONG', undefined, true],
  [`an index of a million tiny manifests (3 MB)`, () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, () => '{}', ']}', 1_000_000), 'REGISTRY_LIST_TOO_LONG', undefined, false],
  [`an image with ${MANIFEST_JSON_LIMITS.maxArrayItems + 1} layers`, () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageManifest}","layers":[`, descriptor, ']}', MANIFEST_JSON_LIMITS.maxArrayItems + 1), 'REGISTRY_LIST_TOO_LONG', undefined, false],
  ['a .sig manifest with more layers than the caller allows', () => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageManifest}","layers":[`, descriptor, ']}', 33), 'REGISTRY_LIST_TOO_LONG', (c: RegistryClient) => c.getManifest(REPO, 'v1', { maxDescriptors: 32 }), false],
  ['annotations with a million keys', () => jsonItems(`{"schemaVersion":2,"annotations":{`, (i: number) => `"k${i}":"v"`, '}}', 1_000_000), 'REGISTRY_RESPONSE_TOO_LARGE', undefined, false],
  ['a million levels of nesting', () => nested('{"schemaVersion":2,"layers":', 1_000_000, '}'), 'REGISTRY_RESPONSE_TOO_LARGE', undefined, false],
  ['endless nesting', () => nested('{"schemaVersion":2,"layers":', Number.MAX_SAFE_INTEGER, '}'), 'REGISTRY_RESPONSE_TOO_LARGE', undefined, true],
  ['an endless annotation string', () => jsonItems('{"schemaVersion":2,"annotations":{"a":"', () => 'x'.repeat(4096), '"}}', Infinity, 16), 'REGISTRY_RESPONSE_TOO_LARGE', undefined, true],
] as const) {
  cases.push({
    name: `manifest: ${name}`,
    route: manifestStream(body),
    run: run ?? ((client) => client.getManifest(REPO, 'v1')),
    code,
    check: async (t) => {
      await server.streamsSettled();
      t.equal(server.streams.length, 1, 'one manifest was streamed');
      if (endless) t.equal(server.streams[0]?.finished, false, 'reading stopped long before the end');
    },
  });
}

// Error bodies, blobs, redirects, tokens, challenges, retries.
cases.push({
  name: 'an endless 404 body on a blob GET is cut at the error-body cap, not the blob cap',
  route: registry(({ path }) => (path.includes('/blobs/') ? { status: 404, stream: () => jsonItems('{"errors":[', () => '{"code":"BLOB_UNKNOWN","message":"' + 'x'.repeat(1000) + '"}', ']}', Infinity, 16) } : undefined)),
  run: (client) => client.getBlob(REPO, SUBJECT),
  code: 'REGISTRY_NOT_FOUND',
  check: async (t) => {
    await server.streamsSettled();
    t.equal(server.streams[0]?.finished, false, 'the error body was not read to an end');
  },
});
cases.push({
  name: 'an endless blob without Content-Length stops at the byte cap',
  route: registry(({ path }) => (path.includes('/blobs/') ? { status: 200, stream: function* () { for (;;) yield Buffer.alloc(65536, 1); } } : undefined)),
  run: (client) => client.getBlob(REPO, SUBJECT, { maxBytes: 1024 * 1024 }),
  code: 'REGISTRY_RESPONSE_TOO_LARGE',
});
for (const [name, body] of [
  ['nested a million levels', () => nested('', 1_000_000, '')],
  ['with a million-item list', () => jsonItems('{"tlogEntries":[', () => '{}', ']}', 1_000_000)],
] as const) {
  cases.push({
    name: `a JSON blob ${name} is refused while streaming when the caller gives JSON limits`,
    route: registry(({ path }) => (path.includes('/blobs/') ? { status: 200, stream: body } : undefined)),
    run: (client) => client.getBlob(REPO, SUBJECT, { maxBytes: 16 * 1024 * 1024, json: { maxDepth: 32, maxArrayItems: 1024, maxValues: 20_000 } }),
    code: name.startsWith('nested') ? 'REGISTRY_RESPONSE_TOO_LARGE' : 'REGISTRY_LIST_TOO_LONG',
  });
}
cases.push({
  name: 'an endless chain of redirects stops at the redirect cap',
  route: registry(({ path }) => (path.includes('/blobs/') ? { status: 307, headers: { location: `${path.split('?')[0]}?hop=${server.requests.length}` } } : undefined)),
  run: (client) => client.getBlob(REPO, SUBJECT),
  code: 'REGISTRY_REDIRECT',
  check: (t) => t.equal(server.requests.filter((r) => r.path.includes('/blobs/')).length, 6, 'the first request and 5 redirects'),
});
for (const retryAfter of ['3601', '9'.repeat(400), 'Fri, 31 Dec 9999 23:59:59 GMT']) {
  cases.push({
    name: `Retry-After ${retryAfter.slice(0, 20)} beyond the limit fails instead of waiting`,
    route: registry(({ path }) => (path.includes('/manifests/') ? { status: 429, headers: { 'retry-after': retryAfter } } : undefined)),
    clientOptions: { maxAttempts: 3, maxRetryAfterMs: 3600_000 - 1000 },
    run: (client) => client.getManifest(REPO, 'v1'),
    code: 'REGISTRY_BUSY',
  });
}

/** A registry that asks for Bearer tokens from a token server on the same host, which answers with `token`. */
function tokenRegistry(token: () => Iterable<string>, status = 200): Route {
  return ({ path }) => {
    if (path.startsWith('/token')) return { status, headers: { 'content-type': 'application/json' }, stream: token };
    return { status: 401, headers: { 'www-authenticate': `Bearer realm="http://${server.host}/token",service="hostile"` }, body: '{}' };
  };
}
for (const [name, token, code] of [
  ['an endless token answer', () => jsonItems('{"token":"', () => 'x'.repeat(4096), '"}', Infinity, 4), 'REGISTRY_RESPONSE_TOO_LARGE'],
  ['a token answer nested a million levels', () => nested('{"token":"t","x":', 1_000_000, '}'), 'REGISTRY_RESPONSE_TOO_LARGE'],
  ['a token answer with a million fields', () => jsonItems('{', (i: number) => `"f${i}":1`, ',"token":"t"}', 1_000_000), 'REGISTRY_RESPONSE_TOO_LARGE'],
  ['a token with a line break (header injection)', () => ['{"token":"abc\\r\\nx-evil: 1"}'], 'REGISTRY_PROTOCOL'],
  ['a token larger than a header may be', () => [`{"token":"${'t'.repeat(17 * 1024)}"}`], 'REGISTRY_PROTOCOL'],
  ['a token answer that is not JSON', () => ['token=abc'], 'REGISTRY_PROTOCOL'],
] as const) {
  cases.push({ name: `token server: ${name}`, route: tokenRegistry(token), run: (client) => client.getManifest(REPO, 'v1'), code });
}
cases.push({
  name: 'a WWW-Authenticate challenge longer than the cap is not parsed',
  route: () => ({ status: 401, headers: { 'www-authenticate': `Bearer realm="http://${server.host}/token",service="${'s'.repeat(8000)}"` }, body: '{}' }),
  run: (client) => client.ping(),
  code: 'REGISTRY_AUTH_UNSUPPORTED',
});

t.test('every attack fails with its code after reading no more than the caps', async (t) => {
  t.ok(cases.length >= 50, `${cases.length} generated cases`);
  for (const attack of cases) {
    await t.test(attack.name, async (t) => {
      server.requests.length = 0;
      server.streams.length = 0;
      foreign.requests.length = 0;
      server.route(attack.route);
      const client = newClient(attack.clientOptions);
      const error = await attack.run(client).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.ok(error instanceof CatalogError, `fails with a CatalogError: ${String(error)}`);
      t.equal((error as CatalogError).code, attack.code, (error as Error).message);
      t.notMatch((error as Error).message, /\n\s+at /, 'no stack trace in the message');
      await client.close();
      await attack.check?.(t);
      await server.streamsSettled();
    });
  }
});

t.test('legitimate lists at the caps still read in full', async (t) => {
  // Pages stop when there is no next link: serve exactly 3 pages of 10.
  server.route(
    registry(({ path }) => {
      const page = Number(/[?&]page=(\d+)/.exec(path)?.[1] ?? 0);
      const items = Array.from({ length: 10 }, (_, i) => tag(page * 10 + i));
      const link = page < 2 ? { link: `</v2/${REPO}/tags/list?page=${page + 1}>; rel="next"` } : {};
      return { status: 200, headers: link, body: `{"tags":[${items.join(',')}]}` };
    }),
  );
  const tags = await newClient().listTags(REPO, { maxItems: 30, maxPages: 3 });
  t.equal(tags.length, 30, 'exactly at the item and page caps: all 30 tags');
  t.same(tags.slice(0, 2), ['v0', 'v1']);

  server.route(streamedPage('referrers', 500, descriptor));
  const referrers = await newClient().referrers(REPO, SUBJECT, { maxItems: 500 });
  t.equal(referrers.manifests.length, 500, 'a single page of exactly maxItems descriptors');
  t.equal(referrers.source, 'api');

  server.route(manifestStream(() => jsonItems(`{"schemaVersion":2,"mediaType":"${MediaType.imageIndex}","manifests":[`, descriptor, ']}', MANIFEST_JSON_LIMITS.maxArrayItems)));
  const index = await newClient().getManifest(REPO, 'v1');
  t.equal((index.manifest as { manifests: unknown[] }).manifests.length, MANIFEST_JSON_LIMITS.maxArrayItems, 'an index at the descriptor cap is read');
  server.route(undefined);
});

t.test('an error body is read only up to its cap and still reported', async (t) => {
  const message = 'y'.repeat(100);
  server.route(registry(({ path }) => (path.includes('/manifests/') ? { status: 403, body: `{"errors":[{"code":"DENIED","message":"${message}"}]}${' '.repeat(2 * MAX_ERROR_BODY_BYTES)}` } : undefined)));
  const error = (await newClient().getManifest(REPO, 'v1').catch((e: unknown) => e)) as CatalogError;
  t.equal(error.code, 'REGISTRY_DENIED');
  // The body was cut mid-whitespace, so it is not JSON any more: the status still says what happened.
  t.match(error.message, /access denied \(HTTP 403\)/);
  server.route(undefined);
});

t.test("upload and cancel URLs on another host never get the registry's credentials", async (t) => {
  const digest: Digest = sha256Digest('blob');
  // The registry wants Basic credentials on every request, so each one the client sends carries them.
  server.route(({ method, path, headers }) => {
      if (headers.authorization === undefined) return { status: 401, headers: { 'www-authenticate': 'Basic realm="hostile"' } };
      if (path === '/v2/') return { status: 200, body: '{}' };
      if (method === 'HEAD' && path.includes('/blobs/')) return { status: 404 };
      if (method === 'POST' && path.includes('mount=')) return { status: 202, headers: { location: `http://${foreign.host}/v2/${REPO}/blobs/uploads/cancel-me` } };
      if (method === 'POST') return { status: 202, headers: { location: `http://${foreign.host}/v2/${REPO}/blobs/uploads/steal` } };
      return undefined;
  });
  foreign.requests.length = 0;
  const client = newClient({ credentials: { username: 'u', password: 'secret' } });
  t.equal(await client.mountBlob(REPO, digest, 'other/repo'), false, 'a declined mount is reported');
  const error = (await client.uploadBlob(REPO, digest, Buffer.from('blob')).catch((e: unknown) => e)) as CatalogError;
  t.equal(error.code, 'REGISTRY_PROTOCOL', 'an upload session on another host is refused');
  t.ok(server.requests.some((r) => r.authorization?.startsWith('Basic ')), 'the registry itself got the credentials');
  t.equal(foreign.requests.length, 0, 'the other host was never contacted, with or without credentials');
  server.route(undefined);
});

t.test("a registry's challenge cannot widen the token's scope", async (t) => {
  const tokenRequests: string[] = [];
  let issued = 0;
  server.route(({ path, headers }) => {
    if (path.startsWith('/token')) {
      tokenRequests.push(path);
      return { status: 200, body: JSON.stringify({ token: `token-${++issued}` }) };
    }
    // The first token is "not enough": the registry answers 401 and asks for more scopes than were requested.
    if (path.includes('/manifests/') && headers.authorization !== undefined && headers.authorization !== 'Bearer token-1') return { status: 404, body: '{}' };
    const scope = 'repository:hostile/app:pull repository:other/repo:pull,push registry:catalog:* repository:hostile/app:push';
    return { status: 401, headers: { 'www-authenticate': `Bearer realm="http://${server.host}/token",service="hostile",scope="${scope}"` }, body: '{}' };
  });
  const error = (await newClient().getManifest(REPO, 'v1').catch((e: unknown) => e)) as CatalogError;
  t.equal(error.code, 'REGISTRY_NOT_FOUND', 'the second token was accepted');
  t.equal(tokenRequests.length, 2, 'a token, then a fresh one after the 401');
  for (const request of tokenRequests) {
    const scopes = new URL(request, 'http://x').searchParams.getAll('scope');
    t.same([...new Set(scopes)], ['repository:hostile/app:pull'], `only the pull scope of the repository read: ${request}`);
  }
  server.route(undefined);
});

t.test('a redirect with an endless body is followed without reading the body', async (t) => {
  const blob = Buffer.from('the real blob');
  const digest = sha256Digest(blob);
  server.streams.length = 0;
  server.route(
    registry(({ path }) => {
      if (path.startsWith('/cdn/')) return { status: 200, body: blob };
      if (path.includes('/blobs/')) return { status: 307, headers: { location: `/cdn${path}` }, stream: function* () { for (;;) yield 'x'.repeat(65536); } };
      return undefined;
    }),
  );
  t.ok((await newClient().getBlob(REPO, digest)).equals(blob), 'the redirect was followed');
  await server.streamsSettled();
  t.equal(server.streams[0]?.finished, false, 'and its endless body was not read');
  server.route(undefined);
});
