import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseAllowedHosts } from '../../src/credentials/hosts.ts';
import { OutputPaths } from '../../src/credentials/plan.ts';
import { Redactor } from '../../src/credentials/redactor.ts';
import type { LoadedSecret, SecretType } from '../../src/credentials/secret.ts';
import { basicAuthFiles } from '../../src/credentials/writers/basic-auth.ts';
import { dockerConfigFromSecret } from '../../src/credentials/writers/docker-config.ts';
import { opaqueFiles, parseOpaqueMappings } from '../../src/credentials/writers/opaque.ts';
import { scopeKnownHosts, sshFiles } from '../../src/credentials/writers/ssh.ts';
import { findLeaks, makeSshFixture, token } from './fixtures.ts';

const secretOf = (type: SecretType, data: Record<string, string>): LoadedSecret => ({
  label: 'secret test-creds',
  type,
  source: 'workspace',
  data: new Map(Object.entries(data).map(([key, value]) => [key, Buffer.from(value)])),
});
const b64 = (text: string) => Buffer.from(text).toString('base64');

t.test('docker config keeps only the allowed registries', async (t) => {
  const ghcr = token('ghp');
  const hub = token('hub');
  const evil = token('evil');
  const identity = token('idt');
  const config = {
    auths: {
      'https://index.docker.io/v1/': { auth: b64(`me:${hub}`), email: 'me@example.com' },
      'ghcr.io': { username: 'bot', password: ghcr },
      'evil.ghcr.io': { auth: b64(`x:${evil}`) },
      'registry.example.com:5000': { identitytoken: identity },
    },
    credHelpers: { 'gcr.io': 'gcloud' },
    credsStore: 'desktop',
  };
  const file = dockerConfigFromSecret(
    secretOf('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': JSON.stringify(config) }),
    parseAllowedHosts(['ghcr.io', 'docker.io']),
    new Redactor(),
  );
  t.equal(file.path, OutputPaths.dockerConfig);
  const written = JSON.parse(file.content.toString());
  t.same(Object.keys(written), ['auths'], 'credHelpers and credsStore are dropped');
  t.same(Object.keys(written.auths).sort(), ['ghcr.io', 'https://index.docker.io/v1/']);
  t.equal(Buffer.from(written.auths['ghcr.io'].auth, 'base64').toString(), `bot:${ghcr}`, 'username/password become auth');
  t.same(findLeaks([{ name: 'config.json', content: file.content }], [evil, identity]), [], 'hosts not allowed are absent');
  t.notOk('email' in written.auths['https://index.docker.io/v1/'], 'non-credential fields are dropped');
});

