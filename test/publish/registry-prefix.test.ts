import t from 'tap';
import { resolveRegistry } from '../../src/build/catalog.ts';
import { parseRegistryPrefix } from '../../src/oci/registry-prefix.ts';

/**
 * One parser for the registry prefix, used by build and publish alike: a
 * generated grid of hosts × namespaces, every good combination accepted as
 * written, every bad part refused by both commands with a USAGE error.
 */
const goodHosts = ['ghcr.io', 'registry.example.com', 'localhost:5000', '127.0.0.1:5000', '[::1]:5000', 'a-b.c-d.io:443', 'quay.io'];
const goodNamespaces = ['catalog', 'my-org/tekton', 'a/b/c', 'team_1/x.y', 'a__b/c--d'];
const badHosts = ['', 'Example.com', 'exa mple.com', '-bad.io', 'bad-.io', 'host:', 'host:0', 'host:65536', 'host:port', 'a..b', '[zz]:1', 'ho_st.io'];
const badNamespaces = ['', 'UPPER', 'a//b', 'a/', '/a', 'a b', '-a', 'a-', '.a', 'a/.b', 'a:tag', 'a@sha256:x', 'x'.repeat(181)];

t.test('every good host/namespace combination is accepted by build and publish alike', async (t) => {
  let cases = 0;
  for (const host of goodHosts) {
    for (const namespace of goodNamespaces) {
      const value = `${host}/${namespace}`;
      t.same(parseRegistryPrefix(value), { host, namespace, prefix: value }, value);
      t.equal(resolveRegistry(value, {}), value);
      cases++;
    }
  }
  t.equal(cases, goodHosts.length * goodNamespaces.length);
});

t.test('every bad host or namespace is refused by both, naming the rule', async (t) => {
  let cases = 0;
  const refuse = (value: string, what: string) => {
    t.throws(() => parseRegistryPrefix(value), { code: 'USAGE_REGISTRY' }, `${what}: ${JSON.stringify(value)}`);
    t.throws(() => resolveRegistry(value, {}), { code: 'USAGE_REGISTRY' });
    cases++;
  };
  for (const host of badHosts) for (const namespace of goodNamespaces.slice(0, 2)) refuse(`${host}/${namespace}`, 'bad host');
  for (const namespace of badNamespaces) for (const host of goodHosts.slice(0, 2)) refuse(`${host}/${namespace}`, 'bad namespace');
  for (const host of goodHosts) refuse(host, 'a bare host');
  for (const scheme of ['https://', 'http://', 'oci://', 'docker://']) refuse(`${scheme}ghcr.io/org`, 'a URL scheme');
  t.ok(cases > 50, `${cases} refusals`);
});

t.test('the messages say what to do', async (t) => {
  t.throws(() => parseRegistryPrefix('ghcr.io'), { message: /has no namespace after the host/, hint: /--registry "ghcr\.io\/catalog"/ });
  t.throws(() => parseRegistryPrefix('https://ghcr.io/org'), { code: 'USAGE_REGISTRY', hint: /leave out the scheme: --registry "ghcr\.io\/org"/ });
  t.throws(() => resolveRegistry(undefined, { TEKTON_CATALOG_REGISTRY: 'ghcr.io' }), { message: /^TEKTON_CATALOG_REGISTRY "ghcr\.io" is invalid/ }, 'the environment variable is named when it is the source');
  t.throws(() => parseRegistryPrefix('registry.example.com/x', { plainHttp: true }), { message: /--plain-http is allowed only for a loopback registry/ });
  t.same(parseRegistryPrefix('127.0.0.1:5000/x', { plainHttp: true }).host, '127.0.0.1:5000');
  t.equal(resolveRegistry(undefined, {}), 'ghcr.io/hardened-tekton/catalog', 'the default');
});
