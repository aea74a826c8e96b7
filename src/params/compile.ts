import { CatalogError, quoteUntrusted } from '../errors.ts';
import { findForbiddenCharacter } from './characters.ts';
import { loadRegexEngine } from './regex/linear-pattern.ts';
import type { ParamRule, RuleSet } from './rules.ts';
import { validatorFor, type TypeValidator, type ValidatorTools } from './types/index.ts';

export interface CompiledRule {
  readonly rule: ParamRule;
  readonly validator: TypeValidator;
}

/** Rules by param name, each with its validator built once. A Map, so no name can reach Object.prototype. */
export type CompiledRuleSet = ReadonlyMap<string, CompiledRule>;

/**
 * Builds every rule's validator and checks what the schema cannot: that a
 * pattern is valid RE2 within the match budget, that min ≤ max, that enum
 * values are themselves acceptable values. Errors name the param's rule in
 * the "rules" param and carry a CONFIG_* code (exit 2). The regex engine is
 * loaded only when some rule needs it, which keeps the step's start cheap.
 */
export async function compileRuleSet(rules: RuleSet): Promise<CompiledRuleSet> {
  const needsRegex = Object.values(rules).some((rule) => rule.type === 'regex');
  return compileRuleSetWith(rules, { regexEngine: needsRegex ? await loadRegexEngine() : undefined });
}

/**
 * compileRuleSet for callers that cannot wait: the regex engine must be
 * loaded already (loadRegexEngine) if the rules hold a regex rule.
 */
export function compileRuleSetWith(rules: RuleSet, tools: ValidatorTools): CompiledRuleSet {
  const compiled = new Map<string, CompiledRule>();
  for (const name of Object.keys(rules)) {
    const rule = rules[name]!;
    try {
      checkRuleConsistency(rule);
      compiled.set(name, { rule, validator: validatorFor(rule, tools) });
    } catch (error) {
      if (error instanceof CatalogError) {
        throw new CatalogError(error.code, `rules.${name}: ${error.message}`, { hint: error.hint ?? '', cause: error });
      }
      throw error;
    }
  }
  return compiled;
}

function checkRuleConsistency(rule: ParamRule): void {
  if (rule.type === 'integer' && rule.min !== undefined && rule.max !== undefined && rule.min > rule.max) {
    throw new CatalogError('CONFIG_RULE_RANGE', `min (${rule.min}) is greater than max (${rule.max})`);
  }
  if (rule.type === 'integer') {
    for (const bound of [rule.min, rule.max]) {
      if (bound !== undefined && !Number.isSafeInteger(bound)) {
        throw new CatalogError('CONFIG_RULE_RANGE', `min or max ${bound} is outside the safe integer range (±9007199254740991)`);
      }
    }
  }
  if (rule.type === 'enum') {
    for (const value of rule.values) {
      const problem = value === '' ? 'is empty (use optional: true instead)' : findForbiddenCharacter(value);
      if (problem) {
        throw new CatalogError('CONFIG_RULE_ENUM', `enum value ${quoteUntrusted(value, 40)} ${problem}; no param could ever match it`);
      }
    }
  }
}
