// rule-shape.ts is the zod-free twin of RuleSetSchema that the step runs.
// These tests prove the two agree: same verdict, same output, and the same
// issues (path and message, in order) on a table of edge cases and on
// generated rule sets covering every field of every type with good, bad and
// wrongly typed values. The domain is what JSON.parse and YAML toJS produce:
// plain objects, arrays, strings, finite and non-finite numbers, booleans, null.
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { checkRuleSetShape, isParamName, PARAM_TYPES } from '../../src/params/rule-shape.ts';
import { ParamRuleSchema, RuleSetSchema } from '../../src/params/rules.ts';

z.config(en());

interface Verdict {
  issues: [string, string][];
  rules?: unknown;
}

const showPath = (path: readonly PropertyKey[]) => path.map(String).join('.');

function viaZod(data: Record<string, unknown>): Verdict {
  const parsed = RuleSetSchema.safeParse(data);
  if (parsed.success) return { issues: [], rules: parsed.data };
  return { issues: parsed.error.issues.map((issue) => [showPath(issue.path), issue.message]) };
}

function viaShape(data: Record<string, unknown>): Verdict {
  const { rules, issues } = checkRuleSetShape(data);
  if (issues.length === 0) return { issues: [], rules };
  return { issues: issues.map((issue) => [showPath(issue.path), issue.message]) };
}

/** A rule object that holds "__proto__" as an own key, as JSON.parse makes it. */
const withOwnProto = (rule: Record<string, unknown>) => ({ ...JSON.parse('{"__proto__": true}'), ...rule });

const EDGE_RULES: unknown[] = [
  { type: 'git-sha' },
  { type: 'git-sha', optional: true },
  { type: 'git-sha', optional: 'yes' },
  { type: 'git-sha', allowUpper: true },
  { type: 'git-sha', b: 1, c: 2 },
  { type: 'bool', constructor: 1, toString: 2 },
  withOwnProto({ type: 'bool' }),
  {},
  { type: 5 },
  { type: ['git-sha'] },
  { type: 'regexp' },
  { type: 'constructor' },
  { type: '__proto__' },
  { type: 'GIT-SHA' },
  'git-sha',
  5,
  NaN,
  null,
  true,
  [],
  [{ type: 'bool' }],
  { type: 'image-reference', requireDigest: true },
  { type: 'image-reference', requireDigest: null },
  { type: 'semver', allowVPrefix: 'true' },
  { type: 'https-url', allowedHosts: [] },
  { type: 'https-url', allowedHosts: ['github.com', 'x'.repeat(253)] },
  { type: 'https-url', allowedHosts: ['x'.repeat(254), 5, ''] },
  { type: 'https-url', allowedHosts: 'github.com' },
  { type: 'enum', values: ['', 'a'] },
  { type: 'enum', values: [] },
  { type: 'enum', values: [], bad: 1 },
  { type: 'enum', values: [1, 'x', null] },
  { type: 'enum', values: {} },
  { type: 'enum' },
  { type: 'integer' },
  { type: 'integer', min: 0, max: -0 },
  { type: 'integer', min: 1.5, max: '1' },
  { type: 'integer', min: 2 ** 53, max: -(2 ** 53) },
  { type: 'integer', min: 2 ** 53 - 1, max: -(2 ** 53 - 1) },
  { type: 'integer', min: 1e300, max: -1e300 },
  { type: 'integer', min: NaN, max: Infinity },
  { type: 'integer', min: -Infinity },
  { type: 'regex', pattern: 'a', maxLength: 1 },
  { type: 'regex', pattern: '', maxLength: 0 },
  { type: 'regex', pattern: 'x'.repeat(1024), maxLength: 65536 },
  { type: 'regex', pattern: 'x'.repeat(1025), maxLength: 65537 },
  { type: 'regex', pattern: 5 },
  { type: 'regex' },
  { type: 'text', maxLength: -1.5 },
  { type: 'text', maxLength: 65537.5 },
  { type: 'text', maxLength: -3 },
  { type: 'text', maxLength: -0 },
  { type: 'text', maxLength: 2 ** 53 },
  { type: 'text', maxLength: -(2 ** 60) },
  { type: 'text', maxLength: 1e300 },
  { type: 'text', maxLength: '5' },
  { type: 'text', maxLength: [] },
  { type: 'text', maxLength: 10, allowNewlines: 1, optional: null, extra: 'x' },
];

t.test('the edge-case table: same verdicts, outputs and issues as RuleSetSchema', async (t) => {
  for (const rule of EDGE_RULES) {
    const data = { a: rule };
    t.same(viaShape(data), viaZod(data), JSON.stringify(rule)?.slice(0, 80) ?? String(rule));
  }
});

t.test('param names: same verdict as the record key schema', async (t) => {
  const names = ['a', 'A_b.c-d', '_', 'git-revision', 'x'.repeat(128), 'x'.repeat(129), '', '1a', '-a', '.a', 'bad name', 'a\u202e', 'a\n', 'é', 'a/b', 'a$', 'constructor', 'toString'];
  for (const name of names) {
    const data = { [name]: { type: 'bool' }, ok: { type: 'bool' } };
    t.same(viaShape(data), viaZod(data), JSON.stringify(name));
  }
  // RuleSetSchema drops an own "__proto__" key without a word; checkRuleSet
  // refuses it before either check runs (rule-source.test.ts), and the twin
  // refuses it too rather than drop it.
  t.notOk(isParamName('__proto__'));
  const proto = JSON.parse('{"__proto__": {"type": "bool"}}') as Record<string, unknown>;
  t.same(viaShape(proto).issues, [['__proto__', 'Invalid key in record']]);
});

