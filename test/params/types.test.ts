import t from 'tap';
import { quoteUntrusted } from '../../src/errors.ts';
import { compileRuleSet } from '../../src/params/compile.ts';
import { validateParams } from '../../src/params/validate.ts';
import type { ParamRule } from '../../src/params/rules.ts';
import { FORBIDDEN_CHARACTERS, LOOKALIKES, ONE_MEGABYTE, SEED_ATTACK, SHELL_ATTACKS } from './attack-strings.ts';

/** Runs one value through validateParams with a one-rule set; returns the failure reason or undefined. */
async function check(rule: ParamRule, value: string): Promise<string | undefined> {
  const result = validateParams({ p: value }, await compileRuleSet({ p: rule }));
  return result.failures[0]?.reason;
}

interface TypeTable {
  rule: ParamRule;
  /** A value the type accepts, used as the carrier for injected characters. */
  carrier: string;
  good: string[];
  bad: string[];
}

const sha1 = '3f786850e387550fdab836ed7e6dc881de23001b';
const sha256 = '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae';

const tables: Record<string, TypeTable> = {
  'git-sha': {
    rule: { type: 'git-sha' },
    carrier: sha1,
    good: [sha1, sha256, '0'.repeat(40), 'f'.repeat(64), 'a'.repeat(40)],
    bad: [
      '', sha1.slice(0, 39), `${sha1}0`, sha1.toUpperCase(), sha1.slice(0, 7), 'HEAD', 'main', 'refs/heads/main',
      `${sha1.slice(0, 39)}g`, ` ${sha1}`, `${sha1} `, `${sha1}\n`, sha256.slice(0, 63), `${sha256}0`, `0x${sha1.slice(2)}`,
      `${sha1}^`, `${sha1}~1`, `${sha1}..${sha1}`, `-${sha1.slice(1)}`, sha1.replace('a', '\u0430'),
    ],
  },
  'image-tag': {
    rule: { type: 'image-tag' },
    carrier: 'v1.2.3',
    good: ['latest', 'v1.2.3', '1.0', 'A', '_', '_build', 'sha-3f78685', 'release_2024-01.02', 'a'.repeat(128), '0', 'v1.2.3-rc.1'],
    bad: ['', '.hidden', '-dash', 'a'.repeat(129), 'v1+build', 'a:b', 'a/b', 'a@b', 'tag with space', 'ümlaut', 'a$b', 'a,b', 'a%b', 'a=b'],
  },
  'image-reference': {
    rule: { type: 'image-reference' },
    carrier: 'registry.example.com/team/app:v1',
    good: [
      'ubuntu', 'ubuntu:22.04', 'library/ubuntu', 'docker.io/library/ubuntu:latest', 'ghcr.io/org/app',
      `ghcr.io/org/app@sha256:${sha256}`, `ghcr.io/org/app:v1@sha256:${sha256}`, 'localhost/app', 'localhost:5000/app:dev',
      'registry.example.com:8443/a/b/c', 'a.b/c', 'my-registry.io/a__b/c.d/e-f--g',
      'registry/app:5000', 'REGISTRY.EXAMPLE.COM/app', '127.0.0.1:5000/app',
    ],
    bad: [
      '', 'Ubuntu', 'org/App', 'app:', 'app@', 'app@sha256:abc', `app@sha512:${sha256}${sha256}`, `app@sha256:${sha256.toUpperCase()}`,
      '/app', 'app/', 'a//b', 'registry.example.com/', 'app:.tag', 'app:-tag', `app:${'a'.repeat(129)}`, 'a_/b', 'a..b', 'a-/b',
      'registry.example.com:0/app', 'registry.example.com:99999/app', 'registry.example.com:port/app', '-reg.io/app', 'reg-.io/app',
      '[::1/app', '[notipv6]:5000/app', '[::1]:5000/app', '[2001:db8::1]/app', `${'a'.repeat(256)}`, 'app:v1 extra', 'app;rm', 'https://ghcr.io/app', 'ghcr.io/app#x',
    ],
  },
  'image-reference (allowIpv6)': {
    rule: { type: 'image-reference', allowIpv6: true },
    carrier: '[2001:db8::1]:5000/team/app:v1',
    good: ['[::1]:5000/app', '[2001:db8::1]/app', '[2001:db8::1]:5000/team/app:v1', 'ghcr.io/org/app'],
    bad: ['[::1/app', '[notipv6]:5000/app', '[::1]x/app', '[::1]:0/app'],
  },
  'image-reference (requireDigest)': {
    rule: { type: 'image-reference', requireDigest: true },
    carrier: `ghcr.io/org/app@sha256:${sha256}`,
    good: [`ghcr.io/org/app@sha256:${sha256}`, `ghcr.io/org/app:v1@sha256:${sha256}`, `alpine@sha256:${sha256}`],
    bad: ['ghcr.io/org/app', 'ghcr.io/org/app:v1', 'alpine:latest', `ghcr.io/org/app@${sha256}`, `ghcr.io/org/app@sha256:${sha256}x`],
  },
  semver: {
    rule: { type: 'semver' },
    carrier: '1.2.3',
    good: ['0.0.0', '1.2.3', '10.20.30', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0-x.7.z.92', '1.0.0-alpha+001',
      '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85', '1.0.0+21AF26D3----117B344092BD', '1.0.0-rc.1+build.1', '1.2.3----RC-SNAPSHOT.12.9.1--.12+788'],
    bad: ['', '1', '1.2', '1.2.3.4', 'v1.2.3', '01.2.3', '1.02.3', '1.2.03', '1.2.3-', '1.2.3+', '1.2.3-01', '1.2.3-a..b', '1.2.3+a..b',
      '1.2.3-a_b', '-1.2.3', '1.2.3 ', 'a.b.c', '1.2.3-\u03b1', '1.2.x', '1.2.3-beta!'],
  },
  'semver (allowVPrefix)': {
    rule: { type: 'semver', allowVPrefix: true },
    carrier: 'v1.2.3',
    good: ['v1.2.3', '1.2.3', 'v0.1.0-rc.1'],
    bad: ['V1.2.3', 'vv1.2.3', 'v', 'v01.2.3', 'version1.2.3'],
  },
  'dns-label': {
    rule: { type: 'dns-label' },
    carrier: 'my-app',
    good: ['a', '0', 'my-app', 'a1-b2', 'a'.repeat(63), 'x--y', '123'],
    bad: ['', '-a', 'a-', 'A', 'my_app', 'my.app', 'a'.repeat(64), 'a b', 'app!', '\u0430pp', 'a/b'],
  },
  'k8s-name': {
    rule: { type: 'k8s-name' },
    carrier: 'my-app.team',
    good: ['a', 'my-app', 'my-app.team', 'a.b.c', `${'a'.repeat(63)}.${'b'.repeat(63)}`, '0.0', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
    bad: ['', '.a', 'a.', 'a..b', 'A.b', 'a_b', '-a.b', 'a-.b', `${'a'.repeat(64)}.b`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, 'a b', 'a/b'],
  },
  'relative-path': {
    rule: { type: 'relative-path' },
    carrier: 'src/app',
    good: ['.', 'a', 'src/app', 'a/b/c.txt', '.github/workflows', 'a..b', '...', 'a/.hidden', 'v1.2+build@x', 'node_modules/@scope/pkg', `${'a/'.repeat(100)}z`],
    bad: ['', '/', '/etc/passwd', '..', '../x', 'a/../b', 'a/..', './a', 'a/./b', 'a/.', 'a//b', 'a/', '-rf', '--help', 'a\\b', '..\\x',
      'a b', 'a*', 'a?', '[a]', '~', '~/x', 'a;b', '$(x)', '`x`', 'a"b', "a'b", 'C:\\x', 'ü', 'a:b', 'a/b/', `${'a/'.repeat(2048)}z`],
  },
  'https-url': {
    rule: { type: 'https-url' },
    carrier: 'https://example.com/path',
    good: ['https://example.com', 'https://example.com/', 'https://example.com/a/b#e', 'HTTPS://EXAMPLE.COM/x', 'https://xn--80ak6aa92e.com/',
      'https://example.com:8443/x', 'https://127.0.0.1/', 'https://a.b.c.d/%20x', 'https://example.com/a%2Fb'],
    bad: ['', 'http://example.com', 'ftp://example.com', 'https:example.com', 'https:/example.com', 'https:///example.com', '//example.com',
      'example.com', 'https://user@example.com', 'https://user:pass@example.com', 'https://@example.com', 'https://example.com\\@evil.com',
      'https://ex ample.com', 'https://example.com/a b', 'https://\u0430pple.com', 'https://\uff45xample.com', 'https://example.com/\u00e9',
      'https://', 'https://:443', 'javascript:alert(1)', 'https://example.com:99999/', 'file:///etc/passwd', 'data:text/html,x',
      'https://example.com/a/b?c=d#e', 'https://[::1]/'],
  },
  'https-url (allowQuery, allowIpv6)': {
    rule: { type: 'https-url', allowQuery: true, allowIpv6: true },
    carrier: 'https://example.com/path?a=1&b=2#top',
    good: ['https://example.com/a/b?c=d#e', 'https://[::1]/', 'https://[2001:db8::1]:8443/x?y=z', 'https://example.com?a', 'https://example.com/#a?b'],
    bad: ['https://example.com/?', 'https://[::FFFF:127.0.0.1]/', 'https://[::1', 'https://example.com/a&b', 'https://example.com/[x]', 'https://example.com/?a=$x'],
  },
  'https-url (publicHostsOnly)': {
    rule: { type: 'https-url', publicHostsOnly: true },
    carrier: 'https://github.com/org/repo.git',
    good: ['https://github.com/org/repo.git', 'https://gitlab.example.com/x', 'https://127.0.0.1.nip.io/'],
    bad: ['https://127.0.0.1/', 'https://8.8.8.8/', 'https://localhost/', 'https://intranet/', 'https://metadata.google.internal/', 'https://kubernetes.default.svc/'],
  },
  'https-url (allowedHosts)': {
    rule: { type: 'https-url', allowedHosts: ['github.com', 'Registry.Example.com:8443', 'b\u00fccher.example'] },
    carrier: 'https://github.com/org/repo',
    good: ['https://github.com/org/repo', 'https://GITHUB.COM/x', 'https://registry.example.com:8443/v2/', 'https://xn--bcher-kva.example/',
      'https://github.com:443/x'],
    bad: ['https://gist.github.com/x', 'https://github.com.evil.com/x', 'https://evil.com/github.com', 'https://evil.com?github.com',
      'https://github.com:8443/x', 'https://registry.example.com/v2/', 'https://g\u0456thub.com/x', 'https://xn--gthub-n4a.com/',
      'https://github.com@evil.com/', 'https://evil.com#@github.com', 'https://b\u00fccher.example/'],
  },
  enum: {
    rule: { type: 'enum', values: ['dev', 'staging', 'prod'] },
    carrier: 'prod',
    good: ['dev', 'staging', 'prod'],
    bad: ['', 'Prod', 'PROD', ' prod', 'prod ', 'pro', 'production', 'prod\u200b', 'pr\u043ed', 'dev,prod', 'dev|prod', '*'],
  },
  integer: {
    rule: { type: 'integer', min: -5, max: 100 },
    carrier: '42',
    good: ['0', '1', '42', '100', '-5', '-1'],
    bad: ['', '101', '-6', '+1', '01', '-0', '00', '1.0', '1e2', '0x10', ' 1', '1 ', '1_000', '1,000', '\uff11', '\u0661', 'NaN', 'Infinity', '--1', '-', '4 2'],
  },
  'integer (unbounded)': {
    rule: { type: 'integer' },
    carrier: '7',
    good: ['9007199254740991', '-9007199254740991', '1234567890'],
    bad: ['9007199254740992', '-9007199254740992', '99999999999999999', '1'.repeat(400)],
  },
  bool: {
    rule: { type: 'bool' },
    carrier: 'true',
    good: ['true', 'false'],
    bad: ['', 'True', 'FALSE', 'yes', 'no', '1', '0', 'on', 't', 'true ', ' false', 'tru\u0435'],
  },
  regex: {
    rule: { type: 'regex', pattern: '[a-z][a-z0-9]*(-[a-z0-9]+)*', maxLength: 32 },
    carrier: 'my-service',
    good: ['a', 'my-service', 'a1-b2-c3', 'x'.repeat(32)],
    bad: ['', '1a', 'a-', 'a--b', 'A', 'x'.repeat(33), 'my service', 'a\u200bb', 'my-service\nother', 'ok;rm', 'prefix my-service'],
  },
  'regex (with its own anchors)': {
    rule: { type: 'regex', pattern: '^v[0-9]+$', maxLength: 11 },
    carrier: 'v12',
    good: ['v1', 'v123456789'],
    bad: ['v', 'xv1', 'v1x', 'v1\n', 'v12345678901'],
  },
  'regex (alternation is anchored as a whole)': {
    rule: { type: 'regex', pattern: 'abc|def', maxLength: 10 },
    carrier: 'abc',
    good: ['abc', 'def'],
    bad: ['abcdef', 'abcx', 'xdef', 'ab'],
  },
  text: {
    rule: { type: 'text', maxLength: 200 },
    carrier: 'hello world',
    good: ['hello world', 'Ünïcödé ok', '日本語', 'emoji \u{1f600}', 'a\u00a0b', 'family \u{1f468}\u200d\u{1f469}\u200d\u{1f467}', 'heart \u2764\ufe0f', ...SHELL_ATTACKS],
    bad: ['', 'x'.repeat(201), 'line1\nline2', 'line1\r\nline2', 'a\tb', 'a\u2800b', 'a\ufffcb', 'a\ufdd0b', 'a\u{10ffff}b', 'a\u{50000}b', '\u{1f44d}\u200d\u{1f44d}', 'a\ufe0f'],
  },
  'text (allowNewlines)': {
    rule: { type: 'text', maxLength: 200, allowNewlines: true },
    carrier: 'line1 line2\nx',
    good: ['line1\nline2', 'line1\r\nline2', '\n', 'a\n\nb'],
    bad: ['a\rb', 'a\r', 'a\u2028b', 'a\u0085b', 'a\tb', 'a\u000bb'],
  },
};

for (const [name, table] of Object.entries(tables)) {
  t.test(`${name}: good values pass`, async (t) => {
    for (const value of table.good) t.equal(await check(table.rule, value), undefined, `accepts ${quoteUntrusted(value, 60)}`);
  });
  t.test(`${name}: bad values fail`, async (t) => {
    for (const value of table.bad) t.type(await check(table.rule, value), 'string', `rejects ${quoteUntrusted(value, 60)}`);
  });
  t.test(`${name}: every forbidden character fails, wherever it sits`, async (t) => {
    t.equal(await check(table.rule, table.carrier), undefined, 'the carrier itself passes');
    const middle = Math.floor(table.carrier.length / 2);
    for (const [label, ch] of FORBIDDEN_CHARACTERS) {
      if (ch === '\n' && table.rule.type === 'text' && table.rule.allowNewlines) continue;
      for (const value of [ch + table.carrier, table.carrier.slice(0, middle) + ch + table.carrier.slice(middle), table.carrier + ch]) {
        const reason = await check(table.rule, value);
        t.type(reason, 'string', `rejects ${label} in ${quoteUntrusted(value, 80)}`);
        if (value.length <= 5) t.match(reason, /holds|characters long/, 'names the character or the length');
      }
    }
  });
  t.test(`${name}: a 1 MB value fails on length before anything else`, async (t) => {
    // An enum names its values instead: their length is not something the author chose.
    const expected = table.rule.type === 'enum' ? /^must be one of / : /is 1048576 characters long; at most \d+ are allowed/;
    t.match(await check(table.rule, ONE_MEGABYTE), expected);
    t.match(await check(table.rule, `${ONE_MEGABYTE}\u0000`), table.rule.type === 'enum' ? expected : /is 1048577 characters long/);
  });
}

const STRICT_TYPES: [string, ParamRule][] = Object.entries(tables)
  .filter(([, table]) => table.rule.type !== 'text')
  .map(([name, table]) => [name, table.rule]);

t.test('shell syntax, globs and quotes fail every type except free text', async (t) => {
  for (const [name, rule] of STRICT_TYPES) {
    for (const value of SHELL_ATTACKS) t.type(await check(rule, value), 'string', `${name} rejects ${quoteUntrusted(value, 60)}`);
  }
});

t.test('the seed attack fails every type except free text, and text shows it escaped', async (t) => {
  for (const [name, rule] of STRICT_TYPES) t.type(await check(rule, SEED_ATTACK), 'string', name);
  t.equal(await check({ type: 'text', maxLength: 200 }, SEED_ATTACK), undefined, 'free text is printable text; it must still only reach programs via env/args');
});

t.test('Unicode look-alikes fail every type except free text', async (t) => {
  for (const [name, rule] of STRICT_TYPES) {
    for (const [label, value] of LOOKALIKES) t.type(await check(rule, value), 'string', `${name} rejects ${label}`);
  }
});

t.test('reasons never hold the value', async (t) => {
  for (const [name, table] of Object.entries(tables)) {
    for (const value of [...table.bad, SEED_ATTACK].filter((v) => v.length >= 10)) {
      const reason = await check(table.rule, value);
      if (reason) t.notOk(reason.includes(value), `${name}: reason for ${quoteUntrusted(value, 40)} does not echo it`);
    }
  }
});

t.test('an enum value that is too long is told the values, not a length', async (t) => {
  t.equal(await check({ type: 'enum', values: ['dev', 'staging', 'prod'] }, 'production'), 'must be one of "dev", "staging", "prod"');
});

t.test('optional rules accept an empty value and a missing one, but still check a given one', async (t) => {
  const rule: ParamRule = { type: 'git-sha', optional: true };
  t.equal(await check(rule, ''), undefined);
  t.ok(validateParams({}, await compileRuleSet({ p: rule })).ok);
  t.type(await check(rule, 'HEAD'), 'string');
});
