import type { Severity } from '../findings.ts';
import type { Path } from '../input/source.ts';
import type { AuditModel } from '../model/audit-model.ts';
import type { AuditDocument } from '../model/documents.ts';

/**
 * A rule's identity and documentation. `id` is stable forever (reports,
 * suppressions and config files name it); `name` is its readable slug.
 */
export interface RuleMeta {
  id: string;
  name: string;
  /** Default severity; a config file may change it. */
  severity: Severity;
  /** 0.0-10.0 for GitHub code scanning's security severity; input and lint rules have none. */
  securitySeverity?: number;
  /** The seed adversary (1-5) the rule guards against. */
  adversary?: 1 | 2 | 3 | 4 | 5;
  group: 'input' | 'injection' | 'images' | 'rbac' | 'workspaces' | 'hardening' | 'egress' | 'gates' | 'lint';
  /** One sentence: what is wrong. */
  summary: string;
  /** Markdown: why it matters and how to fix it, with the fixed YAML. */
  help: string;
}

export interface Place {
  doc: AuditDocument;
  path: Path;
  /** Text to point at inside the node (e.g. one substitution in a script). */
  needle?: string;
}

export interface RuleContext {
  readonly model: AuditModel;
  /** False when the config turned the rule off; checks may skip work for it. */
  enabled(rule: RuleMeta): boolean;
  /**
   * Reports a finding. `key` tells two findings of one rule at one path
   * apart in fingerprints (e.g. the substitution's text).
   */
  report(rule: RuleMeta, at: Place, message: string, options?: { severity?: Severity; key?: string }): void;
}

export type Check = (context: RuleContext) => void;

export interface RuleSet {
  rules: RuleMeta[];
  checks: Check[];
}
