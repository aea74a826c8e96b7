import { json as canonicalJson } from '@sigstore/core';
import { quoteUntrusted } from '../../errors.ts';
import { sha256Digest, type Digest } from '../../oci/digest.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES: ReadonlySet<string> = new Set(['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1']);
/** The predicate type of a cosign v3 image signature (an in-toto statement in a bundle). */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

export interface InTotoStatement {
  predicateType: string;
  subjects: { name?: string; digest: Record<string, string> }[];
  predicate: unknown;
}

/**
 * Parses the in-toto statement signed inside a DSSE envelope. Only called on
 * a payload whose signature verified: before that it is attacker data.
 */
export function parseInTotoStatement(payloadType: string, payload: Uint8Array, source: string): InTotoStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw mismatch(source, `DSSE payloadType is ${quoteUntrusted(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (payload.byteLength > MAX_STATEMENT_BYTES) throw mismatch(source, `statement is larger than ${MAX_STATEMENT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw mismatch(source, 'statement is not JSON');
  }
  if (!isObject(json) || typeof json._type !== 'string' || !STATEMENT_TYPES.has(json._type)) {
    throw mismatch(source, 'payload is not an in-toto Statement (v0.1 or v1)');
  }
  if (typeof json.predicateType !== 'string' || json.predicateType === '') throw mismatch(source, 'statement has no predicateType');
  if (!Array.isArray(json.subject) || json.subject.length === 0) throw mismatch(source, 'statement has no subject');
  const subjects = json.subject.map((subject, i) => {
    if (!isObject(subject) || !isObject(subject.digest)) throw mismatch(source, `statement subject[${i}] has no digest`);
    const digest: Record<string, string> = {};
    for (const [algorithm, value] of Object.entries(subject.digest)) {
      if (typeof value === 'string') digest[algorithm] = value.toLowerCase();
    }
    return { name: typeof subject.name === 'string' ? subject.name : undefined, digest };
  });
  return { predicateType: json.predicateType, subjects, predicate: json.predicate };
}

/** The artifact's sha256 must be one of the statement's subjects. */
export function assertSubject(statement: InTotoStatement, artifact: Digest, source: string): void {
  const hex = artifact.slice('sha256:'.length);
  if (statement.subjects.some((subject) => subject.digest.sha256 === hex)) return;
  const found = statement.subjects
    .slice(0, 3)
    .map((subject) => (subject.digest.sha256 ? `sha256:${quoteUntrusted(subject.digest.sha256, 64).slice(1, -1)}` : 'no sha256'))
    .join(', ');
  throw mismatch(source, `statement subjects (${found}) do not include ${artifact}`);
}

/**
 * The digest of a predicate: sha256 over its RFC 8785 canonical JSON, so the
 * same predicate gives the same digest however the signer laid it out.
 */
export function predicateDigest(statement: InTotoStatement, source = 'attestation'): Digest {
  // Canonicalisation recurses once per level: bound the depth first, without recursing ourselves.
  if (nestingDepth(statement.predicate) > MAX_PREDICATE_DEPTH) {
    throw new VerificationFailure(VerifyErrorCode.bundleInvalid, `attestation ${source}: the predicate nests deeper than ${MAX_PREDICATE_DEPTH} levels`, {
      hint: 'real predicates (SLSA provenance, SBOM links) nest a few levels; this one is not usable',
    });
  }
  return sha256Digest(canonicalJson.canonicalize(statement.predicate ?? null));
}

/** Deeper than any real predicate, shallow enough that canonicalising it cannot exhaust the stack. */
export const MAX_PREDICATE_DEPTH = 64;

/** Nesting depth of a JSON value, walked with an explicit stack; stops counting past the limit. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_PREDICATE_DEPTH) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

function mismatch(source: string, what: string): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.digestMismatch, `attestation ${source}: ${what}`, {
    hint: 'the signed statement is not about this artifact',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
