import { CatalogError, quoteUntrusted } from '../errors.ts';
import { checkRuleSetShape, MAX_RULE_LENGTH, PARAM_TYPES, ruleOptions, type ShapeIssue } from './rule-shape.ts';
import type { RuleSet } from './rules.ts';

/** A rule set is small; anything bigger is a mistake or an attack. */
export const MAX_RULES_BYTES = 65536;

/**
 * Reads a rule set from text: JSON (the fast path, checked for duplicate
 * keys, which JSON.parse would silently merge) or YAML (via the `yaml`
 * package, loaded only when needed, which refuses duplicate keys itself).
 * Every problem is a CONFIG_RULES_* error naming the field, so the step
 * exits 2 ("misused"), distinct from 1 ("a param was rejected").
 */
export async function parseRuleSource(text: string, source = 'rules'): Promise<RuleSet> {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULES_BYTES) {
    throw new CatalogError('CONFIG_RULES_TOO_LARGE', `the "${source}" param is larger than ${MAX_RULES_BYTES} bytes`, {
      hint: 'a rule set needs one short rule per param; split the params over several validate-params tasks if there are that many',
    });
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new CatalogError('CONFIG_RULES_MISSING', `the "${source}" param is empty`, {
      hint: 'pass the rule set, e.g. {"git-revision": {"type": "git-sha"}}',
    });
  }
  // The YAML reader is a module of its own, loaded only for a rule set that is not JSON.
  const data = trimmed.startsWith('{') ? parseJson(trimmed, source) : (await import('./rule-source-yaml.ts')).parseYamlRules(trimmed, source);
  return checkRuleSet(data, source);
}

/**
 * Validates already-parsed data against the rule schema (RuleSetSchema,
 * checked by its zod-free twin in rule-shape.ts), naming every bad field
 * by its path in the "rules" param, in the words of a Pipeline author.
 */
export function checkRuleSet(data: unknown, source = 'rules'): RuleSet {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CatalogError('CONFIG_RULES_INVALID', `the "${source}" param must be a mapping from param name to rule`, {
      hint: 'e.g. {"git-revision": {"type": "git-sha"}} in JSON, or "git-revision: {type: git-sha}" in YAML',
    });
  }
  if (Object.hasOwn(data, '__proto__')) {
    // JSON.parse keeps "__proto__" as an own key; the schema would drop it silently.
    throw new CatalogError('CONFIG_RULES_INVALID', `invalid rule set in the "${source}" param:\n  ${source}.__proto__: may not be "__proto__"`);
  }
  const record = data as Record<string, unknown>;
  const { rules, issues } = checkRuleSetShape(record);
  if (issues.length === 0) return rules;
  const lines = issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === 'string' && !/^[\w.-]+$/.test(part) ? quoteUntrusted(part, 40) : String(part)));
    return `  ${[source, ...path].join('.')}: ${escapeNonAscii(explainIssue(issue, record))}`;
  });
  throw new CatalogError('CONFIG_RULES_INVALID', `invalid rule set in the "${source}" param:\n${lines.join('\n')}`, {
    hint: `fix the "${source}" param: one rule per param name (letters, digits, "_", "." and "-"), each with a "type" and only that type's options; the Task's README lists them`,
  });
}

const TYPE_LIST = PARAM_TYPES.join(', ');

/** What a JSON or YAML value is, in words. */
const NOUNS: Record<string, string> = {
  boolean: 'true or false', number: 'a number', int: 'a whole number', string: 'a string', array: 'a list', object: 'a mapping',
  undefined: 'nothing', null: 'null', NaN: 'NaN', Infinity: 'Infinity', '-Infinity': '-Infinity',
};
const noun = (name: string) => NOUNS[name] ?? name;

/** Turns the schema's wording (kept word for word with zod's, see rule-shape.ts) into advice for the "rules" param. */
function explainIssue(issue: ShapeIssue, data: Record<string, unknown>): string {
  const { path, message } = issue;
  const field = path.length >= 2 ? path[1] : undefined;
  const rule = data[String(path[0])];
  const type = typeof rule === 'object' && rule !== null && !Array.isArray(rule) ? (rule as Record<string, unknown>).type : undefined;
  if (message === 'Invalid key in record') {
    return 'is not a valid param name: letters, digits, "_", "." and "-", starting with a letter or "_", up to 128 characters';
  }
  if (message.startsWith('Invalid discriminator value')) {
    return type === undefined ? `is missing: every rule needs a "type", one of ${TYPE_LIST}` : `must be one of the types ${TYPE_LIST}`;
  }
  const unknown = /^Unrecognized keys?: (.*)$/.exec(message);
  if (unknown) {
    return `has ${unknown[1]}, which a ${String(type)} rule does not take (its options: ${ruleOptions(type)?.join(', ')})`;
  }
  const wrong = /^Invalid input: expected (\w+), received (\S+)$/.exec(message);
  if (wrong) {
    if (wrong[2] === 'undefined') return requiredField(String(type), String(field));
    if (wrong[1] === 'int') return 'must be a whole number';
    return `must be ${noun(wrong[1]!)}, not ${noun(wrong[2]!)}`;
  }
  const bound = /^Too (small|big): expected (\w+) (?:to have|to be) (>=|<=|>|<)(-?\d+)(?: (characters|items))?$/.exec(message);
  if (bound) {
    const [, , what, op, limit, unit] = bound;
    if (what === 'string' && op === '>=' && limit === '1') return 'may not be empty';
    if (what === 'array' && op === '>=' && limit === '1') return 'needs at least one entry';
    if (what === 'number' && op === '>' && limit === '0') return 'must be at least 1';
    const words = { '>=': 'at least', '<=': 'at most', '>': 'more than', '<': 'less than' }[op!];
    return unit ? `must have ${words} ${limit} ${unit}` : `must be ${words} ${limit}`;
  }
  return message;
}

/** A required option that is missing, with what to write. */
function requiredField(type: string, field: string): string {
  if (field === 'maxLength') {
    const why = type === 'regex' ? ' so that matching stays bounded' : '';
    return `is required: a ${type} rule needs maxLength, the longest value it accepts${why}, e.g. "maxLength": 256 (at most ${MAX_RULE_LENGTH})`;
  }
  if (field === 'pattern') return 'is required: the RE2 pattern the whole value must match, e.g. "pattern": "[a-z][a-z0-9-]*"';
  if (field === 'values') return 'is required: the list of accepted values, e.g. "values": ["dev", "staging", "prod"]';
  return `is required for a ${type} rule`;
}

/** Messages can quote keys from the rule set; keep them one printable line. */
function escapeNonAscii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function parseJson(text: string, source: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'invalid';
    throw new CatalogError('CONFIG_RULES_SYNTAX', `the "${source}" param is not valid JSON (${quoteUntrusted(detail, 120)})`, {
      hint: 'a rule set that starts with "{" is read as JSON; check quotes, commas and braces, or write it in YAML',
    });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new CatalogError('CONFIG_RULES_DUPLICATE_KEY', `the "${source}" param names the key ${quoteUntrusted(duplicate, 60)} twice in one object`, {
      hint: 'each param needs exactly one rule',
    });
  }
  return data;
}

/**
 * Walks JSON text that JSON.parse has accepted and returns the first key
 * that appears twice in the same object.
 */
export function findDuplicateKey(text: string): string | undefined {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = objects.at(-1);
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') {
      objects.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      objects.push(null);
    } else if (ch === '}' || ch === ']') {
      objects.pop();
    } else if (ch === ',') {
      expectKey = objects.at(-1) != null;
    }
  }
  return undefined;
}
