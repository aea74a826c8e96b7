import type { Signer } from '@sigstore/verify';
import { quoteUntrusted } from '../../errors.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';
import { WORKFLOW_CLAIMS, workflowClaim, type WorkflowClaim } from './fulcio-claims.ts';

export const MAX_PATTERN_LENGTH = 1024;

export interface KeylessPolicyInput {
  /** The exact certificate identity (SAN): an email or URI. */
  identity?: string;
  /** A regular expression the whole identity must match (anchored for you). */
  identityRegexp?: string;
  /** The exact OIDC issuer. */
  issuer?: string;
  /** A regular expression the whole issuer must match (anchored for you). */
  issuerRegexp?: string;
  /** Optional GitHub workflow claims, each compared exactly. */
  workflow?: Partial<Record<WorkflowClaim, string>>;
}

/** Who signed, as the certificate says. Values are untrusted until the policy accepted them. */
export interface SignerIdentity {
  identity: string;
  issuer: string;
}

/**
 * cosign's keyless policy. An exact identity is exact: @sigstore/verify
 * reads a string SAN as an unanchored regular expression, so we never hand
 * it a raw string; we give it an anchored, escaped pattern and compare the
 * returned signer ourselves as well. Regexps are anchored at both ends, so
 * "https://github.com/org/" cannot be satisfied by "https://evil.example/?https://github.com/org/".
 */
export class KeylessPolicy {
  private readonly identityMatcher: Matcher;
  private readonly issuerMatcher: Matcher;
  private readonly workflow: [WorkflowClaim, string][];

  private constructor(identity: Matcher, issuer: Matcher, workflow: [WorkflowClaim, string][]) {
    this.identityMatcher = identity;
    this.issuerMatcher = issuer;
    this.workflow = workflow;
  }

  static create(input: KeylessPolicyInput): KeylessPolicy {
    const identity = matcher('certificate-identity', input.identity, input.identityRegexp);
    const issuer = matcher('certificate-oidc-issuer', input.issuer, input.issuerRegexp);
    const workflow = WORKFLOW_CLAIMS.flatMap((claim): [WorkflowClaim, string][] => {
      const value = input.workflow?.[claim];
      return value === undefined || value === '' ? [] : [[claim, value]];
    });
    return new KeylessPolicy(identity, issuer, workflow);
  }

  /** The anchored pattern to hand @sigstore/verify as `subjectAlternativeName`. */
  get subjectAlternativeName(): RegExp {
    return this.identityMatcher.pattern;
  }

  /** Human description of what is expected, for messages. */
  describe(): string {
    const claims = this.workflow.map(([claim, value]) => `, github-workflow-${claim} ${JSON.stringify(value)}`).join('');
    return `identity ${this.identityMatcher.describe()}, issuer ${this.issuerMatcher.describe()}${claims}`;
  }

  /** Checks a verified signer against the policy; throws IDENTITY_MISMATCH naming expected and found. */
  check(signer: Signer): SignerIdentity {
    const identity = signer.identity?.subjectAlternativeName;
    const issuer = signer.identity?.extensions?.issuer;
    if (identity === undefined || !this.identityMatcher.matches(identity)) {
      throw mismatch('identity', this.identityMatcher.describe(), identity);
    }
    if (issuer === undefined || !this.issuerMatcher.matches(issuer)) {
      throw mismatch('issuer', this.issuerMatcher.describe(), issuer);
    }
    for (const [claim, expected] of this.workflow) {
      const found = workflowClaim(signer, claim);
      if (found !== expected) throw mismatch(`github-workflow-${claim}`, JSON.stringify(expected), found);
    }
    return { identity, issuer };
  }
}

interface Matcher {
  pattern: RegExp;
  matches(value: string): boolean;
  describe(): string;
}

function matcher(field: string, exact: string | undefined, regexp: string | undefined): Matcher {
  const hasExact = exact !== undefined && exact !== '';
  const hasRegexp = regexp !== undefined && regexp !== '';
  if (hasExact === hasRegexp) {
    throw new VerificationFailure(
      VerifyErrorCode.policyInvalid,
      `set exactly one of ${field} and ${field}-regexp for keyless verification`,
      { hint: `e.g. ${field}=https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main` },
    );
  }
  if (hasExact) {
    const value = exact!;
    return { pattern: new RegExp(`^${escapeRegExp(value)}$`), matches: (found) => found === value, describe: () => JSON.stringify(value) };
  }
  const source = regexp!;
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new VerificationFailure(VerifyErrorCode.policyInvalid, `${field}-regexp is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${source})$`);
  } catch {
    throw new VerificationFailure(VerifyErrorCode.policyInvalid, `${field}-regexp is not a valid regular expression`, {
      hint: 'use JavaScript (RE2-compatible) syntax; it is anchored at both ends for you',
    });
  }
  return { pattern, matches: (found) => pattern.test(found), describe: () => `matching /${pattern.source}/` };
}

export function escapeRegExp(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function mismatch(what: string, expected: string, found: string | undefined): VerificationFailure {
  return new VerificationFailure(
    VerifyErrorCode.identityMismatch,
    `certificate ${what} mismatch: expected ${expected}, found ${found === undefined ? 'none' : quoteUntrusted(found, 200)}`,
    { hint: 'the image was signed by someone else, or the policy names the wrong signer' },
  );
}
