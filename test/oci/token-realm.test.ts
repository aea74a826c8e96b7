// Which token servers may receive a registry's credentials: a generated
// table of registry / realm pairs (same host, other port, subdomains,
// siblings, public-suffix siblings, look-alikes, IP literals, user-info
// tricks, http, IDN), plus the configured allow-list and the challenge parser.
import t from 'tap';
import { CatalogError } from '../../src/errors.ts';
import { acceptableChallengeScopes, parseChallenge, MAX_CHALLENGE_CHARS } from '../../src/oci/registry/auth.ts';
import { assertRealmMayReceiveCredentials, parseRealm, parseTrustedRealms } from '../../src/oci/registry/token-realm.ts';

const SETTING = 'the test setting "trusted-token-realms"';

/** Registries as written in a reference, the host their API answers on, and their registrable domain (by hand, from the PSL). */
const REGISTRIES = [
  { name: 'ghcr.io', api: 'ghcr.io', domain: 'ghcr.io', label: 'ghcr' },
  { name: 'registry.example.com', api: 'registry.example.com', domain: 'example.com', label: 'example' },
  { name: 'registry.example.com:5000', api: 'registry.example.com:5000', domain: 'example.com', label: 'example' },
  { name: 'docker.io', api: 'registry-1.docker.io', domain: 'docker.io', label: 'docker' },
  { name: 'registry.gitlab.com', api: 'registry.gitlab.com', domain: 'gitlab.com', label: 'gitlab' },
  // Private-section suffixes: each customer's subdomain is its own registrable domain.
  { name: 'alice.github.io', api: 'alice.github.io', domain: 'alice.github.io', label: 'alice', suffix: 'github.io' },
  { name: 'cr.alice.herokuapp.com', api: 'cr.alice.herokuapp.com', domain: 'alice.herokuapp.com', label: 'alice', suffix: 'herokuapp.com' },
  { name: 'registry.shop.co.uk', api: 'registry.shop.co.uk', domain: 'shop.co.uk', label: 'shop', suffix: 'co.uk' },
  { name: 'xn--bcher-kva.example', api: 'xn--bcher-kva.example', domain: 'xn--bcher-kva.example', label: 'xn--bcher-kva' },
] as const;

type Expect = 'allowed' | 'refused';
interface RealmCase {
  registry: (typeof REGISTRIES)[number] | { name: string; api: string };
  realm: string;
  expect: Expect;
  why: string;
}

