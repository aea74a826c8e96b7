import { readFile } from 'node:fs/promises';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { DOCKER_HUB } from './reference.ts';

export interface BasicCredentials {
  username: string;
  password: string;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** Keys Docker itself writes for Docker Hub. */
const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'index.docker.io/v1/']);

/**
 * Reads the credentials for one registry host from a docker `config.json`.
 * Only an exact host[:port] match counts (after dropping a scheme and path
 * from the key, the forms Docker itself writes): a key for
 * "registry.example.com" never lends its password to
 * "registry.example.com.evil.test" or to another port.
 */
/** `setting`: how a message names where the docker config comes from (a flag, a Task workspace). */
/** How the CLI's messages name the docker config. */
export const DEFAULT_DOCKER_CONFIG_SETTING = '--docker-config <config.json>';

export async function credentialsFromDockerConfig(path: string, registryHost: string, setting = DEFAULT_DOCKER_CONFIG_SETTING): Promise<BasicCredentials | undefined> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.byteLength > MAX_CONFIG_BYTES) {
      throw new CatalogError('CONFIG_DOCKER_CONFIG', `docker config ${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    }
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof CatalogError) throw error;
    throw new CatalogError('CONFIG_DOCKER_CONFIG', `cannot read docker config ${path}`, {
      hint: `give ${setting} holding a readable config.json`,
      cause: error,
    });
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    // The parser's message can quote the file, which holds secrets; say only where.
    throw new CatalogError('CONFIG_DOCKER_CONFIG', `docker config ${path} is not valid JSON`);
  }
  return credentialsFromConfigObject(config, registryHost, path);
}

export function credentialsFromConfigObject(config: unknown, registryHost: string, source = 'docker config'): BasicCredentials | undefined {
  if (typeof config !== 'object' || config === null) {
    throw new CatalogError('CONFIG_DOCKER_CONFIG', `${source} must be a JSON object`);
  }
  const auths = (config as { auths?: unknown }).auths;
  if (auths === undefined) return undefined;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new CatalogError('CONFIG_DOCKER_CONFIG', `${source}: "auths" must be an object keyed by registry host`);
  }
  const wanted = registryHost.toLowerCase();
  for (const [key, entry] of Object.entries(auths)) {
    if (!hostMatches(key, wanted)) continue;
    return parseEntry(entry, key, source);
  }
  return undefined;
}

function hostMatches(key: string, wanted: string): boolean {
  const raw = key.trim().toLowerCase();
  if (wanted === DOCKER_HUB && DOCKER_HUB_KEYS.has(raw.replace(/^https?:\/\//, ''))) return true;
  const host = raw.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === wanted;
}

function parseEntry(entry: unknown, key: string, source: string): BasicCredentials {
  const where = `${source}: auths[${quoteUntrusted(key)}]`;
  if (typeof entry !== 'object' || entry === null) throw new CatalogError('CONFIG_DOCKER_CONFIG', `${where} must be an object`);
  const { auth, username, password, identitytoken } = entry as Record<string, unknown>;
  if (typeof auth === 'string' && auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new CatalogError('CONFIG_DOCKER_CONFIG', `${where}.auth is not base64 of "username:password"`);
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof username === 'string' && username !== '' && typeof password === 'string') {
    return { username, password };
  }
  if (typeof identitytoken === 'string') {
    throw new CatalogError('CONFIG_DOCKER_CONFIG', `${where} holds an identity token, which this client does not support`, {
      hint: 'log in with a username and password (or a registry access token used as password)',
    });
  }
  throw new CatalogError('CONFIG_DOCKER_CONFIG', `${where} has neither "auth" nor "username" and "password"`);
}
