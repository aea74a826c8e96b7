import t from 'tap';
import { DOCKER_HUB_CONFIG_KEY, normaliseRegistryKey, parseAllowedHost, parseAllowedHosts, registryConfigKey } from '../../src/credentials/hosts.ts';

t.test('normalises docker config keys: scheme, path, case and Docker Hub aliases', async (t) => {
  t.equal(normaliseRegistryKey('https://index.docker.io/v1/'), 'docker.io');
  t.equal(normaliseRegistryKey('registry-1.docker.io'), 'docker.io');
  t.equal(normaliseRegistryKey('HTTPS://GHCR.IO/v2/'), 'ghcr.io');
  t.equal(normaliseRegistryKey('http://localhost:5000'), 'localhost:5000');
  t.equal(normaliseRegistryKey('docker.io:443'), 'docker.io:443', 'a port makes it another host, not Docker Hub');
  t.equal(normaliseRegistryKey('*.example.com'), undefined, 'wildcards are not hosts');
  t.equal(normaliseRegistryKey('user@host'), undefined);
});

t.test('allowed hosts match exactly', async (t) => {
  const host = parseAllowedHost('ghcr.io');
  t.equal(host.key, 'ghcr.io');
  t.not(normaliseRegistryKey('evil.ghcr.io'), host.key);
  t.not(normaliseRegistryKey('ghcr.io.evil.com'), host.key);
  t.equal(registryConfigKey(parseAllowedHost('index.docker.io')), DOCKER_HUB_CONFIG_KEY);
  t.same(parseAllowedHost('git.example.com:2222'), { key: 'git.example.com:2222', hostname: 'git.example.com', port: 2222 });
});

t.test('rejects hosts that are not bare lower-case names, naming the rule', async (t) => {
  for (const bad of ['https://ghcr.io', 'GHCR.io', '*.ghcr.io', 'ghcr.io/path', 'host:99999', '', 'a b', 'host\n']) {
    t.throws(() => parseAllowedHost(bad), { code: 'CONFIG_CREDENTIALS_INPUT' }, JSON.stringify(bad));
  }
  t.throws(() => parseAllowedHosts(Array.from({ length: 17 }, (_, i) => `h${i}.io`)), { code: 'CONFIG_CREDENTIALS_INPUT' });
  t.equal(parseAllowedHosts(['docker.io', 'index.docker.io']).length, 1, 'aliases collapse to one host');
});
