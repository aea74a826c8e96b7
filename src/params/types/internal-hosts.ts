/**
 * What https-url's `publicHostsOnly` refuses: every IP address (the URL
 * parser has already turned any spelling of one into its canonical form,
 * and https-url refuses the non-canonical spellings, so only dotted IPv4 and
 * bracketed IPv6 reach here), and host names that by standard or convention
 * never name a machine on the public internet. The ranges below only name
 * what kind of address it is, for the message: a public address is refused
 * too, since a bare address says nothing about who runs it.
 *
 * A public name can still resolve to a private address (127.0.0.1.nip.io,
 * DNS rebinding); no check without DNS can see that, which is why
 * `allowedHosts` is the control to use where it matters.
 */

/** Special-use and private-use names: RFC 6761 (localhost, test, invalid), RFC 6762 (local), RFC 8375 (home.arpa), ICANN's .internal, Kubernetes' cluster names. */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'localdomain', 'test', 'invalid', 'svc', 'cluster.local'];

export function describeInternalHost(hostname: string): string | undefined {
  const host = hostname.toLowerCase();
  if (host.startsWith('[')) return `is an IP address (${host}: ${classifyIpv6(host.slice(1, -1))})`;
  const v4 = parseIpv4(host);
  if (v4) return `is an IP address (${host}: ${classifyIpv4(v4)})`;
  const suffix = INTERNAL_SUFFIXES.find((name) => host === name || host.endsWith(`.${name}`));
  if (suffix === host) return `is "${suffix}", a name that only resolves inside a machine, network or cluster`;
  if (suffix) return `ends in ".${suffix}", a name that only resolves inside a machine, network or cluster`;
  if (!host.includes('.')) return `is a single-label name, which resolves through the cluster's search domains to an internal service`;
  return undefined;
}

function parseIpv4(host: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

/** [first address as octets, prefix length, what it is] */
const IPV4_RANGES: readonly (readonly [readonly number[], number, string])[] = [
  [[0, 0, 0, 0], 8, '"this network"'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 100, 100, 200], 32, 'a cloud metadata service'],
  [[100, 64, 0, 0], 10, 'carrier-grade NAT, shared'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 169, 254], 32, 'link-local, the cloud metadata service'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'IETF protocol assignments'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

const toNumber = (octets: readonly number[]) => ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;

export function classifyIpv4(octets: readonly number[]): string {
  const address = toNumber(octets);
  for (const [base, prefix, kind] of IPV4_RANGES) {
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    if (((address & mask) >>> 0) === toNumber(base)) return kind;
  }
  return 'a public address';
}

/** Eight 16-bit groups of a valid IPv6 address (as the URL parser prints it: lower case, "::" for zeros, no dotted tail). */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const part = (text: string | undefined) => (text ? text.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const front = part(head);
  const back = part(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

export function classifyIpv6(address: string): string {
  const groups = ipv6Groups(address);
  const zeros = (count: number) => groups.slice(0, count).every((group) => group === 0);
  const embedded = () => [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff];
  if (zeros(8)) return 'unspecified';
  if (zeros(7) && groups[7] === 1) return 'loopback';
  if (zeros(5) && groups[5] === 0xffff) return `IPv4-mapped ${embedded().join('.')}, ${classifyIpv4(embedded())}`;
  if (zeros(6)) return `IPv4-compatible ${embedded().join('.')}, ${classifyIpv4(embedded())}`;
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return `NAT64 for ${embedded().join('.')}, ${classifyIpv4(embedded())}`;
  }
  const first = groups[0]!;
  if (address === 'fd00:ec2::254') return 'unique local, the AWS instance metadata service';
  if ((first & 0xfe00) === 0xfc00) return 'unique local (private)';
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'site-local';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  if (first === 0x2001 && groups[1] === 0x0db8) return 'documentation';
  return 'a public address';
}
