import type { ParamRule, ParamType, RuleSet } from './rules.ts';

/**
 * The rule set's structure, checked without zod: the validate-params step
 * runs this on every start, and loading and building zod schemas costs more
 * start-up time than the rest of the program. It accepts exactly what
 * `RuleSetSchema` (rules.ts) accepts and reports the same issues, path for
 * path and word for word, for every value JSON or YAML can produce;
 * test/params/rule-shape.test.ts proves that against the zod schema on a
 * table of edge cases and on thousands of generated rule sets. Change both
 * together.
 */

/** Tekton param names, minus "__proto__" which would poison plain-object lookups. */
export const PARAM_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;
export const MAX_PARAM_NAME_LENGTH = 128;

/** Upper bound for any length cap a rule may set. */
export const MAX_RULE_LENGTH = 65536;
export const MAX_PATTERN_LENGTH = 1024;
export const MAX_HOST_LENGTH = 253;

export interface ShapeIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

type Path = readonly (string | number)[];
/** Checks one field's value; pushes issues with paths below `path`. */
type FieldCheck = (value: unknown, path: Path, issues: ShapeIssue[]) => void;
interface Field {
  readonly required: boolean;
  readonly check: FieldCheck;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** How zod's English messages name the type of a value. */
function typeName(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const wrongType = (expected: string, value: unknown) => `Invalid input: expected ${expected}, received ${typeName(value)}`;

const boolean: FieldCheck = (value, path, issues) => {
  if (typeof value !== 'boolean') issues.push({ path, message: wrongType('boolean', value) });
};

/**
 * Length bounds, as zod checks them: strings in code points, and on any
 * value that has a length, even one that already failed its type check.
 */
function lengthBounds(min: number, max?: number): FieldCheck {
  return (value, path, issues) => {
    if (value === null || value === undefined) return;
    const units = (value as { length?: unknown }).length;
    if (units === undefined) return;
    const length = typeof value === 'string' ? codePointCount(value) : (units as number);
    const origin = typeof value === 'string' ? 'string' : Array.isArray(value) ? 'array' : 'unknown';
    const unit = origin === 'string' ? 'characters' : 'items';
    if (!(length >= min)) {
      issues.push({ path, message: origin === 'unknown' ? `Too small: expected unknown to be >=${min}` : `Too small: expected ${origin} to have >=${min} ${unit}` });
    }
    if (max !== undefined && !(length <= max)) {
      issues.push({ path, message: origin === 'unknown' ? `Too big: expected unknown to be <=${max}` : `Too big: expected ${origin} to have <=${max} ${unit}` });
    }
  };
}

/** Code points, a lone surrogate counting as one: what a human calls the length. */
function codePointCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const string: FieldCheck = (value, path, issues) => {
  if (typeof value !== 'string') issues.push({ path, message: wrongType('string', value) });
};

const both = (...checks: FieldCheck[]): FieldCheck => (value, path, issues) => {
  for (const check of checks) check(value, path, issues);
};

function array(element: FieldCheck): FieldCheck {
  return (value, path, issues) => {
    if (!Array.isArray(value)) {
      issues.push({ path, message: wrongType('array', value) });
      return;
    }
    // An index loop, not forEach: a hole in a sparse array is checked as undefined.
    for (let i = 0; i < value.length; i++) element(value[i], [...path, i], issues);
  };
}

/**
 * A safe integer, then optional bounds. A fractional number stops at the
 * first message; an integer beyond ±2^53 gets that message and the bounds'.
 */
function integer(bounds: { positive?: boolean; maximum?: number } = {}): FieldCheck {
  return (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.push({ path, message: wrongType('number', value) });
      return;
    }
    if (!Number.isInteger(value)) {
      issues.push({ path, message: 'Invalid input: expected int, received number' });
      return;
    }
    if (value > MAX_SAFE) issues.push({ path, message: `Too big: expected int to be <=${MAX_SAFE}` });
    if (value < -MAX_SAFE) issues.push({ path, message: `Too small: expected int to be >=-${MAX_SAFE}` });
    if (bounds.positive && !(value > 0)) issues.push({ path, message: 'Too small: expected number to be >0' });
    if (bounds.maximum !== undefined && value > bounds.maximum) {
      issues.push({ path, message: `Too big: expected number to be <=${bounds.maximum}` });
    }
  };
}

const optional = (check: FieldCheck): Field => ({ required: false, check });
const required = (check: FieldCheck): Field => ({ required: true, check });
const lengthCap = required(integer({ positive: true, maximum: MAX_RULE_LENGTH }));

/** Each type's fields besides `type`, in the order issues are reported; `optional` comes last in every one. */
const TYPE_FIELDS: readonly (readonly [ParamType, readonly (readonly [string, Field])[]])[] = [
  ['git-sha', []],
  ['image-tag', []],
  ['image-reference', [['requireDigest', optional(boolean)], ['allowIpv6', optional(boolean)]]],
  ['semver', [['allowVPrefix', optional(boolean)]]],
  ['dns-label', []],
  ['k8s-name', []],
  ['relative-path', []],
  [
    'https-url',
    [
      ['allowedHosts', optional(array(both(string, lengthBounds(1, MAX_HOST_LENGTH))))],
      ['allowQuery', optional(boolean)],
      ['allowIpv6', optional(boolean)],
      ['publicHostsOnly', optional(boolean)],
    ],
  ],
  ['enum', [['values', required(both(array(string), lengthBounds(1)))]]],
  ['integer', [['min', optional(integer())], ['max', optional(integer())]]],
  ['bool', []],
  ['regex', [['pattern', required(both(string, lengthBounds(1, MAX_PATTERN_LENGTH)))], ['maxLength', lengthCap]]],
  ['text', [['maxLength', lengthCap], ['allowNewlines', optional(boolean)]]],
];

const FIELDS: ReadonlyMap<string, ReadonlyMap<string, Field>> = new Map(
  TYPE_FIELDS.map(([type, fields]) => [type, new Map([...fields, ['optional', optional(boolean)]])]),
);

/** Every rule type, in the order messages list them. */
export const PARAM_TYPES: readonly ParamType[] = TYPE_FIELDS.map(([type]) => type);

/** The options a rule of this type takes besides "type", or undefined for an unknown type. */
export function ruleOptions(type: unknown): string[] | undefined {
  const fields = typeof type === 'string' ? FIELDS.get(type) : undefined;
  return fields && [...fields.keys()];
}

const BAD_TYPE = `Invalid discriminator value. Expected ${PARAM_TYPES.map((type) => `'${type}'`).join(' | ')}`;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one rule; returns a copy holding only the rule's own known fields, or undefined after pushing issues. */
export function checkRuleShape(value: unknown, path: Path, issues: ShapeIssue[]): ParamRule | undefined {
  if (!isPlainObject(value)) {
    issues.push({ path, message: wrongType('object', value) });
    return undefined;
  }
  const type = Object.hasOwn(value, 'type') ? value.type : undefined;
  // A Map lookup, so "constructor" or "__proto__" can never match a type.
  const fields = typeof type === 'string' ? FIELDS.get(type) : undefined;
  if (!fields) {
    issues.push({ path: [...path, 'type'], message: BAD_TYPE });
    return undefined;
  }
  const before = issues.length;
  const rule: Record<string, unknown> = { type };
  for (const [name, field] of fields) {
    const present = Object.hasOwn(value, name) && value[name] !== undefined;
    if (!present && !field.required) continue;
    const fieldValue = present ? value[name] : undefined;
    field.check(fieldValue, [...path, name], issues);
    if (present) rule[name] = fieldValue;
  }
  const unknown = Object.keys(value).filter((key) => key !== 'type' && !fields.has(key));
  if (unknown.length > 0) {
    const names = unknown.map((key) => JSON.stringify(key)).join(', ');
    issues.push({ path, message: `Unrecognized key${unknown.length > 1 ? 's' : ''}: ${names}` });
  }
  return issues.length === before ? (rule as ParamRule) : undefined;
}

export function isParamName(name: string): boolean {
  return PARAM_NAME.test(name) && name.length <= MAX_PARAM_NAME_LENGTH && name !== '__proto__';
}

/**
 * Checks a parsed rule set (a mapping from param name to rule). Returns the
 * rule set, holding fresh copies of the rules, when there is no issue.
 */
export function checkRuleSetShape(data: Record<string, unknown>): { rules: RuleSet; issues: readonly ShapeIssue[] } {
  const issues: ShapeIssue[] = [];
  const rules: Record<string, ParamRule> = {};
  for (const name of Object.keys(data)) {
    if (!isParamName(name)) {
      // The rule under a bad name is not looked at: one issue per bad entry.
      issues.push({ path: [name], message: 'Invalid key in record' });
      continue;
    }
    const rule = checkRuleShape(data[name], [name], issues);
    // isParamName refused "__proto__", so this assignment cannot reach Object.prototype.
    if (rule) rules[name] = rule;
  }
  return { rules, issues };
}