/** Marsaglia's xorshift32: a fixed seed makes every run check the same cases. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}

const NUMBERS = [0, -0, 1, -1, 2, 1.5, -1.5, 253, 254, 1024, 1025, 65535, 65536, 65537, 65536.5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1), -(2 ** 53), 1e300, -1e300, NaN, Infinity, -Infinity];
const STRINGS = ['', 'a', 'github.com', 'x'.repeat(253), 'x'.repeat(254), 'x'.repeat(1024), 'x'.repeat(1025), '😀'.repeat(1024), '😀'.repeat(1025), `${'x'.repeat(1023)}😀`, '\ud800', 'true', '5', 'git-sha', 'regexp', 'constructor', '__proto__', '\u202e'];
/** Objects with a length, which zod's length checks read even after the type check failed. */
const LENGTHY = [{ length: 0 }, { length: 300 }, { length: 'abc' }, { length: null }];
/** Each type's fields besides type and optional, written out here rather than taken from either implementation. */
const TYPE_FIELDS: Record<string, string[]> = {
  'git-sha': [], 'image-tag': [], 'image-reference': ['requireDigest', 'allowIpv6'], semver: ['allowVPrefix'], 'dns-label': [], 'k8s-name': [],
  'relative-path': [], 'https-url': ['allowedHosts', 'allowQuery', 'allowIpv6', 'publicHostsOnly'], enum: ['values'], integer: ['min', 'max'], bool: [], regex: ['pattern', 'maxLength'],
  text: ['maxLength', 'allowNewlines'],
};
const FIELD_NAMES = [...new Set(Object.values(TYPE_FIELDS).flat()), 'optional'];
const EXTRA_KEYS = ['extra', 'constructor', 'toString', 'hasOwnProperty', 'Type', 'type ', '0'];
const NAMES = ['a', 'git-revision', 'b.c', '_x', 'Z9', 'bad name', '1a', '', 'x'.repeat(129), 'a\u202e', 'constructor'];

function generator(seed: number) {
  const r = random(seed);
  const scalar = (): unknown => r.pick<() => unknown>([() => r.pick(NUMBERS), () => r.pick(STRINGS), () => r.chance(0.5), () => null, () => ({ ...r.pick(LENGTHY) })])();
  const anyValue = (depth: number): unknown => {
    if (depth > 1 || r.chance(0.6)) return scalar();
    if (r.chance(0.5)) return Array.from({ length: Math.floor(r.next() * 3) }, () => anyValue(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(r.next() * 3) }, () => [r.pick(STRINGS), anyValue(depth + 1)]));
  };
  /** A value that is right for the field most of the time, so whole rules often pass. */
  const fieldValue = (field: string): unknown => {
    if (r.chance(0.15)) return anyValue(0);
    switch (field) {
      case 'allowedHosts': return Array.from({ length: Math.floor(r.next() * 3) }, () => (r.chance(0.8) ? r.pick(['github.com', 'a.example:8443', 'x'.repeat(253)]) : scalar()));
      case 'values': return Array.from({ length: Math.floor(r.next() * 3) }, () => (r.chance(0.8) ? r.pick(['dev', 'prod', '']) : scalar()));
      case 'min': case 'max': case 'maxLength': return r.chance(0.7) ? Math.floor(r.next() * 100) - 10 : r.pick(NUMBERS);
      case 'pattern': return r.chance(0.8) ? r.pick(['[a-z]+', 'x'.repeat(1024), '😀'.repeat(1024)]) : r.pick(STRINGS);
      default: return r.chance(0.8) ? r.chance(0.5) : scalar();
    }
  };
  const rule = (): unknown => {
    if (r.chance(0.05)) return anyValue(0);
    const result: Record<string, unknown> = {};
    const type = r.chance(0.95) ? r.pick(Object.keys(TYPE_FIELDS)) : scalar();
    if (r.chance(0.97)) result.type = type;
    const own = typeof type === 'string' && Object.hasOwn(TYPE_FIELDS, type) ? TYPE_FIELDS[type]! : [];
    for (const field of [...own, 'optional']) if (r.chance(0.7)) result[field] = fieldValue(field);
    if (r.chance(0.1)) result[r.pick(FIELD_NAMES)] = fieldValue(r.pick(FIELD_NAMES));
    if (r.chance(0.05)) result[r.pick(EXTRA_KEYS)] = scalar();
    return r.chance(0.03) ? withOwnProto(result) : result;
  };
  return () => Object.fromEntries(Array.from({ length: 1 + Math.floor(r.next() * 3) }, () => [r.chance(0.95) ? r.pick(NAMES.slice(0, 5)) : r.pick(NAMES), rule()]));
}

t.test('every type is known to both, in the same order', async (t) => {
  t.same(PARAM_TYPES, Object.keys(TYPE_FIELDS));
  t.same(PARAM_TYPES, ParamRuleSchema.def.options.map((option) => option.def.shape.type.def.values[0]));
});

t.test('5000 generated rule sets: same verdicts, outputs and issues as RuleSetSchema', async (t) => {
  const next = generator(0x9e3779b9);
  let mismatches = 0;
  let accepted = 0;
  let firstMismatch: unknown;
  for (let i = 0; i < 5000; i++) {
    const data = next();
    const shape = viaShape(data);
    const schema = viaZod(data);
    if (schema.issues.length === 0) accepted++;
    if (!isDeepStrictEqual(shape, schema)) {
      mismatches++;
      firstMismatch ??= { data, shape, schema };
    }
  }
  t.equal(mismatches, 0, 'no rule set on which the two differ', { firstMismatch });
  // The generator must exercise both sides, or agreement proves little.
  t.ok(accepted > 500, `a good share of sets is accepted (${accepted})`);
  t.ok(5000 - accepted > 500, `a good share is refused (${5000 - accepted})`);
});