const cases: RealmCase[] = [];
for (const registry of REGISTRIES) {
  const host = registry.api.replace(/:\d+$/, '');
  const allowed = (realm: string, why: string) => cases.push({ registry, realm, expect: 'allowed', why });
  const refused = (realm: string, why: string) => cases.push({ registry, realm, expect: 'refused', why });
  allowed(`https://${host}/token`, 'same host');
  allowed(`https://${host}:8443/token`, 'same host, other port');
  allowed(`https://${host.toUpperCase()}/token`, 'same host, upper case');
  allowed(`https://${host}./token`, 'same host, fully qualified with a trailing dot');
  allowed(`https://auth.${registry.domain}/token`, 'sibling under the registrable domain');
  allowed(`https://a.b.auth.${registry.domain}/token`, 'deep subdomain of the registrable domain');
  allowed(`https://${registry.domain}/v2/token`, 'the registrable domain itself');
  refused(`http://${host}/token`, 'plain http, not loopback');
  refused(`https://${host}.evil.example/token`, 'registry name as a prefix of another domain');
  refused(`https://${registry.domain}.evil.example/token`, 'registrable domain as a prefix of another domain');
  refused(`https://evil-${registry.domain}/token`, 'look-alike with a hyphen');
  refused(`https://${registry.label}x.${'suffix' in registry ? registry.suffix : 'io'}/token`, 'look-alike label');
  refused(`https://${host}@evil.example/token`, 'user-info trick: the registry name as user');
  refused(`https://${host}:pass@evil.example/token`, 'user-info trick with a password');
  refused(`https://user@${host}/token`, 'user info even on the own host');
  refused(`https://evil.example\\@${host}/token`, 'backslash user-info trick (read as a path)');
  refused(`https://evil.example/${host}/token`, 'registry name in the path');
  refused(`https://evil.example/token?host=${host}`, 'registry name in the query');
  refused('https://1.2.3.4/token', 'an IP literal');
  refused('https://[2001:db8::1]/token', 'an IPv6 literal');
  refused('https://169.254.169.254/latest/meta-data', 'the cloud metadata address');
  refused('https://localhost/token', 'localhost');
  refused(`https://${registry.domain.replace(/^[a-z]/, (first) => (first === 'q' ? 'z' : 'q'))}/token`, 'one letter changed');
  refused(`https://a..${registry.domain}/token`, 'an empty label');
  if ('suffix' in registry) {
    refused(`https://bob.${registry.suffix}/token`, 'another customer under the same public suffix');
    refused(`https://${registry.suffix}/token`, 'the public suffix itself');
  }
}
// IDN: WHATWG URL turns Unicode into punycode; the same name is the same host, a homoglyph is not.
cases.push({ registry: REGISTRIES[8], realm: 'https://auth.bücher.example/token', expect: 'allowed', why: 'Unicode form of the same registrable domain' });
cases.push({ registry: REGISTRIES[8], realm: 'https://auth.bucher.example/token', expect: 'refused', why: 'the ASCII look-alike' });
cases.push({ registry: REGISTRIES[0], realm: 'https://gһcr.io/token', expect: 'refused', why: 'Cyrillic һ homoglyph (xn--gcr-2sd.io)' });
cases.push({ registry: REGISTRIES[0], realm: 'https://xn--gcr-2sd.io/token', expect: 'refused', why: 'the homoglyph in punycode' });
cases.push({ registry: REGISTRIES[0], realm: 'https://%67hcr.io/token', expect: 'allowed', why: 'percent-encoded host that decodes to the same host' });
// Loopback: plain http is allowed there, but each loopback address and name is its own host.
const LOOPBACK = { name: '127.0.0.1:5000', api: '127.0.0.1:5000' };
for (const [realm, expect, why] of [
  ['http://127.0.0.1:5001/token', 'allowed', 'loopback token server on another port (http allowed on loopback)'],
  ['https://127.0.0.1/token', 'allowed', 'same address over https'],
  ['http://2130706433:5001/token', 'allowed', 'the same address written as a number'],
  ['http://0x7f.0.0.1:5001/token', 'allowed', 'the same address in hex'],
  ['http://127.0.0.2:5001/token', 'refused', 'another loopback address'],
  ['http://localhost:5001/token', 'refused', 'localhost is another name'],
  ['http://[::1]:5001/token', 'refused', 'IPv6 loopback is another address'],
  ['http://[::ffff:127.0.0.1]:5001/token', 'refused', 'IPv4-mapped IPv6 is not a loopback host by our rule'],
  ['http://127.0.0.1.evil.example/token', 'refused', 'a DNS name starting with the address'],
] as const) {
  cases.push({ registry: LOOPBACK, realm, expect, why });
}
cases.push({ registry: { name: 'localhost:5000', api: 'localhost:5000' }, realm: 'http://127.0.0.1:5001/token', expect: 'refused', why: 'localhost registry, 127.0.0.1 realm' });
cases.push({ registry: { name: 'registry', api: 'registry' }, realm: 'https://auth/token', expect: 'refused', why: 'single-label hosts have no registrable domain' });
cases.push({ registry: { name: 'registry', api: 'registry' }, realm: 'https://registry/token', expect: 'allowed', why: 'single-label host, same host' });

async function decide(registry: RealmCase['registry'], realm: string, trusted: string[] = []): Promise<{ outcome: Expect; error?: CatalogError }> {
  try {
    const url = parseRealm(realm, 'test');
    await assertRealmMayReceiveCredentials(url, [registry.api, registry.name], { trusted: parseTrustedRealms(trusted, SETTING), setting: SETTING }, 'test');
    return { outcome: 'allowed' };
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    return { outcome: 'refused', error };
  }
}

t.test('generated registry / realm pairs', async (t) => {
  t.ok(cases.length >= 200, `${cases.length} pairs`);
  for (const { registry, realm, expect, why } of cases) {
    const { outcome, error } = await decide(registry, realm);
    t.equal(outcome, expect, `${registry.name} → ${realm}: ${why}`);
    if (error !== undefined) {
      t.ok(['REGISTRY_REALM_REFUSED', 'REGISTRY_AUTH_UNSUPPORTED'].includes(error.code), `a clear code: ${error.code}`);
      if (error.code === 'REGISTRY_REALM_REFUSED' && !/user info|not https/.test(error.message)) t.match(error.message, SETTING, 'the refusal names the setting that allows it');
    }
  }
});

