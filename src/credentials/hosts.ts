import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode } from './errors.ts';

/**
 * Host scoping. An allowed host is a DNS name or IPv4 address, optionally
 * with a port, lower case, without scheme, path or wildcard. Matching is
 * exact after normalisation: "ghcr.io" does not match "evil.ghcr.io" nor
 * "ghcr.io:443" (a port is part of the host).
 */
export interface AllowedHost {
  /** host[:port], normalised; Docker Hub aliases become "docker.io". */
  readonly key: string;
  readonly hostname: string;
  readonly port: number | undefined;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_RE = new RegExp(`^(${LABEL}(?:\\.${LABEL})*)(?::(\\d{1,5}))?$`);
export const MAX_ALLOWED_HOSTS = 16;

/** Every name Docker Hub goes by in a docker config or an image reference. */
export const DOCKER_HUB_ALIASES: readonly string[] = [
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
];
export const DOCKER_HUB = 'docker.io';
/** The key docker, crane, buildah and kaniko look Docker Hub credentials up under. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

function splitHost(value: string): { hostname: string; port: number | undefined } | undefined {
  const match = HOST_RE.exec(value);
  if (!match || value.length > 253 + 6) return undefined;
  const hostname = match[1]!;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { hostname, port };
}

function canonicalKey(hostname: string, port: number | undefined): string {
  if (port === undefined && DOCKER_HUB_ALIASES.includes(hostname)) return DOCKER_HUB;
  return port === undefined ? hostname : `${hostname}:${port}`;
}

export function parseAllowedHost(value: string): AllowedHost {
  const parts = splitHost(value);
  if (!parts) {
    throw new CredentialsError(
      CredentialsErrorCode.input,
      `allowed host ${quoteUntrusted(value)} is not a lower-case host name or IPv4 address with an optional port`,
      { hint: 'give bare hosts such as "ghcr.io" or "git.example.com:2222": no scheme, path, wildcard or upper case' },
    );
  }
  return { key: canonicalKey(parts.hostname, parts.port), ...parts };
}

export function parseAllowedHosts(values: readonly string[]): AllowedHost[] {
  if (values.length > MAX_ALLOWED_HOSTS) {
    throw new CredentialsError(CredentialsErrorCode.input, `allowed-hosts lists ${values.length} hosts; at most ${MAX_ALLOWED_HOSTS} are accepted`);
  }
  const byKey = new Map<string, AllowedHost>();
  for (const value of values) {
    const host = parseAllowedHost(value);
    byKey.set(host.key, host);
  }
  return [...byKey.values()];
}

/**
 * Normalises a docker config `auths` key: drops an http(s) scheme and any
 * path ("/v1/", "/v2/"), lower-cases the host and folds Docker Hub aliases.
 * Returns undefined for keys that are not a plain host (those are dropped,
 * never matched loosely).
 */
export function normaliseRegistryKey(key: string): string | undefined {
  const withoutScheme = key.replace(/^https?:\/\//i, '');
  const host = withoutScheme.split('/')[0]!.toLowerCase();
  const parts = splitHost(host);
  return parts ? canonicalKey(parts.hostname, parts.port) : undefined;
}

/** The `auths` key we write for a host. */
export function registryConfigKey(host: AllowedHost): string {
  return host.key === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : host.key;
}
