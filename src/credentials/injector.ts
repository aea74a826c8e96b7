import { CredentialsError, CredentialsErrorCode } from './errors.ts';
import { parseAllowedHosts, type AllowedHost } from './hosts.ts';
import { parseExpiry } from './marker.ts';
import type { PlannedFile } from './plan.ts';
import type { Redactor } from './redactor.ts';
import { K8S_NAME, type LoadedSecret, type SecretType } from './secret.ts';
import { readMountedSecret } from './sources/mounted.ts';
import { CredentialsWorkspace, type WrittenFile } from './workspace.ts';
import { basicAuthFiles, type BasicAuthFormat } from './writers/basic-auth.ts';
import { dockerConfigFromSecret } from './writers/docker-config.ts';
import { opaqueFiles, parseOpaqueMappings, type OpaqueMapping } from './writers/opaque.ts';
import { sshFiles, type SshOptions } from './writers/ssh.ts';

export type SecretSource =
  | { readonly kind: 'workspace'; readonly dir: string }
  | { readonly kind: 'kubernetes-api'; readonly env: NodeJS.ProcessEnv; readonly serviceAccountDir?: string; readonly timeoutMs?: number };

export interface InjectRequest {
  readonly credentialsDir: string;
  readonly source: SecretSource;
  /** Required for the API source; for a mounted Secret it only labels messages and the manifest. */
  readonly secretName: string;
  readonly secretType: SecretType;
  readonly allowedHosts: readonly string[];
  readonly basicAuthFormats: readonly BasicAuthFormat[];
  readonly opaqueFiles: readonly string[];
  /** TTL ("15m") or RFC 3339 time. */
  readonly expires: string;
  /** The injection-digest result of the previous injection into this workspace; empty for an empty workspace. */
  readonly previousDigest?: string;
  readonly ssh: SshOptions;
  readonly now?: Date;
}

export interface InjectReport {
  readonly secret: Pick<LoadedSecret, 'label' | 'type' | 'source'>;
  readonly written: WrittenFile[];
  /** sha256:<hex> of the workspace as read back after writing: the injection-digest result. */
  readonly digest: string;
  readonly expiresAt: Date;
}

/**
 * Injects one Secret into the credentials workspace. Everything that can
 * be checked without the secret is checked first (params, then the
 * workspace), so a misconfigured run never loads a secret at all; every
 * value loaded goes to the redactor before it is parsed.
 */
export class CredentialInjector {
  private readonly redactor: Redactor;

  constructor(redactor: Redactor) {
    this.redactor = redactor;
  }

  async inject(request: InjectRequest): Promise<InjectReport> {
    const now = request.now ?? new Date();
    const hosts = parseAllowedHosts(request.allowedHosts);
    const mappings = parseOpaqueMappings(request.opaqueFiles);
    const expiresAt = parseExpiry(request.expires, now);
    if (request.secretName !== '' && !K8S_NAME.test(request.secretName)) {
      throw new CredentialsError(CredentialsErrorCode.input, 'secret-name must be a Kubernetes object name (lower-case letters, digits, "-" and ".")');
    }
    if (request.secretType !== 'Opaque' && mappings.length > 0) {
      throw new CredentialsError(CredentialsErrorCode.input, `opaque-files applies to Opaque secrets only, not ${request.secretType}`);
    }
    if (request.secretType === 'Opaque' && mappings.length === 0) {
      throw new CredentialsError(CredentialsErrorCode.input, 'an Opaque secret needs opaque-files: the keys to write and their file names', {
        hint: 'e.g. opaque-files: ["token=registry/token"]',
      });
    }
    const workspace = await CredentialsWorkspace.open(request.credentialsDir, now, { previousDigest: request.previousDigest ?? '' });
    const secret = await this.load(request, mappings);
    const files = this.plan(secret, hosts, mappings, request);
    const { written, digest } = await workspace.write(files, secret, expiresAt, now);
    return { secret: { label: secret.label, type: secret.type, source: secret.source }, written, digest, expiresAt };
  }

  private async load(request: InjectRequest, mappings: readonly OpaqueMapping[]): Promise<LoadedSecret> {
    const declaredKeys = mappings.map((mapping) => mapping.key);
    if (request.source.kind === 'workspace') {
      const label = request.secretName === '' ? 'the secret workspace' : `secret ${request.secretName}`;
      return readMountedSecret({ dir: request.source.dir, label, type: request.secretType, declaredKeys, redactor: this.redactor });
    }
    if (request.secretName === '') {
      throw new CredentialsError(CredentialsErrorCode.input, 'secret-name is required with secret-source kubernetes-api');
    }
    // The API client (and undici with it) loads only for this source: a mounted Secret needs no HTTP.
    const { fetchSecret, loadServiceAccount, SERVICE_ACCOUNT_DIR } = await import('./sources/kube-api.ts');
    const account = await loadServiceAccount(request.source.env, this.redactor, request.source.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    return fetchSecret({
      account,
      name: request.secretName,
      type: request.secretType,
      declaredKeys,
      redactor: this.redactor,
      ...(request.source.timeoutMs === undefined ? {} : { timeoutMs: request.source.timeoutMs }),
    });
  }

  private plan(secret: LoadedSecret, hosts: readonly AllowedHost[], mappings: readonly OpaqueMapping[], request: InjectRequest): PlannedFile[] {
    switch (secret.type) {
      case 'kubernetes.io/dockerconfigjson':
        if (hosts.length === 0) {
          throw new CredentialsError(CredentialsErrorCode.input, 'allowed-hosts is empty; registry credentials must be scoped to at least one registry');
        }
        return [dockerConfigFromSecret(secret, hosts, this.redactor)];
      case 'kubernetes.io/basic-auth':
        if (request.basicAuthFormats.length === 0) {
          throw new CredentialsError(CredentialsErrorCode.input, 'basic-auth-formats is empty; name at least one of git-credentials, netrc, docker-config');
        }
        return basicAuthFiles(secret, hosts, request.basicAuthFormats, this.redactor);
      case 'kubernetes.io/ssh-auth':
        return sshFiles(secret, hosts, request.ssh, this.redactor);
      case 'Opaque':
        return opaqueFiles(secret, mappings);
    }
  }
}

/** The results: fingerprints (path → sha256) and paths. Both stay under 1 KB by the caps on files and path lengths. */
export function injectionResults(written: readonly WrittenFile[]): { fingerprints: string; paths: string } {
  const fingerprints: Record<string, string> = {};
  for (const file of written) fingerprints[file.path] = `sha256:${file.sha256}`;
  return { fingerprints: JSON.stringify(fingerprints), paths: JSON.stringify(written.map((file) => file.path)) };
}
