import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { isLoopbackHost } from './reference.ts';

/**
 * Which token servers may receive a registry's credentials. A registry names
 * its token server (the Bearer `realm`) itself, so a hostile or compromised
 * registry could name any host and collect the docker-config password sent
 * there. Credentials go only to a realm
 *  - over https (plain http only on a loopback host),
 *  - on the registry's own host (any port), or on a host under the same
 *    registrable domain by the Public Suffix List, private section included
 *    (auth.docker.io for registry-1.docker.io; but never a.github.io for
 *    b.github.io, which belong to two different owners),
 *  - or listed explicitly by its origin in the configuration.
 * Anonymous token requests carry no secret and go to any https realm, so
 * public registries whose token server lives elsewhere keep working.
 */
export interface RealmPolicy {
  /** Origins (https://host[:port]) allowed although they are on another domain. */
  trusted: readonly string[];
  /** How the person who sees a refusal adds a realm, e.g. 'the verify-image param "trusted-token-realms"'. */
  setting: string;
}

export const DEFAULT_REALM_SETTING = 'the trusted token realms of the registry client (option trustedTokenRealms)';

/** Parses the configured list: each entry `https://host[:port]` or a bare `host[:port]`, meaning https. */
export function parseTrustedRealms(entries: readonly string[], setting = DEFAULT_REALM_SETTING): string[] {
  return entries.map((entry) => {
    const fail = (rule: string): never => {
      throw new CatalogError('CONFIG_TRUSTED_TOKEN_REALMS', `${setting} lists ${quoteUntrusted(entry, 120)}, which ${rule}`, {
        hint: 'write each token server as its origin, e.g. https://auth.example.com or https://auth.example.com:8443',
      });
    };
    const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `https://${entry}`;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return fail('is not a URL');
    }
    if (url.username !== '' || url.password !== '') fail('holds user info');
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || /[?#]/.test(entry)) fail('has a path, query or fragment: only the origin is listed');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) fail('is not https (plain http only for a loopback host)');
    return url.origin;
  });
}

/** Parses the realm a registry named; any URL it could not mean honestly is refused. */
export function parseRealm(realm: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new CatalogError('REGISTRY_AUTH_UNSUPPORTED', `${where}: the token realm ${quoteUntrusted(realm, 120)} is not a URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // https://ghcr.io@evil.example/ reads as ghcr.io to a person and as evil.example to a URL parser.
    throw new CatalogError('REGISTRY_REALM_REFUSED', `${where}: the token realm ${quoteUntrusted(realm, 120)} holds user info; refused`, {
      hint: 'a token server URL never carries a user name; the registry is misconfigured or hostile',
    });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    throw new CatalogError('REGISTRY_REALM_REFUSED', `${where}: the token realm ${quoteUntrusted(url.origin, 120)} is not https; refused`, {
      hint: 'token servers are reached over TLS; plain http only on a loopback test host',
    });
  }
  return url;
}

/**
 * Throws REGISTRY_REALM_REFUSED unless `realm` may receive the credentials
 * of the registry reached at `registryHosts` (the name as written and the
 * host its API answers on: docker.io and registry-1.docker.io).
 */
export async function assertRealmMayReceiveCredentials(realm: URL, registryHosts: readonly string[], policy: RealmPolicy, where: string): Promise<void> {
  if (policy.trusted.includes(realm.origin)) return;
  const realmHost = hostnameOf(realm.host);
  const hosts = registryHosts.map(hostnameOf);
  if (hosts.includes(realmHost)) return;
  if (await sameRegistrableDomain(realmHost, hosts)) return;
  throw new CatalogError(
    'REGISTRY_REALM_REFUSED',
    `${where}: the registry sent us to token server ${quoteUntrusted(realm.origin, 120)}, which is neither on the registry's host nor under its registrable domain; the registry's credentials were not sent there. If that server really issues this registry's tokens, list ${quoteUntrusted(realm.origin, 120)} in ${policy.setting}`,
    { hint: `list the token server's origin in ${policy.setting}, or check that the registry is the one you meant` },
  );
}

/** The host without port or brackets, lower-case; WHATWG URL has already turned IDN labels into punycode. */
function hostnameOf(hostWithPort: string): string {
  const host = hostWithPort.startsWith('[') ? hostWithPort.slice(0, hostWithPort.indexOf(']') + 1) : hostWithPort.replace(/:\d*$/, '');
  return new URL(`https://${host}`).hostname.toLowerCase();
}

async function sameRegistrableDomain(realmHost: string, registryHosts: readonly string[]): Promise<boolean> {
  // Only names DNS could resolve: an IP literal, an empty label ("a..example.com") or a stray character is compared exactly or not at all.
  if (isIpLiteral(realmHost) || !isDnsName(realmHost)) return false;
  // Loaded only here: the Public Suffix List is large, and most registries name a realm on their own host.
  const { registrableDomain } = await import('./registrable-domain.ts');
  const realmDomain = registrableDomain(realmHost);
  if (realmDomain === undefined) return false;
  return registryHosts.some((host) => !isIpLiteral(host) && isDnsName(host) && registrableDomain(host) === realmDomain);
}

function isDnsName(hostname: string): boolean {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name.length <= 253 && name.split('.').every((label) => /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label));
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
}
