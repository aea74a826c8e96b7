import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { quoteUntrusted } from '../errors.ts';
import { findForbiddenCharacter } from './characters.ts';
import type { CompiledRule, CompiledRuleSet } from './compile.ts';
import { isParamName } from './rule-shape.ts';
import { findShellHazard } from './shell.ts';

/** Param values as a step receives them: one string, or a list for array params. */
export type ParamValues = ReadonlyMap<string, string | readonly string[]> | Readonly<Record<string, string | readonly string[]>>;

export interface ValidationFailure {
  /** The param's name; a name that is not a valid param name is shown escaped. */
  readonly param: string;
  /** The rule's type, or "(no rule)" / "(missing)". */
  readonly rule: string;
  /** Why it failed, in words; never holds the value. */
  readonly reason: string;
  /** The value, JSON-escaped and truncated (quoteUntrusted); safe to print. */
  readonly shownValue: string;
  /** For array params: which element failed. */
  readonly index?: number;
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly failures: readonly ValidationFailure[];
}

/** How much of a failing value is shown. */
export const SHOWN_VALUE_CHARS = 64;

/**
 * Checks every param against its rule and reports every failure at once
 * (every element of an array param). Fails closed: a value without a rule
 * fails, and so does a rule without a value unless it is optional.
 */
export function validateParams(values: ParamValues, compiled: CompiledRuleSet): ValidationResult {
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
  const given = new Map<string, string | readonly string[]>(entries);
  const failures: ValidationFailure[] = [];

  for (const [name, value] of given) {
    const entry = compiled.get(name);
    if (!entry) {
      const first = typeof value === 'string' ? value : (value[0] ?? '');
      failures.push({
        param: displayName(name),
        rule: '(no rule)',
        reason: 'has no rule in the "rules" param; add one, or stop passing it',
        shownValue: quoteUntrusted(first, SHOWN_VALUE_CHARS),
      });
      continue;
    }
    if (typeof value === 'string') {
      const reason = checkValue(value, entry);
      if (reason) failures.push(failure(name, entry, reason, value));
    } else {
      if (value.length === 0 && !entry.rule.optional) {
        failures.push({ param: name, rule: entry.rule.type, reason: 'is an empty list; it needs at least one element', shownValue: '[]' });
      }
      value.forEach((element, index) => {
        const reason = checkValue(element, entry);
        if (reason) failures.push({ ...failure(name, entry, reason, element), index });
      });
    }
  }

  for (const [name, entry] of compiled) {
    if (given.has(name) || entry.rule.optional) continue;
    failures.push({
      param: name,
      rule: entry.rule.type,
      reason: `is missing: pass it in the "values" param ("${name}=$(params.${name})"), or through "elements-name" and "elements" for an array, or set "optional": true in its rule`,
      shownValue: '(none)',
    });
  }
  return { ok: failures.length === 0, failures };
}

function failure(name: string, entry: CompiledRule, reason: string, value: string): ValidationFailure {
  return { param: name, rule: entry.rule.type, reason, shownValue: quoteUntrusted(value, SHOWN_VALUE_CHARS) };
}

/** The shared checks (emptiness, length, characters), then the type's own, then its shell guarantee. */
function checkValue(value: string, { rule, validator }: CompiledRule): string | undefined {
  if (value === '') return rule.optional ? undefined : 'is empty';
  if (value.length > validator.maxLength) {
    return validator.tooLong ?? `is ${value.length} characters long; at most ${validator.maxLength} are allowed`;
  }
  const forbidden = findForbiddenCharacter(value, { allowNewlines: validator.allowNewlines === true });
  if (forbidden) return forbidden;
  const reason = validator.check(value);
  if (reason !== undefined || validator.shell === undefined) return reason;
  return findShellHazard(value, validator.shell);
}

function displayName(name: string): string {
  return isParamName(name) ? name : quoteUntrusted(name, SHOWN_VALUE_CHARS);
}

/**
 * A digest of what was validated (names and values, sorted by name), so a
 * later step can show it checks the same values. SHA-256 from @noble/hashes
 * rather than node:crypto: loading node:crypto costs validate-params about
 * 4 ms, a sixth of Node's own start, to hash a few hundred bytes (issue 15).
 */
export function validatedSetDigest(values: ParamValues): string {
  const entries = (values instanceof Map ? [...values.entries()] : Object.entries(values)) as [string, string | readonly string[]][];
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `sha256:${bytesToHex(sha256(new TextEncoder().encode(JSON.stringify(entries))))}`;
}
