// The kit configuration is checked field by field: every mistake a platform
// team can make in kit.yaml is refused with the field's path, the rule and
// what to write, never passed on into a policy that allows more than meant.
import t from 'tap';
import { parseKitConfig, readKitConfig } from '../../src/kit/config/kit-config.ts';
import { BASE_CONFIG } from './fixtures.ts';

function withEgress(egress: Record<string, unknown>) {
  return { ...structuredClone(BASE_CONFIG), egress: { ...structuredClone(BASE_CONFIG.egress), ...egress } };
}

t.test('a valid config parses, with the defaults filled in', async (t) => {
  const config = parseKitConfig(structuredClone(BASE_CONFIG), 'kit.yaml');
  t.equal(config.egress.registries[0]!.ports[0], 443, 'ports default to 443');
  t.same(config.egress.dns, { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' }, ports: [53] });
  t.equal(config.chains.signer, 'keyless');
  t.equal(config.observability.tektonNamespace, 'tekton-pipelines');
});

t.test('CIDRs: generated good and bad spellings', async (t) => {
  const good = ['10.0.50.0/24', '10.0.0.1/32', '192.168.0.0/16', 'fd00::/64', '2001:db8::/32', '172.16.0.0/12'];
  const bad: [string, RegExp][] = [
    ['0.0.0.0/0', /allows every address/],
    ['::/0', /allows every address/],
    ['10.0.50.1/24', /not a network address for \/24/],
    ['10.0.50.0', /must be a CIDR/],
    ['10.0.50.0/33', /must be a CIDR/],
    ['10.0.50.0/-1', /must be a CIDR/],
    ['300.0.0.0/8', /must be a CIDR/],
    ['registry.example.com/32', /must be a CIDR/],
    ['10.0.50.0/24 ', /must be a CIDR/],
    ['fd00::/129', /must be a CIDR/],
  ];
  for (const cidr of good) t.doesNotThrow(() => parseKitConfig(withEgress({ registries: [{ name: 'r', cidrs: [cidr] }] }), 'kit.yaml'), cidr);
  for (const [cidr, message] of bad) {
    t.throws(() => parseKitConfig(withEgress({ registries: [{ name: 'r', cidrs: [cidr] }] }), 'kit.yaml'), { code: 'CONFIG_KIT_INVALID', message: new RegExp(`egress\\.registries\\[0\\]\\.cidrs\\[0\\]: .*${message.source}`) }, JSON.stringify(cidr));
  }
  t.equal(good.length + bad.length, 16);
});

t.test('every other field is checked, and unknown fields are refused where they are', async (t) => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['namespace', { namespace: 'CI' }, /namespace: must be a DNS-1123 label/],
    ['port 0', withEgress({ registries: [{ name: 'r', cidrs: ['10.0.0.0/8'], ports: [0] }] }), /egress\.registries\[0\]\.ports\[0\]/],
    ['port 65536', withEgress({ gitServers: [{ name: 'g', cidrs: ['10.0.0.0/8'], ports: [65536] }] }), /egress\.gitServers\[0\]\.ports\[0\]/],
    ['no cidrs', withEgress({ packageProxies: [{ name: 'p', cidrs: [] }] }), /egress\.packageProxies\[0\]\.cidrs/],
    ['name', withEgress({ registries: [{ name: 'Reg', cidrs: ['10.0.0.0/8'] }] }), /egress\.registries\[0\]\.name: must be a DNS-1123 label/],
    ['unknown top-level', { ...structuredClone(BASE_CONFIG), rbac: {} }, /\(the file\): is not a kit setting \(unknown field "rbac"\)/],
    ['unknown egress field', withEgress({ allowAll: true }), /egress: is not a kit setting \(unknown field "allowAll"\)/],
    ['unknown destination field', withEgress({ registries: [{ name: 'r', cidrs: ['10.0.0.0/8'], hosts: ['x'] }] }), /egress\.registries\[0\]: is not a kit setting/],
    ['api port', withEgress({ kubernetesApi: { cidrs: ['10.0.0.1/32'] } }), /egress\.kubernetesApi\.port/],
    ['kms without ref', { ...structuredClone(BASE_CONFIG), chains: { signer: 'kms' } }, /chains\.kmsRef: kmsRef is required with signer kms/],
    ['kmsRef without kms', { ...structuredClone(BASE_CONFIG), chains: { signer: 'keyless', kmsRef: 'gcpkms://x' } }, /chains\.kmsRef/],
    ['http rekor', { ...structuredClone(BASE_CONFIG), chains: { rekorUrl: 'http://rekor.internal' } }, /chains\.rekorUrl/],
    ['signer', { ...structuredClone(BASE_CONFIG), chains: { signer: 'pgp' } }, /chains\.signer/],
    ['hours', { ...structuredClone(BASE_CONFIG), observability: { production: { pipelines: 'p', approvedHoursUtc: { from: 19, to: 7 } } } }, /observability\.production\.approvedHoursUtc: from must be before to/],
    ['spike factor', { ...structuredClone(BASE_CONFIG), observability: { durationSpikeFactor: 1 } }, /observability\.durationSpikeFactor/],
    ['param value', { ...structuredClone(BASE_CONFIG), params: { 'registry-secret-name': 7 } }, /params\.registry-secret-name/],
    ['a collector without pod labels', withEgress({ collectors: [{ name: 'pg', namespace: 'monitoring', podLabels: {}, ports: [9091] }] }), /egress\.collectors\[0\]\.podLabels: name at least one label/],
    ['a collector without ports', withEgress({ collectors: [{ name: 'pg', namespace: 'monitoring', podLabels: { app: 'pg' }, ports: [] }] }), /egress\.collectors\[0\]\.ports/],
  ];
  for (const [label, value, message] of cases) t.throws(() => parseKitConfig(value, 'kit.yaml'), { code: 'CONFIG_KIT_INVALID', message }, label);
  t.throws(
    () => parseKitConfig(withEgress({ registries: [{ name: 'same', cidrs: ['10.0.0.0/8'] }], gitServers: [{ name: 'same', cidrs: ['10.1.0.0/16'] }] }), 'kit.yaml'),
    { code: 'CONFIG_KIT_INVALID', message: /egress destination "same" is named twice/ },
  );
});

t.test('kit.yaml text: syntax errors with their position, bounded size, duplicate keys', async (t) => {
  t.throws(() => readKitConfig('namespace: ci\negress: [\n', 'kit.yaml'), { code: 'CONFIG_KIT_INVALID', message: /kit\.yaml is not valid YAML at line \d+, column \d+/ });
  t.throws(() => readKitConfig('namespace: ci\nnamespace: other\negress: {}\n', 'kit.yaml'), { code: 'CONFIG_KIT_INVALID', message: /DUPLICATE_KEY/ }, 'a key given twice is not silently the last one');
  t.throws(() => readKitConfig(`# ${'x'.repeat(300 * 1024)}\n`, 'kit.yaml'), { code: 'CONFIG_KIT_INVALID', message: /larger than/ });
  t.equal(readKitConfig('namespace: ci\negress: {}\n', 'kit.yaml').namespace, 'ci');
  const error = (() => {
    try {
      readKitConfig('namespace: ci\negress: {registries: [{name: r, cidrs: ["0.0.0.0/0"]}]}\n', 'kit.yaml');
    } catch (caught) {
      return caught as { message: string; hint: string };
    }
  })();
  t.match(error?.hint, /README/, 'the hint says where the settings are documented');
});
