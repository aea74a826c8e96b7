/**
 * A loopback stand-in for the Kubernetes API server's Secret endpoint, for
 * tests of the kubernetes-api source (no cluster runs here). It speaks
 * HTTPS with a certificate from a throwaway CA made by openssl, checks the
 * bearer token (401 otherwise), and plays RBAC as a namespaced Role with
 * `resourceNames` and verb `get`: GET of an allowed name in its namespace
 * answers the Secret (or 404), anything else is 403, and list is always 403
 * because resourceNames cannot narrow it. Every request is recorded.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StubSecret {
  type: string;
  data: Record<string, string | Buffer>;
}

export interface StubRequest {
  method: string;
  path: string;
  authorized: boolean;
  status: number;
}

export interface KubeApiStubOptions {
  token: string;
  namespace: string;
  /** Secrets by name (the "cluster"). */
  secrets: Record<string, StubSecret>;
  /** The Role's resourceNames. */
  allowedNames: string[];
  /** Raw bodies to answer instead of a Secret, by name (to test malformed answers). */
  rawAnswers?: Record<string, string>;
}

export interface KubeApiStub {
  readonly host: string;
  readonly port: number;
  /** The CA that signed the server certificate: the service account's ca.crt. */
  readonly caPem: string;
  readonly requests: StubRequest[];
  /** KUBERNETES_SERVICE_HOST and _PORT for the step. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA and a server certificate for 127.0.0.1, made with openssl in a temp folder that is removed at once. */
export function makeTlsMaterial(): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-stub-tls-'));
  try {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=stub-kubernetes-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    return { caPem: read('ca.crt'), certPem: read('server.crt'), keyPem: read('server.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startKubeApiStub(options: KubeApiStubOptions, tls: TlsMaterial = makeTlsMaterial()): Promise<KubeApiStub> {
  const requests: StubRequest[] = [];
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const authorized = req.headers.authorization === `Bearer ${options.token}`;
    const answer = (status: number, body: unknown) => {
      requests.push({ method: req.method ?? '', path, authorized, status });
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const status = (code: number, reason: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code });
    if (!authorized) return answer(401, status(401, 'Unauthorized'));
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(path);
    // Only get of a named Secret in our namespace, and only names in resourceNames.
    if (req.method !== 'GET' || !match || match[1] !== options.namespace || match[2] === undefined) return answer(403, status(403, 'Forbidden'));
    const name = decodeURIComponent(match[2]);
    if (!options.allowedNames.includes(name)) return answer(403, status(403, 'Forbidden'));
    const raw = options.rawAnswers?.[name];
    if (raw !== undefined) return answer(200, raw);
    const secret = options.secrets[name];
    if (!secret) return answer(404, status(404, 'NotFound'));
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data)) data[key] = Buffer.from(value).toString('base64');
    return answer(200, { kind: 'Secret', apiVersion: 'v1', metadata: { name, namespace: options.namespace }, type: secret.type, data });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    caPem: tls.caPem,
    requests,
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a service account folder (token, ca.crt, namespace) like the one Kubernetes mounts. */
export async function writeServiceAccountDir(dir: string, account: { token: string; caPem: string; namespace: string }): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'token'), account.token);
  await writeFile(join(dir, 'ca.crt'), account.caPem);
  await writeFile(join(dir, 'namespace'), account.namespace);
  return dir;
}
