import { quoteUntrusted } from '../errors.ts';
import { CredentialsError, CredentialsErrorCode } from './errors.ts';

/** The Secret types this step understands (a mounted Secret does not carry its type, so it is declared). */
export const SECRET_TYPES = [
  'kubernetes.io/dockerconfigjson',
  'kubernetes.io/basic-auth',
  'kubernetes.io/ssh-auth',
  'Opaque',
] as const;
export type SecretType = (typeof SECRET_TYPES)[number];

export function isSecretType(value: string): value is SecretType {
  return (SECRET_TYPES as readonly string[]).includes(value);
}

/** A Kubernetes object name (DNS-1123 subdomain): also what keeps it safe in an API path. */
export const K8S_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Secret data key, as the API server validates it. */
export const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** Kubernetes caps a Secret at 1 MiB; a larger key file is not a Secret's. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** The keys each type needs, and the ones it may use when present. */
export function secretKeys(type: SecretType, declaredKeys: readonly string[]): { required: string[]; optional: string[] } {
  switch (type) {
    case 'kubernetes.io/dockerconfigjson':
      return { required: ['.dockerconfigjson'], optional: [] };
    case 'kubernetes.io/basic-auth':
      return { required: ['username', 'password'], optional: [] };
    case 'kubernetes.io/ssh-auth':
      // known_hosts beside the key is the tektoncd git-clone convention.
      return { required: ['ssh-privatekey'], optional: ['known_hosts'] };
    case 'Opaque':
      return { required: [...declaredKeys], optional: [] };
  }
}

/** Secret data as loaded from a source: key to bytes. Values are secrets; keys are not. */
export interface LoadedSecret {
  /** The Secret's name, or a label for the mounted workspace when no name was given. */
  readonly label: string;
  readonly type: SecretType;
  readonly source: 'workspace' | 'kubernetes-api';
  readonly data: ReadonlyMap<string, Buffer>;
}

export function describeSecret(secret: Pick<LoadedSecret, 'label'>): string {
  return secret.label;
}

export function requireKey(secret: LoadedSecret, key: string): Buffer {
  const value = secret.data.get(key);
  if (value === undefined) {
    throw new CredentialsError(
      CredentialsErrorCode.secretKeyMissing,
      `${describeSecret(secret)} has no key ${quoteUntrusted(key)}, which type ${secret.type} needs`,
      { hint: 'check the Secret\'s keys (kubectl get secret -o jsonpath="{.data}" shows names only with jq keys)' },
    );
  }
  return value;
}

/** Decodes Secret text as UTF-8, refusing bytes that are not. */
export function secretText(secret: LoadedSecret, key: string): string {
  const bytes = requireKey(secret, key);
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return text.decode(bytes);
  } catch {
    throw malformed(secret, key, 'is not valid UTF-8 text');
  }
}

export function malformed(secret: Pick<LoadedSecret, 'label'>, key: string, rule: string, hint?: string): CredentialsError {
  return new CredentialsError(
    CredentialsErrorCode.secretMalformed,
    `${describeSecret(secret)} key ${quoteUntrusted(key)} ${rule}`,
    hint === undefined ? {} : { hint },
  );
}