t.test('an origin listed in the configuration is allowed, and only that origin', async (t) => {
  const registry = REGISTRIES[1];
  t.equal((await decide(registry, 'https://auth.vendor.example/token', ['https://auth.vendor.example'])).outcome, 'allowed', 'listed origin');
  t.equal((await decide(registry, 'https://auth.vendor.example/token', ['auth.vendor.example'])).outcome, 'allowed', 'a bare host means https');
  t.equal((await decide(registry, 'https://auth.vendor.example:8443/token', ['https://auth.vendor.example'])).outcome, 'refused', 'another port is another origin');
  t.equal((await decide(registry, 'https://x.auth.vendor.example/token', ['https://auth.vendor.example'])).outcome, 'refused', 'a subdomain is not listed');
  t.equal((await decide(registry, 'https://auth.vendor.example@evil.example/token', ['https://auth.vendor.example'])).outcome, 'refused', 'user info still refused');
  t.equal((await decide(LOOPBACK, 'http://127.0.0.2:5001/token', ['http://127.0.0.2:5001'])).outcome, 'allowed', 'a loopback origin over http can be listed');
  for (const bad of ['http://auth.vendor.example', 'https://user@auth.vendor.example', 'https://auth.vendor.example/token', 'https://auth.vendor.example?x', 'ftp://auth.vendor.example', 'https://', '::::']) {
    const error = (() => {
      try {
        parseTrustedRealms([bad], SETTING);
        return undefined;
      } catch (e) {
        return e as CatalogError;
      }
    })();
    t.equal(error?.code, 'CONFIG_TRUSTED_TOKEN_REALMS', `refused in the configuration: ${bad}`);
    t.match(error?.message ?? '', SETTING, 'naming the setting');
  }
});

t.test('WWW-Authenticate challenges parse in one pass, and a hostile one parses to nothing', async (t) => {
  const table: [string, ReturnType<typeof parseChallenge>][] = [
    ['Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"', { scheme: 'bearer', realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' }],
    ['bearer   realm="https://a/t" , service="s"', { scheme: 'bearer', realm: 'https://a/t', service: 's' }],
    ['Bearer realm=https://a/t,service=s', { scheme: 'bearer', realm: 'https://a/t', service: 's' }],
    ['Bearer realm="https://a/t",realm="https://evil/t"', { scheme: 'bearer', realm: 'https://a/t' }],
    ['Bearer realm="https://a/\\"q\\"",error="insufficient_scope"', { scheme: 'bearer', realm: 'https://a/"q"' }],
    ['Basic realm="Registry Realm"', { scheme: 'basic', realm: 'Registry Realm' }],
    ['Basic', { scheme: 'basic' }],
    ['Negotiate abc', undefined],
    ['Bearer service="no-realm"', undefined],
    ['Bearer realm="unterminated', undefined],
    ['Bearer realm="a" service="missing comma"', undefined],
    ['Bearer =x', undefined],
    ['', undefined],
    [`Bearer realm="https://a/t",service="${'s'.repeat(MAX_CHALLENGE_CHARS)}"`, undefined],
  ];
  for (const [header, expected] of table) t.same(parseChallenge(header), expected, JSON.stringify(header.slice(0, 80)));
  // Inputs that make backtracking patterns quadratic or worse: each must simply give an answer.
  for (const piece of ['a', 'a=', '"', '\\', 'a="', ',', ' ', 'a=a,']) {
    const header = `Bearer ${piece.repeat(Math.floor((MAX_CHALLENGE_CHARS - 7) / piece.length))}`;
    const parsed = parseChallenge(header);
    t.ok(parsed === undefined || parsed.scheme === 'bearer', `${JSON.stringify(piece)} × ${header.length} chars gives an answer`);
  }
});

t.test('challenge scopes are added to a token request only within what was asked', async (t) => {
  const asked = ['repository:a/b:pull'];
  t.same(acceptableChallengeScopes('repository:a/b:pull', asked), ['repository:a/b:pull']);
  t.same(acceptableChallengeScopes('repository:a/b:pull,push', asked), [], 'no push when only pull was asked');
  t.same(acceptableChallengeScopes('repository:a/c:pull', asked), [], 'no other repository');
  t.same(acceptableChallengeScopes('registry:catalog:*', asked), [], 'no catalog');
  t.same(acceptableChallengeScopes('repository:a/b:*', asked), [], 'no wildcard');
  t.same(acceptableChallengeScopes('repository:a/b:pull repository:a/b:delete', asked), ['repository:a/b:pull'], 'each scope judged on its own');
  t.same(acceptableChallengeScopes('repository:x/y:pull', ['repository:a/b:pull,push', 'repository:x/y:pull']), ['repository:x/y:pull'], 'a mount source asked for');
  t.same(acceptableChallengeScopes(undefined, asked), []);
});
