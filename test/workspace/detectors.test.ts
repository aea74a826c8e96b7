import { spawnSync } from 'node:child_process';
import t from 'tap';
import { CredentialScanner, credentialKindByName, loadDetectors } from '../../src/workspace/detectors.ts';

await loadDetectors();

function scan(path: string, content: string, chunk = 1 << 20) {
  const scanner = new CredentialScanner(path);
  const bytes = Buffer.from(content);
  for (let i = 0; i < bytes.length; i += chunk) scanner.push(bytes.subarray(i, i + chunk));
  return scanner.results();
}

const jwt = (payload: object) =>
  ['eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ', Buffer.from(JSON.stringify(payload)).toString('base64url'), 'c2lnbmF0dXJlc2lnbmF0dXJl'].join('.');

// Fake secrets, assembled at run time so this file holds no credential-shaped literal.
const AWS_ID = ['AKIA', 'Z7Q3X5WB2MPLK4TR'].join('');
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY';

t.test('each credential kind is found, with the line', async (t) => {
  const cases: [string, string, string, number | undefined][] = [
    ['id_rsa', `-----BEGIN RSA ${'PRIVATE'} KEY-----\nMIIE\n`, 'private-key', 1],
    ['keys/id_ed25519', `x\n-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nb3Bl\n`, 'private-key', 2],
    ['tls.key', `-----BEGIN ${'PRIVATE'} KEY-----\n`, 'private-key', 1],
    ['.docker/config.json', '{\n  "auths": {\n    "ghcr.io": {"auth": "dXNlcjpwYXNz"}}}', 'docker-config-auths', 2],
    ['env.sh', `export A=1\nexport AWS_ACCESS_KEY_ID=${AWS_ID}\n`, 'aws-access-key', 2],
    ['.aws/credentials', `[default]\naws_secret_access_key = ${AWS_SECRET}\n`, 'aws-secret-key', 2],
    ['sa.json', '{"type": "service_account", "project_id": "p"}', 'gcp-service-account-key', 1],
    ['kube/token.txt', jwt({ iss: 'kubernetes/serviceaccount', 'kubernetes.io': { namespace: 'x' } }), 'kubernetes-service-account-token', 1],
    ['.git-credentials', 'https://bot:ghp_secretsecret@github.com\n', 'git-credentials', 1],
    ['repo/.git/config', '[remote "origin"]\n\turl = https://x-access-token:tok@github.com/o/r\n', 'git-credentials', 2],
    ['home/.netrc', 'machine github.com login bot password hunter2\n', 'netrc-password', 1],
  ];
  for (const [path, content, kind, line] of cases) {
    const hits = scan(path, content);
    t.same(hits, [{ kind, ...(line ? { line } : {}) }], `${kind} in ${path}`);
  }
});

t.test('look-alikes are not credentials', async (t) => {
  t.same(scan('README.md', 'BEGIN PUBLIC KEY and the word PRIVATE KEY in prose'), []);
  t.same(scan('config.json', '{"auths": {}}'), [], 'empty auths');
  t.same(scan('a.jwt', jwt({ iss: 'https://accounts.example.com', sub: 'x' })), [], 'JWT without Kubernetes claims');
  t.same(scan('notes.txt', 'https://user:pass@example.com'), [], 'URL credentials outside git files are left to other tools');
  t.same(scan('netrc.txt', 'password hunter2'), [], '.netrc rules only apply to .netrc');
  t.same(scan('id.txt', `X${AWS_ID}`), [], 'an AKIA inside a longer token is not a key id');
});

t.test('a pattern split across chunks is still found, with the right line', async (t) => {
  const content = `${'filler line\n'.repeat(1000)}-----BEGIN EC ${'PRIVATE'} KEY-----\n`;
  for (const chunk of [7, 64, 4096, 12_010]) {
    t.same(scan('k.pem', content, chunk), [{ kind: 'private-key', line: 1001 }], `chunk ${chunk}`);
  }
});

t.test('results never carry the secret', async (t) => {
  const hits = scan('.aws/credentials', `aws_secret_access_key=${AWS_SECRET}\naws_access_key_id=${AWS_ID}`);
  const text = JSON.stringify(hits);
  t.notMatch(text, AWS_SECRET.slice(0, 10));
  t.notMatch(text, AWS_ID);
  t.equal(hits.length, 2);
});

t.test('credentials recognised by name', async (t) => {
  t.equal(credentialKindByName('.git-credentials'), 'git-credentials');
  t.equal(credentialKindByName('var/run/secrets/kubernetes.io/serviceaccount/token'), 'kubernetes-service-account-token');
  t.equal(credentialKindByName('src/token'), undefined);
});

t.test('a file made of anchors is scanned in one linear pass per rule (a watchdog fails only on a hang)', async (t) => {
  // Under V8's backtracking engine the first took minutes: every "eyJ" restarted a scan of the whole run.
  const cases: [string, string][] = [
    ['notes.txt', 'eyJ'.repeat(350_000)],
    ['notes2.txt', `eyJ${'a'.repeat(1_000_000)}.eyJ${'b'.repeat(100)}`],
    ['repo/.git/config', `${'a'.repeat(1_000_000)}://`.repeat(2)],
    ['k.txt', 'AKIA'.repeat(250_000)],
    ['k.json', `${'"auths"'.repeat(100_000)}`],
    ['k2.txt', `secret_access_key=${'A'.repeat(1_000_000)}`],
    ['home/.netrc', `password${' '.repeat(1_000_000)}`],
  ];
  const moduleUrl = new URL('../../src/workspace/detectors.ts', import.meta.url).href;
  const script = `
const { readFileSync } = await import('node:fs');
const { CredentialScanner, loadDetectors } = await import(${JSON.stringify(moduleUrl)});
await loadDetectors();
for (const [path, content] of JSON.parse(readFileSync(0, 'utf8'))) {
  const scanner = new CredentialScanner(path);
  const bytes = Buffer.from(content);
  for (let i = 0; i < bytes.length; i += 1 << 20) scanner.push(bytes.subarray(i, i + (1 << 20)));
  process.stdout.write(JSON.stringify(scanner.results().map((hit) => hit.kind)) + '\\n');
}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
  t.equal(child.signal, null, 'the watchdog did not have to stop the child');
  t.equal(child.status, 0, child.stderr);
  t.same(child.stdout.trim().split('\n'), cases.map(() => '[]'), 'every file finished, nothing found');
});
