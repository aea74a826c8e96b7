// https-url, class by class: real URLs that must pass (and stay inert in a
// shell), then generated tables for each way a URL can be written so that
// two parsers, or a parser and a shell, read it differently.
import t from 'tap';
import { compileRuleSet } from '../../src/params/compile.ts';
import type { ParamRule } from '../../src/params/rules.ts';
import { validateParams } from '../../src/params/validate.ts';
import { allInert, SHELLS, shellVerdicts } from './shell-check.ts';

async function checker(rule: Omit<Extract<ParamRule, { type: 'https-url' }>, 'type'> = {}) {
  const compiled = await compileRuleSet({ url: { type: 'https-url', ...rule } });
  return (value: string) => validateParams({ url: value }, compiled).failures[0]?.reason;
}

const REAL_URLS = [
  'https://github.com/tektoncd/pipeline',
  'https://github.com/tektoncd/pipeline.git',
  'https://github.com/org/repo/archive/refs/tags/v1.2.3.tar.gz',
  'https://raw.githubusercontent.com/tektoncd/catalog/main/task/git-clone/0.9/git-clone.yaml',
  'https://gitlab.com/gitlab-org/gitlab.git',
  'https://gitlab.example.com/api/v4/projects/group%2Fsubgroup%2Fproject/repository/archive.tar.gz',
  'https://gitea.example.org/owner/repo.git',
  'https://bitbucket.org/workspace/repo.git',
  'https://dev.azure.com/org/project/_git/repo',
  'https://company.jfrog.io/artifactory/libs-release-local/com/example/app/1.0.0/app-1.0.0.jar',
  'https://artifactory.example.com:8443/artifactory/api/npm/npm-remote/@scope/pkg/-/pkg-1.2.3.tgz',
  'https://registry.npmjs.org/@tektoncd/cli',
  'https://repo1.maven.org/maven2/org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0.pom',
  'https://my-bucket.s3.eu-west-1.amazonaws.com/releases/app-1.2.3+build.5.tar.gz',
  'https://s3.amazonaws.com/my-bucket/path/to/object.zip',
  'https://storage.googleapis.com/my-bucket/dir/file.txt',
  'https://account.blob.core.windows.net/container/blob.bin',
  'https://example.com:8443/',
  'https://example.com',
  'https://EXAMPLE.com/Path/With/Case',
  'https://xn--bcher-kva.example/b%C3%BCcher',
  'https://example.com/%E6%97%A5%E6%9C%AC%E8%AA%9E/%D8%B9%D8%B1%D8%A8%D9%8A',
  'https://example.com/~user/public_html/index.html',
  'https://example.com/docs/page.html#section-2',
  'https://example.com/a,b;c'.replace(';', '%3B'),
  'https://example.com/files/report%20final.pdf',
  'https://example.com/100%25',
  'https://hub.docker.com/v2/repositories/library/alpine/tags',
  'https://10.0.0.5:8443/internal-but-allowed-without-publicHostsOnly',
];

const REAL_QUERY_URLS = [
  'https://my-bucket.s3.amazonaws.com/key.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123456789',
  'https://account.blob.core.windows.net/c/b.bin?sv=2022-11-02&ss=b&srt=o&sp=r&se=2024-01-01T00:00:00Z&sig=abc%2Bdef%3D',
  'https://api.github.com/repos/tektoncd/pipeline/releases?per_page=100&page=2',
  'https://gitlab.com/api/v4/projects/1/repository/files/README.md/raw?ref=main',
];

const REAL_IPV6_URLS = ['https://[2001:db8::1]/', 'https://[2001:db8::1]:8443/repo.git', 'https://[fe80::1]/x'];

t.test('real URLs pass, and each stays one inert shell word', async (t) => {
  const check = await checker();
  for (const url of REAL_URLS) t.equal(check(url), undefined, url);
  for (const shell of SHELLS) {
    t.same(shellVerdicts(shell, REAL_URLS, 'word').filter((v) => v !== allInert('word')), [], `${shell}: all ${REAL_URLS.length} inert unquoted`);
  }
});