t.test('docker config: an allowed host missing from the Secret, conflicting aliases and malformed JSON fail without the value', async (t) => {
  const pass = token('pw');
  const hosts = parseAllowedHosts(['quay.io']);
  const secret = secretOf('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { auth: b64(`a:${pass}`) } } }) });
  t.throws(() => dockerConfigFromSecret(secret, hosts, new Redactor()), { code: 'CONFIG_HOST_NOT_IN_SECRET' });
  const conflicting = secretOf('kubernetes.io/dockerconfigjson', {
    '.dockerconfigjson': JSON.stringify({ auths: { 'docker.io': { auth: b64(`a:${pass}`) }, 'https://index.docker.io/v1/': { auth: b64(`b:${pass}`) } } }),
  });
  t.throws(() => dockerConfigFromSecret(conflicting, parseAllowedHosts(['docker.io']), new Redactor()), { code: 'CONFIG_SECRET_MALFORMED' });
  const broken = secretOf('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': `{"auths": {"ghcr.io": {"auth": "${pass}"` });
  try {
    dockerConfigFromSecret(broken, parseAllowedHosts(['ghcr.io']), new Redactor());
    t.fail('malformed JSON must throw');
  } catch (error) {
    t.match(error, { code: 'CONFIG_SECRET_MALFORMED', message: /secret test-creds key "\.dockerconfigjson" is not valid JSON/ });
    t.same(findLeaks([{ name: 'message', content: String((error as Error).message) }], [pass]), []);
  }
  const notUserPass = secretOf('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { auth: b64(pass) } } }) });
  t.throws(() => dockerConfigFromSecret(notUserPass, parseAllowedHosts(['ghcr.io']), new Redactor()), { code: 'CONFIG_SECRET_MALFORMED', message: /user:password/ });
});

t.test('basic-auth writes git credentials, .gitconfig and .netrc for the allowed hosts only', async (t) => {
  const password = token('pw') + '/+@';
  const redactor = new Redactor();
  const files = basicAuthFiles(
    secretOf('kubernetes.io/basic-auth', { username: 'ci-bot', password: password + '\n' }),
    parseAllowedHosts(['github.com', 'git.example.com:8443']),
    ['git-credentials', 'netrc', 'docker-config'],
    redactor,
  );
  const byPath = new Map(files.map((file) => [file.path, file.content.toString()]));
  t.same([...byPath.keys()], [OutputPaths.gitCredentials, OutputPaths.gitConfig, OutputPaths.netrc, OutputPaths.dockerConfig]);
  t.equal(
    byPath.get(OutputPaths.gitCredentials),
    `https://ci-bot:${encodeURIComponent(password)}@github.com\nhttps://ci-bot:${encodeURIComponent(password)}@git.example.com:8443\n`,
    'password is URL-encoded, the trailing newline of the key file is dropped',
  );
  t.match(byPath.get(OutputPaths.gitConfig), /helper = store/);
  t.equal(byPath.get(OutputPaths.netrc), `machine github.com login ci-bot password ${password}\nmachine git.example.com login ci-bot password ${password}\n`);
  t.equal(redactor.redact(byPath.get(OutputPaths.gitCredentials)!).includes(encodeURIComponent(password)), false, 'the encoded form is known to the redactor');
});

t.test('basic-auth refuses what .netrc cannot hold, empty values and unscoped use', async (t) => {
  const hosts = parseAllowedHosts(['github.com']);
  t.throws(() => basicAuthFiles(secretOf('kubernetes.io/basic-auth', { username: 'u', password: 'has space' }), hosts, ['netrc'], new Redactor()), {
    code: 'CONFIG_SECRET_MALFORMED',
    message: /key "password" holds whitespace/,
  });
  t.throws(() => basicAuthFiles(secretOf('kubernetes.io/basic-auth', { username: '', password: 'p' }), hosts, ['netrc'], new Redactor()), { message: /"username" is empty/ });
  t.throws(() => basicAuthFiles(secretOf('kubernetes.io/basic-auth', { username: 'u', password: 'p' }), [], ['netrc'], new Redactor()), { code: 'CONFIG_CREDENTIALS_INPUT' });
  t.throws(() => basicAuthFiles(secretOf('kubernetes.io/basic-auth', { username: 'u' }), hosts, ['netrc'], new Redactor()), { code: 'CONFIG_SECRET_KEY_MISSING' });
});

t.test('ssh: key, scoped known_hosts and a strict config that real ssh reads as intended', async (t) => {
  const ssh = makeSshFixture();
  const knownHosts = [
    `github.com ${ssh.hostPublicKey}`,
    `[git.example.com]:2222 ${ssh.hostPublicKey}`,
    `other.example.org ${ssh.otherHostPublicKey}`,
    `*.example.com ${ssh.otherHostPublicKey}`,
  ].join('\n');
  const hosts = parseAllowedHosts(['github.com', 'git.example.com:2222']);
  const files = sshFiles(secretOf('kubernetes.io/ssh-auth', { 'ssh-privatekey': ssh.privateKey }), hosts, { knownHosts, user: 'git', consumerDir: '~/.ssh' }, new Redactor());
  const byPath = new Map(files.map((file) => [file.path, file.content.toString()]));
  t.equal(byPath.get(OutputPaths.sshKey), ssh.privateKey);
  const scoped = byPath.get(OutputPaths.sshKnownHosts)!;
  t.notMatch(scoped, /other\.example\.org|\*\.example\.com/, 'lines for other hosts and wildcards are dropped');
  const config = byPath.get(OutputPaths.sshConfig)!;
  t.notMatch(config, /StrictHostKeyChecking\s+no/i);

  const dir = mkdtempSync(join(tmpdir(), 'ssh-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ssh'));
  for (const [path, content] of byPath) writeFileSync(join(dir, path), content, { mode: 0o600 });
  // ssh -G prints the configuration ssh would use for a host, without connecting.
  const effective = (host: string) => execFileSync('ssh', ['-G', '-F', join(dir, OutputPaths.sshConfig), host], { encoding: 'utf8', timeout: 10_000 });
  const github = effective('github.com');
  t.match(github, /^stricthostkeychecking true$/m);
  t.match(github, /^identitiesonly yes$/m);
  t.match(github, /^identityfile ~\/\.ssh\/id_credentials$/m);
  t.match(github, /^user git$/m);
  t.match(effective('git.example.com'), /^port 2222$/m);
  const other = effective('elsewhere.example.net');
  t.match(other, /^stricthostkeychecking true$/m, 'hosts outside the list are strict too');
  t.notMatch(other, /id_credentials/, 'and are not offered the key');
  // ssh-keygen -F finds a host in a known_hosts file as ssh would.
  const lookup = (host: string) => {
    try {
      return execFileSync('ssh-keygen', ['-F', host, '-f', join(dir, OutputPaths.sshKnownHosts)], { encoding: 'utf8', timeout: 10_000 });
    } catch {
      return '';
    }
  };
  t.match(lookup('github.com'), /ssh-ed25519/);
  t.match(lookup('[git.example.com]:2222'), /ssh-ed25519/);
  t.equal(lookup('other.example.org'), '');
});

t.test('ssh: known_hosts is required and must cover every host; encrypted and bogus keys are refused', async (t) => {
  const ssh = makeSshFixture();
  const hosts = parseAllowedHosts(['github.com']);
  const secret = secretOf('kubernetes.io/ssh-auth', { 'ssh-privatekey': ssh.privateKey });
  const options = { user: 'git', consumerDir: '~/.ssh' };
  t.throws(() => sshFiles(secret, hosts, { ...options, knownHosts: '' }, new Redactor()), { code: 'CONFIG_SSH_KNOWN_HOSTS', message: /required/ });
  t.throws(() => sshFiles(secret, hosts, { ...options, knownHosts: `gitlab.com ${ssh.hostPublicKey}` }, new Redactor()), { message: /no key for allowed host github\.com/ });
  t.throws(() => sshFiles(secret, hosts, { ...options, knownHosts: 'github.com not-a-key' }, new Redactor()), { message: /line 1/ });
  const fromSecret = secretOf('kubernetes.io/ssh-auth', { 'ssh-privatekey': ssh.privateKey, known_hosts: `github.com ${ssh.hostPublicKey}\n` });
  t.equal(sshFiles(fromSecret, hosts, { ...options, knownHosts: '' }, new Redactor()).length, 3, 'a known_hosts key in the Secret is accepted');
  const encrypted = secretOf('kubernetes.io/ssh-auth', { 'ssh-privatekey': ssh.encryptedKey });
  t.throws(() => sshFiles(encrypted, hosts, { ...options, knownHosts: `github.com ${ssh.hostPublicKey}` }, new Redactor()), { message: /passphrase-protected/ });
  const bogus = secretOf('kubernetes.io/ssh-auth', { 'ssh-privatekey': token('not-a-key') });
  t.throws(() => sshFiles(bogus, hosts, { ...options, knownHosts: `github.com ${ssh.hostPublicKey}` }, new Redactor()), { message: /not a PEM or OpenSSH private key/ });
  t.throws(() => sshFiles(secret, hosts, { ...options, consumerDir: '../x', knownHosts: `github.com ${ssh.hostPublicKey}` }, new Redactor()), { code: 'CONFIG_CREDENTIALS_INPUT' });
});

t.test('known_hosts: hashed entries match their host only', async (t) => {
  const ssh = makeSshFixture();
  const dir = mkdtempSync(join(tmpdir(), 'known-hosts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'known_hosts');
  writeFileSync(file, `github.com ${ssh.hostPublicKey}\nexample.org ${ssh.otherHostPublicKey}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'pipe', timeout: 10_000 });
  const hashed = execFileSync('cat', [file], { encoding: 'utf8' });
  t.match(hashed, /^\|1\|/m, 'ssh-keygen hashed the names');
  const scoped = scopeKnownHosts(hashed, parseAllowedHosts(['github.com']));
  t.equal(scoped.trim().split('\n').length, 1);
  t.match(scoped, ssh.hostPublicKey.split(' ')[1]!);
});

t.test('opaque: keys go to validated relative file names', async (t) => {
  const value = token('opaque');
  const files = opaqueFiles(secretOf('Opaque', { token: value, 'ca.pem': 'x' }), parseOpaqueMappings(['token=registry/token', 'ca.pem']));
  t.same(
    files.map((file) => [file.path, file.content.toString()]),
    [['files/registry/token', value], ['files/ca.pem', 'x']],
  );
  for (const bad of ['k=../x', 'k=/abs', 'k=a/../b', 'k=.hidden', 'k=a//b', 'bad key=x', `k=${'a'.repeat(49)}`]) {
    t.throws(() => parseOpaqueMappings([bad]), { code: 'CONFIG_CREDENTIALS_INPUT' }, bad);
  }
  t.throws(() => parseOpaqueMappings(['a=x', 'b=x/y']), { message: /twice, or as both a file and a folder/ });
  t.throws(() => parseOpaqueMappings(Array.from({ length: 9 }, (_, i) => `k${i}`)), { message: /at most 8/ });
  t.throws(() => opaqueFiles(secretOf('Opaque', {}), parseOpaqueMappings(['missing'])), { code: 'CONFIG_SECRET_KEY_MISSING' });
});
