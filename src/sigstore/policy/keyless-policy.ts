import type { Signer } from '@sigstore/verify';
import { isCatalogError, quoteUntrusted } from '../../errors.ts';
import { compileRulePattern, loadedRegexEngine, loadRegexEngine, type RegexEngine } from '../../params/regex/linear-pattern.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';
import { WORKFLOW_CLAIMS, workflowClaim, type WorkflowClaim } from './fulcio-claims.ts';

export const MAX_PATTERN_LENGTH = 1024;

/**
 * The longest identity or issuer a regexp is matched against. A SAN comes from
 * an attacker's certificate; RE2's match cost is program size × this, which
 * the pattern's compile step bounds (see MATCH_BUDGET). Longer values never match.
 */
export const MAX_MATCHED_LENGTH = 4096;

/**
 * What @sigstore/verify gets as the SAN pattern in regexp mode: it matches with
 * V8's backtracking engine, where a pipeline author's pattern and an attacker's
 * certificate could meet in exponential time. Our own check() (RE2, linear)
 * decides instead, on every verified signer.
 */
const ANY_SUBJECT = /^[\s\S]*$/;

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

  /** Builds the policy, loading the RE2 engine (re2js) first when a regexp is given: steps start without it. */
  static async load(input: KeylessPolicyInput): Promise<KeylessPolicy> {
    if (input.identityRegexp || input.issuerRegexp) await loadRegexEngine();
    return KeylessPolicy.create(input);
  }

  /** Builds the policy; with a regexp, only once load() (or loadRegexEngine) has loaded the RE2 engine. */
  static create(input: KeylessPolicyInput): KeylessPolicy {
    const re2 = loadedRegexEngine();
    const identity = matcher('certificate-identity', input.identity, input.identityRegexp, re2);
    const issuer = matcher('certificate-oidc-issuer', input.issuer, input.issuerRegexp, re2);
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

function matcher(field: string, exact: string | undefined, regexp: string | undefined, re2: RegexEngine | undefined): Matcher {
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
  if (re2 === undefined) throw new Error('KeylessPolicy.create was given a regexp before the RE2 engine was loaded: use KeylessPolicy.load');
  // RE2 syntax, as cosign (Go's regexp) reads these flags, matched in linear time.
  let linear: ReturnType<typeof compileRulePattern>;
  try {
    linear = compileRulePattern(re2, `(?:${source})`, MAX_MATCHED_LENGTH, `${field}-regexp patterns`);
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    throw new VerificationFailure(VerifyErrorCode.policyInvalid, `${field}-regexp: ${error.message}`, {
      hint: `use RE2 syntax, as cosign does; the pattern is anchored at both ends for you${error.hint ? ` (${error.hint})` : ''}`,
    });
  }
  return {
    pattern: ANY_SUBJECT,
    matches: (found) => found.length <= MAX_MATCHED_LENGTH && linear.matches(found),
    describe: () => `matching ${quoteUntrusted(source, 200)} (RE2, whole value)`,
  };
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