t.test('URLs with a query or an IPv6 host need the opt-in, and are inert inside double quotes', async (t) => {
  const plain = await checker();
  const opted = await checker({ allowQuery: true, allowIpv6: true });
  const both = [...REAL_QUERY_URLS, ...REAL_IPV6_URLS];
  for (const url of REAL_QUERY_URLS) t.match(plain(url), /allowQuery/, `${url.slice(0, 60)} needs allowQuery`);
  for (const url of REAL_IPV6_URLS) t.match(plain(url), /allowIpv6/, `${url} needs allowIpv6`);
  for (const url of both) t.equal(opted(url), undefined, url.slice(0, 80));
  for (const shell of SHELLS) {
    t.same(shellVerdicts(shell, both, 'double-quoted').filter((v) => v !== allInert('double-quoted')), [], `${shell}: inert quoted`);
    // dash leaves a glob that matches no file as it is, so it only shows the "&"; bash (nullglob) shows the "?" too.
    const unsafe = shell === '/bin/bash' ? REAL_QUERY_URLS : REAL_QUERY_URLS.filter((url) => url.includes('&'));
    t.ok(unsafe.length > 0 && shellVerdicts(shell, unsafe, 'word').every((v) => v !== allInert('word')),
      `${shell}: a query URL is not safe unquoted, which is why it needs the opt-in`);
  }
});

t.test('the issue\'s attacks after a real URL are all refused', async (t) => {
  const check = await checker();
  const attacks = ['`id`', '$(id)', '${IFS}', ';id', '|id', '&&id', '<x', '>x', "'", '"', '{a}', '}', '^', '%', '/../..', '%2e%2e', '/%2e%2e/%2e%2e', '\\..'];
  for (const attack of attacks) t.type(check(`https://github.com/org/repo.git${attack}`), 'string', attack);
});

t.test('every ASCII character outside RFC 3986, and every shell-active one inside it, is refused in every part', async (t) => {
  const check = await checker({ allowQuery: true, allowIpv6: true });
  const rfc = /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/;
  const outside = [];
  for (let code = 0x20; code < 0x7f; code++) if (!rfc.test(String.fromCharCode(code))) outside.push(String.fromCharCode(code));
  t.same(outside.join(''), ' "<>\\^`{|}', 'the characters RFC 3986 leaves out');
  const places = (ch: string) => [`https://exa${ch}mple.com/`, `https://example.com/a${ch}b`, `https://example.com/a?x=${ch}`, `https://example.com/a#x${ch}`, `https://example.com/${ch}`];
  for (const ch of [...outside, ...'!$\'()*;']) {
    for (const url of places(ch)) t.type(check(url), 'string', url);
  }
  for (const cp of [0xe9, 0x430, 0xff45, 0x65e5, 0x1f600]) {
    t.match(check(`https://example.com/${String.fromCodePoint(cp)}`), /non-ASCII/, `U+${cp.toString(16)}`);
    t.match(check(`https://ex${String.fromCodePoint(cp)}ample.com/`), /non-ASCII/, `U+${cp.toString(16)} in the host`);
  }
});

t.test('dot segments are refused in every encoding, at every place in the path', async (t) => {
  const check = await checker({ allowQuery: true });
  const dots = ['.', '%2e', '%2E', '%252e', '%252E', '%25252e'];
  const slashes = ['/', '%2f', '%2F', '%5c', '%5C', '%252f'];
  let count = 0;
  for (const a of dots) {
    for (const b of ['', ...dots]) {
      const segment = a + b; // "." or ".." in some spelling
      for (const slash of slashes) {
        for (const url of [
          `https://example.com/${segment}`,
          `https://example.com/${segment}/x`,
          `https://example.com/a/${segment}`,
          `https://example.com/a${slash}${segment}${slash}b`,
          `https://example.com/a${slash}${segment}?q=1`,
          `https://example.com/a${slash}${segment}#f`,
        ]) {
          count++;
          t.type(check(url), 'string', url);
        }
      }
    }
  }
  t.ok(count > 1000, `${count} generated`);
  t.match(check('https://example.com/a/../b'), /"\." or "\.\." path segment/);
  t.match(check('https://example.com/a/%252e%252e/b'), /percent-encoded "\." or "\.\." path segment/);
  for (const url of ['https://example.com/...', 'https://example.com/.well-known/openid-configuration', 'https://example.com/a/..b', 'https://example.com/b../c', 'https://example.com/a.b.c']) {
    t.equal(check(url), undefined, `${url} is not a dot segment`);
  }
});

