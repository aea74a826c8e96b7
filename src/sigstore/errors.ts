import { CatalogError } from '../errors.ts';

/**
 * Why an image (or a bundle) failed verification. The code is stable: the
 * step prints it, tests branch on it, and pipeline authors can grep for it.
 */
export const VerifyErrorCode = {
  /** No signature (or attestation) was found for the image at all. */
  noSignatures: 'NO_SIGNATURES',
  /** A signature does not verify under its key or certificate. */
  signatureInvalid: 'SIGNATURE_INVALID',
  /** The signer is not who the policy asks for (identity, issuer or workflow claim). */
  identityMismatch: 'IDENTITY_MISMATCH',
  /** The signed payload names another image, or the artifact is not the one signed. */
  digestMismatch: 'DIGEST_MISMATCH',
  /** The registry could not be reached, failed, timed out or redirected elsewhere. */
  registryUnreachable: 'REGISTRY_UNREACHABLE',
  /** The registry answered with something we refuse: malformed, or not what the protocol allows. */
  registryResponseInvalid: 'REGISTRY_RESPONSE_INVALID',
  /** The registry sent more than a cap allows (bytes, nesting, list entries, pages); reading stopped there. */
  registryLimitExceeded: 'REGISTRY_LIMIT_EXCEEDED',
  /** The registry named a token server that may not receive its credentials (another domain, not https, not listed). */
  registryRealmRefused: 'REGISTRY_REALM_REFUSED',
  /** A transparency-log entry is required and the signature has none. */
  tlogRequired: 'TLOG_REQUIRED',
  /** The transparency-log evidence (SET, inclusion proof, checkpoint, entry body) does not hold. */
  tlogInvalid: 'TLOG_INVALID',
  /** The signing certificate does not chain to a CA of the trusted root. */
  untrustedRoot: 'UNTRUSTED_ROOT',
  /** The certificate (or its CA) was not valid at the signing time. */
  certificateExpired: 'CERTIFICATE_EXPIRED',
  /** The certificate's SCTs do not verify against a trusted CT log. */
  sctInvalid: 'SCT_INVALID',
  /** An RFC 3161 timestamp is missing, untrusted or does not cover the signature. */
  timestampInvalid: 'TIMESTAMP_INVALID',
  /** The bundle is malformed or of an unsupported version. */
  bundleInvalid: 'BUNDLE_INVALID',
  /** The signature was made with a key and no public key was configured. */
  keyRequired: 'KEY_REQUIRED',
  /** The configured public key cannot be read. */
  keyInvalid: 'CONFIG_KEY_INVALID',
  /** The trusted root JSON is malformed or incomplete. */
  trustRootInvalid: 'CONFIG_TRUST_ROOT_INVALID',
  /** The policy given to the step is incomplete or contradictory. */
  policyInvalid: 'CONFIG_POLICY_INVALID',
  /** The image reference cannot be parsed. */
  referenceInvalid: 'REFERENCE_INVALID',
  /** The registry has no such image. */
  imageNotFound: 'IMAGE_NOT_FOUND',
  /** The registry refused our (or anonymous) access. */
  registryAccessDenied: 'REGISTRY_ACCESS_DENIED',
  /** A tag-only reference was given while require-digest is set. */
  digestRequired: 'DIGEST_REQUIRED',
  /** A required attestation (predicate type) was not found or not signed by the policy identity. */
  attestationMissing: 'ATTESTATION_MISSING',
  /** Anything the verifier did not expect: fail closed, never pass. */
  internal: 'VERIFICATION_FAILED',
} as const;

export type VerifyErrorCodeValue = (typeof VerifyErrorCode)[keyof typeof VerifyErrorCode];

/**
 * The codes that mean the registry pull itself failed (what the seed counts
 * as tekton_taskrun_image_pull_errors_total), as opposed to an image that
 * was fetched and then failed its signature policy.
 */
export const REGISTRY_PULL_ERROR_CODES: ReadonlySet<string> = new Set([
  VerifyErrorCode.registryUnreachable,
  VerifyErrorCode.registryResponseInvalid,
  VerifyErrorCode.registryLimitExceeded,
  VerifyErrorCode.registryRealmRefused,
  VerifyErrorCode.registryAccessDenied,
  VerifyErrorCode.imageNotFound,
]);

/** The typed error of src/sigstore: a stable `code` plus a message safe to print. */
export class VerificationFailure extends CatalogError {
  declare readonly code: VerifyErrorCodeValue;

  constructor(code: VerifyErrorCodeValue, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'VerificationFailure';
  }
}

export function isVerificationFailure(value: unknown): value is VerificationFailure {
  return value instanceof VerificationFailure;
}
