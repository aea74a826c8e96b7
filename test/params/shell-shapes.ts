/**
 * The generated table behind the shell guarantee tests: each type the
 * guarantee covers, as a valid value split at its structural points (URL
 * host, port, path, query, fragment; image registry, path, tag, digest;
 * semver pre-release and build; ...), and the shell metacharacters and
 * sequences to put at each point. Used by test/params/shell-guarantee.test.ts
 * and, against the real step image, test/e2e/validate-params-chroot.test.ts.
 */
import type { ParamRule } from '../../src/params/rules.ts';
import type { ShellSafety } from '../../src/params/shell.ts';

/** Every printable ASCII character that is not a letter or digit, and sequences that start an expansion, an operator or a traversal. */
export const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ '];
export const SEQUENCES = ['$(', '${', '$((', '`id`', '$(id)', '${IFS}', '$IFS', '&&', '||', '<(', '>(', '>>', '2>', ';id', '|id', '*/', '~/', ':~', '=~', '~root',
  '/../', '/..', '..', '%2e%2e', '%2E', '%25', '%', '%2', '%zz', '{a,b}', '[ab]', '?(x)', '!(x)', '\\$', "'x'", '"x"', ' x', '\tx', '#x', '-x', '--help'];
export const HAZARDS = [...PUNCTUATION, ...SEQUENCES];

/** Characters the shell guarantee refuses at the word level, wherever they sit. */
export const WORD_ACTIVE = [...' \t$`"\'\\;&|<>(){}*?[]!^'];

export interface Shape {
  name: string;
  rule: ParamRule;
  safety: ShellSafety;
  /** A valid value, split at structural points: the hazard goes between two parts. */
  parts: { label: string; before: string; after: string }[];
}

const sha1 = '3f786850e387550fdab836ed7e6dc881de23001b';
const digest = `sha256:${'a'.repeat(64)}`;

/** Splits a valid value at the given markers ("|"), naming each point. */
function at(value: string, labels: string[]): Shape['parts'] {
  const pieces = value.split('|');
  if (pieces.length !== labels.length + 1) throw new Error(`${value}: ${labels.length} labels for ${pieces.length - 1} points`);
  return labels.map((label, i) => ({ label, before: pieces.slice(0, i + 1).join(''), after: pieces.slice(i + 1).join('') }));
}

export const SHAPES: Shape[] = [
  { name: 'git-sha', rule: { type: 'git-sha' }, safety: 'word', parts: at(`|${sha1.slice(0, 20)}|${sha1.slice(20)}|`, ['start', 'middle', 'end']) },
  { name: 'image-tag', rule: { type: 'image-tag' }, safety: 'word', parts: at('|v1|.2|-rc_1|', ['start', 'middle', 'after dot', 'end']) },
  {
    name: 'image-reference',
    rule: { type: 'image-reference' },
    safety: 'word',
    parts: at(`|reg|istry.example.com|:|5000|/|team|/app|:|v1|@|${digest}|`, [
      'start', 'registry', 'registry end', 'port', 'port end', 'first path part', 'path', 'before tag', 'tag', 'tag end', 'digest', 'end',
    ]),
  },
  {
    name: 'image-reference (allowIpv6)',
    rule: { type: 'image-reference', allowIpv6: true },
    safety: 'double-quoted',
    parts: at('|[|2001:db8::1|]|:5000|/app|:v1|', ['start', 'in brackets', 'address end', 'after brackets', 'after port', 'before tag', 'end']),
  },
  { name: 'semver', rule: { type: 'semver' }, safety: 'word', parts: at('|1|.2.3-|rc|.1+|build|.5|', ['start', 'major', 'pre-release', 'pre-release end', 'build', 'build end', 'end']) },
  { name: 'semver (allowVPrefix)', rule: { type: 'semver', allowVPrefix: true }, safety: 'word', parts: at('|v|1.2.3|', ['start', 'after v', 'end']) },
  { name: 'dns-label', rule: { type: 'dns-label' }, safety: 'word', parts: at('|my|-app|', ['start', 'middle', 'end']) },
  { name: 'k8s-name', rule: { type: 'k8s-name' }, safety: 'word', parts: at('|my-app|.|team|', ['start', 'label end', 'label start', 'end']) },
  { name: 'relative-path', rule: { type: 'relative-path' }, safety: 'word', parts: at('|src|/|app/main|.go|', ['start', 'segment end', 'segment start', 'extension', 'end']) },
  { name: 'integer', rule: { type: 'integer' }, safety: 'word', parts: at('|-|4|2|', ['start', 'after sign', 'middle', 'end']) },
  { name: 'bool', rule: { type: 'bool' }, safety: 'word', parts: at('|tr|ue|', ['start', 'middle', 'end']) },
  {
    name: 'https-url',
    rule: { type: 'https-url' },
    safety: 'word',
    parts: at('|https://|git|.example.com|:8443|/|org/|repo.git|#|readme|', [
      'start', 'host start', 'host middle', 'host end', 'port end', 'path start', 'path middle', 'fragment start', 'fragment', 'end',
    ]),
  },
  {
    name: 'https-url (allowQuery, allowIpv6)',
    rule: { type: 'https-url', allowQuery: true, allowIpv6: true },
    safety: 'double-quoted',
    parts: at('|https://[|2001:db8::1|]:8443/|a/b|?|x|=1&|y=2|#|f|', [
      'start', 'IPv6 start', 'IPv6 end', 'path start', 'path end', 'query start', 'query key', 'query value', 'query end', 'fragment', 'end',
    ]),
  },
];

export interface Generated {
  shape: Shape;
  value: string;
  hazard: string;
  label: string;
}

export function generate(shape: Shape): Generated[] {
  return shape.parts.flatMap(({ label, before, after }) => HAZARDS.map((hazard) => ({ shape, value: before + hazard + after, hazard, label })));
}

