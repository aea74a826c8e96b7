import { boundedText, TextBounds } from './bounded-text.ts';

/**
 * Security violations as the steps record them, one CloudEvent each when a
 * sink is configured (cloudevents/envelope.ts turns them into events). Each
 * event type is versioned: a field's meaning never changes under a type,
 * a new meaning gets ".v2".
 */
export const ViolationTypes = {
  /** validate-params refused a param value (one per value: every element of an array param counts). */
  paramValidationFailed: 'dev.hardened-tekton.param.validation.failed.v1',
  /** workspace-guard or inject-credentials found a workspace in a state it must not be in. */
  workspaceAccessViolated: 'dev.hardened-tekton.workspace.access.violated.v1',
  /** verify-image rejected an image: unsigned, signed by someone else, or its registry pull failed. */
  imageVerificationRejected: 'dev.hardened-tekton.image.verification.rejected.v1',
} as const;

export type ViolationType = (typeof ViolationTypes)[keyof typeof ViolationTypes];

/** Event data: flat, printable, bounded; never a secret, never a raw value. */
export type ViolationData = Record<string, string | number | boolean>;

export interface Violation {
  type: ViolationType;
  /** What was violated: the param, the workspace, the image (bounded, escaped). */
  subject: string;
  data: ViolationData;
}

/** Events one step run sends at most; later violations are counted, not sent. */
export const MAX_EVENTS_PER_RUN = 32;

/** Which bound each data field gets; fields not listed get TextBounds.message. */
const FIELD_BOUNDS: Readonly<Record<string, number>> = {
  param: TextBounds.param,
  image: TextBounds.image,
  workspace: TextBounds.workspace,
  task: TextBounds.task,
  path: TextBounds.path,
};

/** Builds a violation whose every string went through boundedText. */
export function violation(type: ViolationType, subjectField: string, data: ViolationData): Violation {
  const bounded: ViolationData = {};
  for (const [key, value] of Object.entries(data)) {
    bounded[key] = typeof value === 'string' ? boundedText(value, FIELD_BOUNDS[key] ?? TextBounds.message) : value;
  }
  return { type, subject: String(bounded[subjectField] ?? '(none)'), data: bounded };
}
