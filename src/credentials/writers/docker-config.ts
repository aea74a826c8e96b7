import * as z from '../../zod.ts';
import { quoteUntrusted } from '../../errors.ts';
import { CredentialsError, CredentialsErrorCode } from '../errors.ts';
import { normaliseRegistryKey, registryConfigKey, type AllowedHost } from '../hosts.ts';
import { OutputPaths, type PlannedFile } from '../plan.ts';
import type { Redactor } from '../redactor.ts';
import { malformed, secretText, type LoadedSecret } from '../secret.ts';

/**
 * A docker config.json scoped to the allowed registries. Only `auths`
 * survives: credHelpers and credsStore would run a helper program, and
 * proxies or HttpHeaders are not credentials. Within an entry only the
 * credential fields are kept.
 */
const AuthEntrySchema = z.looseObject({
  auth: z.optional(z.string()),
  username: z.optional(z.string()),
  password: z.optional(z.string()),
  identitytoken: z.optional(z.string()),
  registrytoken: z.optional(z.string()),
});
const DockerConfigSchema = z.looseObject({ auths: z.record(z.string(), AuthEntrySchema) });

interface RegistryCredential {
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

const KEY = '.dockerconfigjson';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function dockerConfigFromSecret(secret: LoadedSecret, hosts: readonly AllowedHost[], redactor: Redactor): PlannedFile {
  const text = secretText(secret, KEY);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error: the secret.
    throw malformed(secret, KEY, 'is not valid JSON', 'recreate it with kubectl create secret docker-registry');
  }
  const parsed = DockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw malformed(secret, KEY, 'does not have an "auths" object of registry entries (strings only)');
  }
  const byHost = new Map<string, { sourceKey: string; credential: RegistryCredential }>();
  for (const [sourceKey, entry] of Object.entries(parsed.data.auths)) {
    const credential = credentialOf(secret, sourceKey, entry, redactor);
    const host = normaliseRegistryKey(sourceKey);
    if (host === undefined) continue;
    const previous = byHost.get(host);
    if (previous && JSON.stringify(previous.credential) !== JSON.stringify(credential)) {
      throw malformed(
        secret,
        KEY,
        `has different credentials for ${quoteUntrusted(previous.sourceKey)} and ${quoteUntrusted(sourceKey)}, which name the same registry`,
        'keep one entry per registry',
      );
    }
    byHost.set(host, { sourceKey, credential });
  }
  const auths: Record<string, RegistryCredential> = {};
  for (const host of hosts) {
    const found = byHost.get(host.key);
    if (!found) {
      throw new CredentialsError(
        CredentialsErrorCode.hostNotInSecret,
        `${secret.label} has no credentials for allowed host ${host.key}`,
        { hint: 'allowed-hosts must name registries present in the Secret (Docker Hub: docker.io)' },
      );
    }
    auths[registryConfigKey(host)] = found.credential;
  }
  return dockerConfigFile(auths);
}

/** basic-auth written as registry credentials for every allowed host. */
export function dockerConfigFromBasicAuth(username: string, password: string, hosts: readonly AllowedHost[], redactor: Redactor): PlannedFile {
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  redactor.add(auth);
  redactor.add(`${username}:${password}`);
  const auths: Record<string, RegistryCredential> = {};
  for (const host of hosts) auths[registryConfigKey(host)] = { auth };
  return dockerConfigFile(auths);
}

function dockerConfigFile(auths: Record<string, RegistryCredential>): PlannedFile {
  return { path: OutputPaths.dockerConfig, content: Buffer.from(`${JSON.stringify({ auths }, null, 2)}\n`, 'utf8') };
}

function credentialOf(
  secret: LoadedSecret,
  sourceKey: string,
  entry: z.infer<typeof AuthEntrySchema>,
  redactor: Redactor,
): RegistryCredential {
  for (const value of [entry.auth, entry.password, entry.identitytoken, entry.registrytoken]) {
    if (value !== undefined) redactor.add(value);
  }
  const where = `entry ${quoteUntrusted(sourceKey)}`;
  const credential: RegistryCredential = {};
  if (entry.auth !== undefined && entry.auth !== '') {
    if (!BASE64.test(entry.auth)) throw malformed(secret, KEY, `${where}: "auth" is not base64`);
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    redactor.add(decoded);
    if (!decoded.includes(':')) throw malformed(secret, KEY, `${where}: "auth" does not decode to "user:password"`);
    credential.auth = entry.auth;
  } else if (entry.username !== undefined && entry.password !== undefined && entry.password !== '') {
    const pair = `${entry.username}:${entry.password}`;
    redactor.add(pair);
    credential.auth = Buffer.from(pair, 'utf8').toString('base64');
    redactor.add(credential.auth);
  }
  if (entry.identitytoken) credential.identitytoken = entry.identitytoken;
  if (entry.registrytoken) credential.registrytoken = entry.registrytoken;
  if (Object.keys(credential).length === 0) {
    throw malformed(secret, KEY, `${where} has no credential ("auth", "username" and "password", or a token)`);
  }
  return credential;
}
