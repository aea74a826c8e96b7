import { RegistryClient, type RegistryClientOptions } from './client.ts';

/** How a step or command reaches registries: the same for every registry it talks to, except plain HTTP, which is per host. */
export interface RegistryAccessOptions {
  /** A docker config.json with credentials (exact host match). */
  dockerConfigPath?: string;
  /** How messages name the docker config, e.g. 'the docker-config workspace'. */
  dockerConfigSetting?: string;
  /** Registries reached over plain HTTP; the client refuses any that is not loopback. */
  plainHttpRegistries?: readonly string[];
  /** How refusals name the setting above, e.g. 'the verify-image param "plain-http-registries"'. */
  plainHttpSetting?: string;
  /** Token servers (origins) that may receive credentials although they are on another domain than the registry. */
  trustedTokenRealms?: readonly string[];
  /** How a realm refusal names the setting above, e.g. 'the verify-image param "trusted-token-realms"'. */
  trustedTokenRealmsSetting?: string;
  timeoutMs?: number;
  maxAttempts?: number;
  maxManifestBytes?: number;
}

/** The registry client options for one registry: every step and command that reads registries builds its clients here. */
export function registryClientOptions(access: RegistryAccessOptions, registry: string): RegistryClientOptions {
  return {
    plainHttp: access.plainHttpRegistries?.includes(registry) ?? false,
    ...(access.plainHttpSetting === undefined ? {} : { plainHttpSetting: access.plainHttpSetting }),
    ...(access.dockerConfigPath === undefined ? {} : { dockerConfigPath: access.dockerConfigPath }),
    ...(access.dockerConfigSetting === undefined ? {} : { dockerConfigSetting: access.dockerConfigSetting }),
    ...(access.timeoutMs === undefined ? {} : { timeoutMs: access.timeoutMs, connectTimeoutMs: access.timeoutMs }),
    ...(access.maxAttempts === undefined ? {} : { maxAttempts: access.maxAttempts }),
    ...(access.maxManifestBytes === undefined ? {} : { maxManifestBytes: access.maxManifestBytes }),
    ...(access.trustedTokenRealms === undefined ? {} : { trustedTokenRealms: access.trustedTokenRealms }),
    ...(access.trustedTokenRealmsSetting === undefined ? {} : { trustedTokenRealmsSetting: access.trustedTokenRealmsSetting }),
  };
}

/**
 * One RegistryClient per registry, made on first use and shared by whoever
 * holds the pool: the connections, the Bearer tokens and the credentials read
 * from the docker config are the registry's, not each caller's.
 */
export class RegistryClientPool {
  private readonly access: RegistryAccessOptions;
  private readonly clients = new Map<string, RegistryClient>();

  constructor(access: RegistryAccessOptions = {}) {
    this.access = access;
  }

  client(registry: string): RegistryClient {
    let client = this.clients.get(registry);
    if (client === undefined) {
      client = new RegistryClient(registry, registryClientOptions(this.access, registry));
      this.clients.set(registry, client);
    }
    return client;
  }

  /** Closes every client's connections; a client asked for afterwards is a new one. */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((client) => client.close()));
  }
}
