import { Agent, request } from 'undici';
import { z } from 'zod';
import { quoteUntrusted } from '../../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError } from '../errors.ts';
import { Folder } from '../folder.ts';
import type { Redactor } from '../redactor.ts';
import { K8S_NAME, MAX_SECRET_BYTES, SECRET_KEY, secretKeys, type LoadedSecret, type SecretType } from '../secret.ts';
import { readMountedFile } from './mount.ts';

/**
 * Fetches one named Secret from the Kubernetes API with the pod's service
 * account token: GET /api/v1/namespaces/{ns}/secrets/{name}, nothing else.
 * Never a list (RBAC cannot limit list to resourceNames, so a Role that
 * allows list allows every Secret). TLS is verified against the service
 * account's ca.crt only.
 */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ServiceAccount {
  readonly host: string;
  readonly port: number;
  readonly namespace: string;
  readonly token: string;
  readonly ca: Buffer;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IPV4_OR_NAME = /^[A-Za-z0-9.-]{1,253}$/;
const IPV6 = /^[0-9a-fA-F:]{2,39}$/;

/** Reads the service account mount and the API server address from the pod's env. */
export async function loadServiceAccount(
  env: NodeJS.ProcessEnv,
  redactor: Redactor,
  dir: string = SERVICE_ACCOUNT_DIR,
): Promise<ServiceAccount> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const portText = env.KUBERNETES_SERVICE_PORT ?? '';
  if (!(IPV4_OR_NAME.test(host) || IPV6.test(host)) || !/^\d{1,5}$/.test(portText)) {
    throw new CredentialsError(
      CredentialsErrorCode.serviceAccount,
      'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must name the API server (Kubernetes sets them in every pod)',
    );
  }
  const unreadable = (name: string, reason: string) =>
    new CredentialsError(CredentialsErrorCode.serviceAccount, `cannot read the service account's ${name}: ${reason}`, {
      hint: 'the kubernetes-api source needs the service account token mounted (automountServiceAccountToken must not be false)',
    });
  let root: Folder;
  try {
    root = await Folder.open(dir);
  } catch (error) {
    throw unreadable('token', `the folder ${quoteUntrusted(dir)} cannot be opened: ${describeSystemError(error)}`);
  }
  // The projected service account volume is kubelet-shaped like a Secret's: same reader, same bounds.
  const read = async (name: string): Promise<Buffer> => {
    let result;
    try {
      result = await readMountedFile(root, name, MAX_SECRET_BYTES);
    } catch (error) {
      throw unreadable(name, describeSystemError(error));
    }
    if (result.kind === 'found') return result.bytes;
    throw unreadable(name, result.kind === 'missing' ? 'ENOENT (no such file or directory)' : `refused (${result.reason})`);
  };
  try {
    return await readAccount(read, host, portText, redactor);
  } finally {
    await root.close();
  }
}

async function readAccount(read: (name: string) => Promise<Buffer>, host: string, portText: string, redactor: Redactor): Promise<ServiceAccount> {
  const token = (await read('token')).toString('utf8').trim();
  redactor.add(token);
  if (token.length === 0 || /\s/.test(token)) {
    throw new CredentialsError(CredentialsErrorCode.serviceAccount, 'the service account token is empty or holds whitespace');
  }
  const ca = await read('ca.crt');
  const namespace = (await read('namespace')).toString('utf8').trim();
  if (!DNS_LABEL.test(namespace)) {
    throw new CredentialsError(CredentialsErrorCode.serviceAccount, `the service account namespace ${quoteUntrusted(namespace)} is not a DNS label`);
  }
  return { host, port: Number(portText), namespace, token, ca };
}

const SecretObjectSchema = z.looseObject({
  kind: z.literal('Secret'),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
  type: z.string().optional(),
  data: z.record(z.string(), z.string()).optional(),
});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** base64 of a 1 MiB Secret plus metadata; anything larger is not a Secret. */
const MAX_RESPONSE_BYTES = Math.ceil((MAX_SECRET_BYTES * 4) / 3) + 256 * 1024;

