import type { RuleMeta } from './rule.ts';

/** Findings about the input itself; the orchestrator reports them, and they cannot be turned off. */

export const parseError: RuleMeta = {
  id: 'TA001',
  name: 'parse-error',
  severity: 'error',
  group: 'input',
  summary: 'A file could not be read or is not valid YAML or JSON.',
  help: 'Fix the YAML at the line and column shown (`yamllint` or your editor shows the same error). A file the audit cannot read is not audited, so the run exits 2.',
};

export const invalidDocument: RuleMeta = {
  id: 'TA002',
  name: 'invalid-document',
  severity: 'error',
  group: 'input',
  summary: 'A Tekton or RBAC document does not have the shape of its kind, so it was not audited further.',
  help: 'Fix the field named in the message (for example, quote numbers and booleans used as param values: `default: "1"`). Tekton or the API server would reject the document too.',
};

export const suppressionWithoutReason: RuleMeta = {
  id: 'TA003',
  name: 'suppression-without-reason',
  severity: 'error',
  group: 'input',
  summary: 'A tekton-audit-ignore comment gives no rule id or no reason, so it suppresses nothing.',
  help: 'Write the rule ids and why the finding is accepted:\n\n```yaml\n# tekton-audit-ignore TA401: image-tag is an enum checked by validate-params\n```',
};

export const suppressionUnknownRule: RuleMeta = {
  id: 'TA004',
  name: 'suppression-unknown-rule',
  severity: 'warning',
  group: 'input',
  summary: 'A tekton-audit-ignore comment names a rule id that does not exist.',
  help: 'Check the id against `tekton-catalog audit --list-rules`; a misspelled id suppresses nothing.',
};

export const inputRules = [parseError, invalidDocument, suppressionWithoutReason, suppressionUnknownRule];
