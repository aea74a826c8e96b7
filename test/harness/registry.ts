import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toYaml } from '../../src/tekton/yaml.ts';

/**
 * Starts Debian's `docker-registry` (CNCF distribution) on 127.0.0.1 with a
 * temp config and storage, optionally behind htpasswd basic auth or Bearer
 * token auth served by a small loopback token server. Tests talk to a real
 * registry this way; `stop()` kills it and removes every temp file.
 */
export type RegistryAuth = 'none' | 'basic' | 'token';

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  auth: RegistryAuth;
  username?: string;
  password?: string;
  /** A docker config.json holding the credentials (auth variants only). */
  dockerConfigPath?: string;
  /** Where the registry stores blobs and manifests. */
  storageDir: string;
  stop(): Promise<void>;
}

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
const execFileAsync = promisify(execFile);

/** Names what is missing so a test can skip (or fail under CI) with a reason. */
export function missingRegistryTools(auth: RegistryAuth = 'none'): string | undefined {
  if (!existsSync(REGISTRY_BINARY)) return `${REGISTRY_BINARY} (apt-get install docker-registry)`;
  if (auth === 'basic' && !existsSync('/usr/bin/htpasswd')) return '/usr/bin/htpasswd for bcrypt hashes (apt-get install apache2-utils)';
  if (auth === 'token' && !existsSync('/usr/bin/openssl')) return '/usr/bin/openssl (apt-get install openssl)';
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRegistry(options: { auth?: RegistryAuth } = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const missing = missingRegistryTools(auth);
  if (missing !== undefined) throw new Error(`cannot start the test registry: missing ${missing}`);

  const dir = await mkdtemp(join(tmpdir(), 'test-registry-'));
  const storageDir = join(dir, 'storage');
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const username = 'catalog-publisher';
  const password = randomBytes(12).toString('hex');
  let authConfig: Record<string, unknown> | undefined;

  try {
    if (auth === 'basic') {
      const { stdout } = await execFileAsync('/usr/bin/htpasswd', ['-Bbn', username, password]);
      await writeFile(join(dir, 'htpasswd'), stdout.trim() + '\n', { mode: 0o600 });
      authConfig = { htpasswd: { realm: 'test-registry', path: join(dir, 'htpasswd') } };
    } else if (auth === 'token') {
      const tokenServer = await startTokenServer(dir, { username, password });
      cleanups.push(tokenServer.stop);
      authConfig = {
        token: { realm: tokenServer.realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: tokenServer.certPath },
      };
    }

    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true } },
      http: { addr: host, secret: randomBytes(16).toString('hex') },
    };
    if (authConfig !== undefined) config.auth = authConfig;
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, toYaml(config));

    // The log goes to a file, not a pipe: a pipe is drained only while this
    // process's event loop runs, so a test blocked in a synchronous child
    // process would let it fill and hang the registry.
    const logPath = join(dir, 'registry.log');
    const log = await open(logPath, 'w');
    const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'ignore', log.fd] });
    await log.close();
    const stderr = () => {
      try {
        return readFileSync(logPath, 'utf8').slice(0, 8192);
      } catch {
        return '';
      }
    };
    cleanups.unshift(() => stopChild(child));
    await waitForRegistry(host, child, stderr);

    let dockerConfigPath: string | undefined;
    if (auth !== 'none') {
      dockerConfigPath = join(dir, 'docker-config.json');
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      await writeFile(dockerConfigPath, JSON.stringify({ auths: { [host]: { auth: encoded } } }), { mode: 0o600 });
    }

    let stopped = false;
    const registry: TestRegistry = {
      host,
      auth,
      storageDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const cleanup of cleanups) await cleanup();
      },
    };
    if (auth !== 'none') {
      registry.username = username;
      registry.password = password;
      registry.dockerConfigPath = dockerConfigPath!;
    }
    return registry;
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    throw error;
  }
}

async function waitForRegistry(host: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr().slice(0, 2000)}`);
    try {
      const response = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`docker-registry did not answer on ${host} within 15s: ${stderr().slice(0, 2000)}`);
}

/** Stops a child and waits for it, escalating to SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// ---- Bearer token server ----

export const TOKEN_SERVICE = 'test-registry';
export const TOKEN_ISSUER = 'test-token-issuer';

interface TokenServer {
  realm: string;
  certPath: string;
  stop(): Promise<void>;
}

/**
 * Issues registry JWTs (RS256, certificate in the x5c header) that the
 * registry checks against `rootcertbundle`. It grants exactly the
 * repository actions asked for, and only to the right username and password.
 */
async function startTokenServer(dir: string, user: { username: string; password: string }): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await execFileAsync('/usr/bin/openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', `/CN=${TOKEN_ISSUER}`,
  ]);
  const { readFile } = await import('node:fs/promises');
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token' || request.headers.authorization !== expected) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"unauthorized"}');
      return;
    }
    const access = url.searchParams
      .getAll('scope')
      .flatMap((scope) => scope.split(' '))
      .map((scope) => /^repository:([^:]+):([a-z,*]+)$/.exec(scope))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ type: 'repository', name: match[1]!, actions: match[2]!.split(',') }));
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = {
      iss: TOKEN_ISSUER,
      sub: user.username,
      aud: url.searchParams.get('service') ?? TOKEN_SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), key).toString('base64url');
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ token: `${signingInput}.${signature}`, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certPath,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/**
 * True when the registry tools for `auth` are installed; otherwise marks the
 * test skipped naming what is missing (or failed, under CI=true).
 */
export function requireRegistryTools(t: { fail(message: string): unknown; skip(message: string, fn: () => void): unknown }, auth: RegistryAuth = 'none'): boolean {
  const missing = missingRegistryTools(auth);
  if (missing === undefined) return true;
  if (process.env.CI === 'true') t.fail(`missing ${missing}; CI=true requires it`);
  else t.skip(`missing ${missing}`, () => {});
  return false;
}
