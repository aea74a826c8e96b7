import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Redactor } from '../../src/credentials/redactor.ts';
import { fetchSecret, loadServiceAccount } from '../../src/credentials/sources/kube-api.ts';
import { makeTlsMaterial, startKubeApiStub, writeServiceAccountDir, type KubeApiStub } from '../harness/k8s-api-stub.ts';
import { findLeaks, token } from './fixtures.ts';

const saToken = token('sa-token');
const password = token('pw');
const forbiddenPassword = token('forbidden');
const tls = makeTlsMaterial();

let stub: KubeApiStub;
let saDir: string;
t.before(async () => {
  stub = await startKubeApiStub(
    {
      token: saToken,
      namespace: 'builds',
      allowedNames: ['registry-push-creds', 'missing', 'broken', 'typed-wrong'],
      secrets: {
        'registry-push-creds': { type: 'kubernetes.io/basic-auth', data: { username: 'bot', password } },
        'other-secret': { type: 'kubernetes.io/basic-auth', data: { username: 'root', password: forbiddenPassword } },
        'typed-wrong': { type: 'Opaque', data: { password } },
      },
      rawAnswers: { broken: `{"kind":"Secret","data":{"password":"${password}"` },
    },
    tls,
  );
  saDir = await mkdtemp(join(tmpdir(), 'sa-'));
  await writeServiceAccountDir(saDir, { token: saToken, caPem: stub.caPem, namespace: 'builds' });
});
t.teardown(async () => {
  await stub.close();
  await rm(saDir, { recursive: true, force: true });
});

const fetch = async (name: string, redactor = new Redactor(), dir = saDir, type: 'kubernetes.io/basic-auth' | 'Opaque' = 'kubernetes.io/basic-auth') => {
  const account = await loadServiceAccount(stub.env, redactor, dir);
  return fetchSecret({ account, name, type, declaredKeys: [], redactor, timeoutMs: 5000 });
};

t.test('GETs the named Secret with the token, TLS checked against ca.crt', async (t) => {
  const redactor = new Redactor();
  const secret = await fetch('registry-push-creds', redactor);
  t.equal(secret.source, 'kubernetes-api');
  t.equal(secret.data.get('password')?.toString(), password);
  t.equal(redactor.redact(`x${password}x ${saToken}`), 'x[REDACTED]x [REDACTED]', 'the token and values are known to the redactor');
  const last = stub.requests.at(-1);
  t.same(last, { method: 'GET', path: '/api/v1/namespaces/builds/secrets/registry-push-creds', authorized: true, status: 200 });
});

t.test('a name outside resourceNames is forbidden, with the Role to add and no body echoed', async (t) => {
  const error = await fetch('other-secret').catch((e: unknown) => e);
  t.match(error, { code: 'CONFIG_KUBE_API_FORBIDDEN', hint: /resourceNames \["other-secret"\]/ });
  t.same(findLeaks([{ name: 'error', content: `${(error as Error).message} ${(error as { hint?: string }).hint}` }], [forbiddenPassword, saToken]), []);
});

t.test('a wrong token gets 401; a missing Secret 404; type and body problems fail closed', async (t) => {
  const wrongDir = await mkdtemp(join(tmpdir(), 'sa-wrong-'));
  t.teardown(() => rm(wrongDir, { recursive: true, force: true }));
  await writeServiceAccountDir(wrongDir, { token: token('stolen'), caPem: stub.caPem, namespace: 'builds' });
  await t.rejects(fetch('registry-push-creds', new Redactor(), wrongDir), { code: 'CONFIG_KUBE_API_UNAUTHORIZED' });
  await t.rejects(fetch('missing'), { code: 'CONFIG_KUBE_API_NOT_FOUND' });
  await t.rejects(fetch('typed-wrong'), { code: 'CONFIG_SECRET_TYPE_MISMATCH', message: /type "Opaque", not the declared kubernetes\.io\/basic-auth/ });
  const broken = await fetch('broken').catch((e: unknown) => e);
  t.match(broken, { code: 'KUBE_API_FAILURE', message: /malformed JSON/ });
  t.same(findLeaks([{ name: 'error', content: String((broken as Error).message) }], [password]), []);
  await t.rejects(fetch('Bad/Name'), { code: 'CONFIG_CREDENTIALS_INPUT' }, 'a name that could change the path is refused before any request');
});

t.test('a server whose certificate the service account CA did not sign is refused', async (t) => {
  const otherDir = await mkdtemp(join(tmpdir(), 'sa-other-ca-'));
  t.teardown(() => rm(otherDir, { recursive: true, force: true }));
  await writeServiceAccountDir(otherDir, { token: saToken, caPem: makeTlsMaterial().caPem, namespace: 'builds' });
  const before = stub.requests.length;
  await t.rejects(fetch('registry-push-creds', new Redactor(), otherDir), { code: 'KUBE_API_FAILURE', message: /TLS verification failed/ });
  t.equal(stub.requests.length, before, 'no request (and so no token) reached the server');
});

t.test('missing service account material and an unreachable server fail with a clear message', async (t) => {
  await t.rejects(loadServiceAccount(stub.env, new Redactor(), join(saDir, 'nope')), { code: 'CONFIG_SERVICE_ACCOUNT', message: /token/ });
  await t.rejects(loadServiceAccount({}, new Redactor(), saDir), { code: 'CONFIG_SERVICE_ACCOUNT', message: /KUBERNETES_SERVICE_HOST/ });
  const closed = await startKubeApiStub({ token: saToken, namespace: 'builds', allowedNames: [], secrets: {} }, tls);
  const env = closed.env;
  await closed.close();
  const account = await loadServiceAccount(env, new Redactor(), saDir);
  await t.rejects(fetchSecret({ account, name: 'x', type: 'Opaque', declaredKeys: ['k'], redactor: new Redactor(), timeoutMs: 2000 }), {
    code: 'KUBE_API_FAILURE',
    message: /connection refused/,
  });
});

t.test('the step never lists: every request the stub saw was a GET of one named Secret', async (t) => {
  t.ok(stub.requests.length >= 5);
  for (const request of stub.requests) {
    t.equal(request.method, 'GET');
    t.match(request.path, /^\/api\/v1\/namespaces\/builds\/secrets\/[a-z0-9.-]+$/);
  }
});