t.test('the host is written plainly: no percent-encoding, no user info, LDH labels, canonical ports', async (t) => {
  const check = await checker();
  const host = 'github.com';
  for (let i = 0; i < host.length; i++) {
    for (const hex of [host.charCodeAt(i).toString(16), host.charCodeAt(i).toString(16).toUpperCase()]) {
      const url = `https://${host.slice(0, i)}%${hex}${host.slice(i + 1)}/org/repo`;
      t.match(check(url), /percent-encoded host/, url);
    }
  }
  for (const url of ['https://user@github.com/', 'https://user:pass@github.com/', 'https://@github.com/', 'https://github.com:443@evil.com/', 'https://evil.com%40github.com/']) {
    t.type(check(url), 'string', url);
  }
  for (const url of ['https://a_b.example.com/', 'https://-a.example.com/', 'https://a-.example.com/', 'https://github.com./', 'https://.github.com/', 'https://a..b/', `https://${'a'.repeat(64)}.com/`]) {
    t.type(check(url), 'string', url);
  }
  for (const port of ['0', '00', '0443', '65536', '99999', '', 'http', '-1', '+443']) t.type(check(`https://example.com:${port}/`), 'string', `port ${port}`);
  for (const port of ['1', '443', '8443', '65535']) t.equal(check(`https://example.com:${port}/`), undefined, `port ${port}`);
});

t.test('percent-encoding: well-formed, only where needed, UTF-8, and no invisible characters', async (t) => {
  const check = await checker({ allowQuery: true });
  for (const bad of ['%', '%2', '%g0', '%0g', '%%41', '%-1']) {
    for (const url of [`https://example.com/${bad}`, `https://example.com/a${bad}z`, `https://example.com/a?q=${bad}`, `https://example.com/a#${bad}`]) {
      t.match(check(url), /percent-encoded byte|percent-encodes|not UTF-8|holds/, url);
    }
  }
  const unreserved = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
  for (const ch of unreserved) {
    const hex = ch.charCodeAt(0).toString(16).toUpperCase();
    t.type(check(`https://example.com/a%${hex}b`), 'string', `%${hex} (${ch})`);
  }
  for (let byte = 0; byte < 0x20; byte++) t.match(check(`https://example.com/a%${byte.toString(16).padStart(2, '0')}b`), /percent-encoded/, `%${byte.toString(16)}`);
  t.match(check('https://example.com/a%7Fb'), /percent-encoded/);
  for (const encoded of ['%E2%80%AE', '%E2%80%8B', '%EF%BB%BF', '%C2%AD', '%E2%A0%80', '%EF%BF%BE']) t.match(check(`https://example.com/${encoded}`), /percent-encoded/, encoded);
  for (const invalid of ['%C3', '%FF', '%C3%28', '%ED%A0%80', '%F4%90%80%80']) t.match(check(`https://example.com/${invalid}`), /not UTF-8/, invalid);
  for (const fine of ['%C3%A9', '%20', '%2F', '%25', '%3F', '%23', '%26', '%F0%9F%98%80']) t.equal(check(`https://example.com/a${fine}b`), undefined, fine);
});

/** Spellings of an IPv4 address that the WHATWG parser accepts. */
function ipv4Spellings(address: number[]): string[] {
  const [a, b, c, d] = address as [number, number, number, number];
  const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const hex = (x: number) => `0x${x.toString(16)}`;
  const oct = (x: number) => `0${x.toString(8)}`;
  return [
    `${a}.${b}.${c}.${d}`,
    String(n),
    hex(n),
    oct(n),
    [a, b, c, d].map(hex).join('.'),
    [a, b, c, d].map(oct).join('.'),
    `${a}.${b}.${(c << 8) | d}`,
    `${a}.${(b << 16) | (c << 8) | d}`,
    `${hex(a)}.${b}.${oct(c)}.${d}`,
    `${a}.${b}.${c}.${d}.`,
  ];
}

const IPV4_ADDRESSES = [[127, 0, 0, 1], [127, 1, 2, 3], [10, 0, 0, 1], [172, 16, 5, 4], [192, 168, 1, 1], [169, 254, 169, 254], [100, 100, 100, 200], [0, 0, 0, 0], [100, 64, 0, 1], [8, 8, 8, 8]];

