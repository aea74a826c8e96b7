import { lintRules } from '../lint/interface-lint.ts';
import { egressRules } from './egress.ts';
import { gateRules } from './gates.ts';
import { hardeningRules } from './hardening.ts';
import { imageRules } from './images.ts';
import { injectionRules } from './injection.ts';
import { inputRules } from './input-rules.ts';
import { rbacRules } from './rbac.ts';
import type { Check, RuleMeta } from './rule.ts';
import { workspaceRules } from './workspaces.ts';

/** Every rule, in id order: the audit's rules (TA) and the lint's (TL). */
const auditSets = [rbacRules, workspaceRules, imageRules, injectionRules, hardeningRules, egressRules, gateRules];

export const AUDIT_CHECKS: readonly Check[] = auditSets.flatMap((set) => set.checks);
export const LINT_CHECKS: readonly Check[] = lintRules.checks;

export const ALL_RULES: readonly RuleMeta[] = [...inputRules, ...auditSets.flatMap((set) => set.rules), ...lintRules.rules].sort((a, b) =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
);

const BY_ID = new Map(ALL_RULES.map((rule) => [rule.id, rule]));

export function ruleById(id: string): RuleMeta | undefined {
  return BY_ID.get(id.toUpperCase());
}

export { inputRules };
export type { RuleMeta };
