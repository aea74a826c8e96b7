import { CatalogError, quoteUntrusted } from '../errors.ts';
import { checkRuleSetShape } from './rule-shape.ts';
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
export async function parseRuleSource(text: string, source = 'RULES'): Promise<RuleSet> {
  if (Buffer.byteLength(text, 'utf8') > MAX_RULES_BYTES) {
    throw new CatalogError('CONFIG_RULES_TOO_LARGE', `${source} is larger than ${MAX_RULES_BYTES} bytes`);
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new CatalogError('CONFIG_RULES_MISSING', `${source} is empty`, {
      hint: 'pass the rule set, e.g. {"git-revision": {"type": "git-sha"}}',
    });
  }
  const data = trimmed.startsWith('{') ? parseJson(trimmed, source) : await parseYaml(trimmed, source);
  return checkRuleSet(data, source);
}

/**
 * Validates already-parsed data against the rule schema (RuleSetSchema,
 * checked by its zod-free twin in rule-shape.ts), naming every bad field.
 */
export function checkRuleSet(data: unknown, source = 'RULES'): RuleSet {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CatalogError('CONFIG_RULES_INVALID', `${source} must be a mapping from param name to rule`);
  }
  if (Object.hasOwn(data, '__proto__')) {
    // JSON.parse keeps "__proto__" as an own key; the schema would drop it silently.
    throw new CatalogError('CONFIG_RULES_INVALID', `invalid rule set:\n  ${source}.__proto__: may not be "__proto__"`);
  }
  const { rules, issues } = checkRuleSetShape(data as Record<string, unknown>);
  if (issues.length === 0) return rules;
  const lines = issues.map((issue) => {
    const path = issue.path.map((part) => (typeof part === 'string' && !/^[\w.-]+$/.test(part) ? quoteUntrusted(part, 40) : String(part)));
    return `  ${[source, ...path].join('.')}: ${escapeNonAscii(issue.message)}`;
  });
  throw new CatalogError('CONFIG_RULES_INVALID', `invalid rule set:\n${lines.join('\n')}`, {
    hint: 'param names hold letters, digits, "_", "." and "-"; each rule needs a "type" (git-sha, image-tag, image-reference, semver, dns-label, k8s-name, relative-path, https-url, enum, integer, bool, regex, text) and only that type\'s options',
  });
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
    throw new CatalogError('CONFIG_RULES_SYNTAX', `${source} is not valid JSON (${quoteUntrusted(detail, 120)})`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    throw new CatalogError('CONFIG_RULES_DUPLICATE_KEY', `${source} names the key ${quoteUntrusted(duplicate, 60)} twice in one object`, {
      hint: 'each param needs exactly one rule',
    });
  }
  return data;
}

async function parseYaml(text: string, source: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  const fail = (detail: string) =>
    new CatalogError('CONFIG_RULES_SYNTAX', `${source} is neither JSON nor valid YAML (${quoteUntrusted(detail.split('\n', 1)[0]!, 160)})`);
  // Core schema: no custom tags; uniqueKeys refuses duplicate keys; logLevel
  // silent because warnings (an unknown tag) are turned into errors here.
  const document = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: false, logLevel: 'silent' });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw fail(problem.message);
  try {
    // A low alias cap stops billion-laughs expansion.
    return document.toJS({ maxAliasCount: 10 });
  } catch (error) {
    throw fail(error instanceof Error ? error.message : 'invalid');
  }
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