t.test('IPv4 in every spelling the URL parser accepts: only the dotted form passes, and publicHostsOnly refuses it too', async (t) => {
  const plain = await checker();
  const internal = await checker({ publicHostsOnly: true });
  for (const address of IPV4_ADDRESSES) {
    const dotted = address.join('.');
    for (const spelling of ipv4Spellings(address)) {
      const url = `https://${spelling}/x`;
      const parsed = new URL(url).hostname;
      t.equal(parsed, dotted, `the URL parser reads ${spelling} as ${dotted}`);
      if (spelling === dotted) t.equal(plain(url), undefined, `${url} passes without publicHostsOnly`);
      else t.type(plain(url), 'string', `${url} is refused as non-canonical`);
      t.type(internal(url), 'string', `${url} is refused with publicHostsOnly`);
    }
    t.match(internal(`https://${dotted}/`), new RegExp(`IP address \\(${dotted.replace(/\./g, '\\.')}: `), `${dotted} is named`);
  }
  t.match(internal('https://169.254.169.254/latest/meta-data/'), /metadata/);
  t.match(internal('https://127.0.0.1/'), /loopback/);
  t.match(internal('https://10.0.0.1/'), /private/);
  t.match(internal('https://8.8.8.8/'), /public address/);
});

t.test('IPv6, IPv4-mapped and embedded forms: canonical ones pass with allowIpv6, none with publicHostsOnly', async (t) => {
  const ipv6 = await checker({ allowIpv6: true });
  const internal = await checker({ allowIpv6: true, publicHostsOnly: true });
  const cases: [string, RegExp][] = [
    ['::1', /loopback/], ['::', /unspecified/], ['fe80::1', /link-local/], ['fc00::1', /unique local/], ['fd00:ec2::254', /AWS instance metadata/],
    ['ff02::1', /multicast/], ['2001:db8::1', /documentation/], ['2606:4700:4700::1111', /public address/], ['fec0::1', /site-local/],
  ];
  // The embedded forms, in the canonical spelling the parser prints for them.
  const canonical = (address: string) => new URL(`https://[${address}]/`).hostname.slice(1, -1);
  for (const address of IPV4_ADDRESSES) {
    cases.push([canonical(`::ffff:${address.join('.')}`), /IPv4-mapped/], [canonical(`64:ff9b::${address.join('.')}`), /NAT64/]);
  }
  for (const [address, kind] of cases) {
    const url = `https://[${address}]/`;
    t.equal(new URL(url).hostname, `[${address}]`, `${address} is the parser's canonical form`);
    t.equal(ipv6(url), undefined, `${url} passes with allowIpv6`);
    t.match(internal(url), kind, `${url} is refused with publicHostsOnly, named`);
  }
  for (const spelling of ['::FFFF:127.0.0.1', '::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1', '0::1', '::0:1', '2001:0db8::1', '::ffff:169.254.169.254']) {
    const url = `https://[${spelling}]/`;
    t.match(ipv6(url), /non-canonical form; write it as \[/, `${url} must be written canonically`);
    t.type(internal(url), 'string');
  }
  t.equal(ipv6('https://[FE80::1]/'), undefined, 'hex digits in either case, as host names');
  t.match(ipv6('https://[::1/'), /unclosed/);
  t.type(ipv6('https://[::1]x/'), 'string');
  t.type(ipv6('https://[v1.x]/'), 'string');
});

t.test('publicHostsOnly refuses internal names; public names pass, and DNS stays out of reach', async (t) => {
  const internal = await checker({ publicHostsOnly: true });
  const names = ['localhost', 'LOCALHOST', 'app.localhost', 'metadata.google.internal', 'build.internal', 'printer.local', 'nas.home.arpa', 'kubernetes.default.svc',
    'api.default.svc.cluster.local', 'host.localdomain', 'x.test', 'x.invalid', 'intranet', 'metadata', 'kubernetes'];
  for (const name of names) t.type(internal(`https://${name}/`), 'string', name);
  for (const name of ['github.com', 'gitlab.example.com', 'localhost.example.com', 'internal.example.com', 'svc.example.com', '127.0.0.1.nip.io']) {
    t.equal(internal(`https://${name}/`), undefined, `${name} passes (a name; what it resolves to is for allowedHosts and the network to judge)`);
  }
});