export async function fetchSecret(options: {
  account: ServiceAccount;
  name: string;
  type: SecretType;
  declaredKeys: readonly string[];
  redactor: Redactor;
  timeoutMs?: number;
}): Promise<LoadedSecret> {
  const { account, name, type, redactor } = options;
  if (!K8S_NAME.test(name)) {
    throw new CredentialsError(CredentialsErrorCode.input, `secret-name ${quoteUntrusted(name)} is not a Kubernetes object name`);
  }
  const label = `secret ${name}`;
  const hostForUrl = account.host.includes(':') ? `[${account.host}]` : account.host;
  const path = `/api/v1/namespaces/${account.namespace}/secrets/${name}`;
  const timeout = options.timeoutMs ?? 10_000;
  const agent = new Agent({
    connect: { ca: account.ca, rejectUnauthorized: true, timeout },
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  let status: number;
  let body: Buffer;
  try {
    const response = await request(`https://${hostForUrl}:${account.port}${path}`, {
      method: 'GET',
      dispatcher: agent,
      headers: { authorization: `Bearer ${account.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeout * 2),
    });
    status = response.statusCode;
    body = await readLimited(response.body, MAX_RESPONSE_BYTES);
  } catch (error) {
    throw new CredentialsError(
      CredentialsErrorCode.apiFailure,
      `GET ${label} from the Kubernetes API failed: ${networkReason(error)}`,
      { hint: 'check egress to the API server and that ca.crt is the cluster CA' },
    );
  } finally {
    await agent.close().catch(() => undefined);
  }
  if (status === 401) {
    throw new CredentialsError(CredentialsErrorCode.apiUnauthorized, `the Kubernetes API rejected the service account token (401) for ${label}`, {
      hint: 'the TaskRun\'s service account token is not valid for this cluster: check the service account the Pipeline gives this task (taskRunSpecs[].serviceAccountName) exists',
    });
  }
  if (status === 403) {
    throw new CredentialsError(
      CredentialsErrorCode.apiForbidden,
      `the service account may not get ${label} in namespace ${account.namespace} (403)`,
      { hint: `grant a namespaced Role: resources ["secrets"], verbs ["get"], resourceNames ["${name}"]` },
    );
  }
  if (status === 404) {
    throw new CredentialsError(CredentialsErrorCode.apiNotFound, `${label} does not exist in namespace ${account.namespace} (404)`, {
      hint: 'check the secret-name param: the Secret must be in the namespace the PipelineRun runs in',
    });
  }
  if (status !== 200) {
    throw new CredentialsError(CredentialsErrorCode.apiFailure, `GET ${label} from the Kubernetes API answered HTTP ${status}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    // JSON.parse's message quotes the body, which holds the secret.
    throw new CredentialsError(CredentialsErrorCode.apiFailure, `the Kubernetes API answered ${label} with malformed JSON`);
  }
  const parsed = SecretObjectSchema.safeParse(json);
  if (!parsed.success) {
    throw new CredentialsError(CredentialsErrorCode.apiFailure, `the Kubernetes API answered ${label} with something that is not a Secret`);
  }
  const secret = parsed.data;
  const encoded = secret.data ?? {};
  for (const value of Object.values(encoded)) {
    // Register every value before decoding or checking anything else.
    redactor.add(value);
    if (BASE64.test(value)) redactor.add(Buffer.from(value, 'base64'));
  }
  if (secret.metadata.name !== name) {
    throw new CredentialsError(CredentialsErrorCode.apiFailure, `the Kubernetes API answered ${label} with a different object`);
  }
  const actualType = secret.type ?? 'Opaque';
  if (actualType !== type) {
    throw new CredentialsError(
      CredentialsErrorCode.secretTypeMismatch,
      `${label} has type ${quoteUntrusted(actualType)}, not the declared ${type}`,
      { hint: 'set secret-type to the Secret\'s type' },
    );
  }
  const { required, optional } = secretKeys(type, options.declaredKeys);
  const data = new Map<string, Buffer>();
  for (const key of [...required, ...optional]) {
    if (!SECRET_KEY.test(key)) {
      throw new CredentialsError(CredentialsErrorCode.input, `secret key ${quoteUntrusted(key)} is not a valid Secret key name`);
    }
    const value = Object.hasOwn(encoded, key) ? encoded[key] : undefined;
    if (value === undefined) {
      if (required.includes(key)) {
        throw new CredentialsError(CredentialsErrorCode.secretKeyMissing, `${label} has no key ${quoteUntrusted(key)}, which type ${type} needs`);
      }
      continue;
    }
    if (!BASE64.test(value)) {
      throw new CredentialsError(CredentialsErrorCode.secretMalformed, `${label} key ${quoteUntrusted(key)} is not base64 in the API answer`);
    }
    data.set(key, Buffer.from(value, 'base64'));
  }
  return { label, type, source: 'kubernetes-api', data };
}

async function readLimited(body: AsyncIterable<Buffer | Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) throw Object.assign(new Error('response too large'), { code: 'RESPONSE_TOO_LARGE' });
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Network failures by class only; TLS and socket messages can carry peer data. */
function networkReason(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const name = error instanceof Error ? error.name : '';
  if (code === 'RESPONSE_TOO_LARGE') return `the answer is larger than ${MAX_RESPONSE_BYTES} bytes`;
  if (name === 'TimeoutError' || name === 'AbortError' || code.includes('TIMEOUT')) return 'timed out';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (/TLS|SSL|CERT|VERIFY|ISSUER|SIGNATURE/.test(code)) {
    return `TLS verification failed (${code})`;
  }
  return /^[A-Z0-9_]{1,48}$/.test(code) ? describeSystemError(error) : 'network error';
}
