import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { createAgent, httpRequest } from '../../src/io/http.ts';

// A TLS server that speaks HTTP/2 and HTTP/1.1 and prefers HTTP/2, as many registries behind a CDN do.
const dir = mkdtempSync(join(tmpdir(), 'http-agent-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
const cert = readFileSync(join(dir, 'cert.pem'));
const server = createSecureServer({ key: readFileSync(join(dir, 'key.pem')), cert, allowHTTP1: true }, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`HTTP/${req.httpVersion} ${req.method} ${req.url}`);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const { port } = server.address() as { port: number };
const url = new URL(`https://127.0.0.1:${port}/v2/x?n=1`);

t.test('the step agent speaks HTTP/1.1 even to a server that prefers HTTP/2', async (t) => {
  const agent = createAgent({ connect: { ca: cert } });
  t.teardown(() => agent.close());
  const response = await httpRequest(agent, url, { method: 'GET', headers: { accept: 'text/plain' } });
  t.equal(response.statusCode, 200);
  t.equal(await response.body.text(), 'HTTP/1.1 GET /v2/x?n=1', 'HTTP/1.1, with the path and query');
});

t.test("undici's default agent would have spoken HTTP/2 to it: the check above can fail", async (t) => {
  const agent = new UndiciAgent({ connect: { ca: cert } });
  t.teardown(() => agent.close());
  const response = await undiciRequest(url, { dispatcher: agent });
  t.equal(await response.body.text(), 'HTTP/2.0 GET /v2/x?n=1');
});

t.test('a body goes out with its method', async (t) => {
  const agent = createAgent({ connect: { ca: cert } });
  t.teardown(() => agent.close());
  const response = await httpRequest(agent, new URL(`https://127.0.0.1:${port}/upload`), { method: 'PUT', body: Buffer.from('blob') });
  t.equal(await response.body.text(), 'HTTP/1.1 PUT /upload');
});
