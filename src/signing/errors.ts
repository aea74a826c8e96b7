import { CatalogError } from '../errors.ts';

/**
 * Why signing stopped. Codes starting with CONFIG are the operator's to fix
 * (exit 2); SIGN_* are failures of the signing run itself (exit 3). No
 * message ever carries a private key, a passphrase or an identity token.
 */
export const SigningErrorCode = {
  /** The signing options are incomplete or contradictory. */
  configInvalid: 'CONFIG_SIGNING',
  /** The PEM signing key cannot be read or decoded (never quoted). */
  keyInvalid: 'CONFIG_SIGNING_KEY',
  /** Keyless signing found no ambient OIDC token (not in CI, or id-token permission missing). */
  identityUnavailable: 'SIGN_IDENTITY_UNAVAILABLE',
  /** The certificate authority (Fulcio) refused or failed. */
  certificateFailed: 'SIGN_CERTIFICATE_FAILED',
  /** The transparency log (Rekor) refused or failed. */
  tlogFailed: 'SIGN_TLOG_FAILED',
  /** A signature we just made does not verify under the identity consumers are told to expect. */
  selfCheckFailed: 'SIGN_SELF_CHECK_FAILED',
  /** The registry does not hold a digest the index records: publish first. */
  artefactMissing: 'SIGN_ARTEFACT_MISSING',
  /** catalog/index.json contradicts itself (a reference and its recorded digest differ). */
  indexInconsistent: 'SIGN_INDEX_INCONSISTENT',
  /** The source repository or commit the provenance must record cannot be determined. */
  sourceUnknown: 'SIGN_SOURCE_UNKNOWN',
  /** The working tree has uncommitted changes, so no commit describes what was built. */
  sourceDirty: 'SIGN_SOURCE_DIRTY',
  /** This checkout does not reproduce what the image holds, so an SBOM from it would lie. */
  sbomSourceMismatch: 'SIGN_SBOM_SOURCE_MISMATCH',
  /** The registry accepted a signature but does not list it afterwards. */
  attachFailed: 'SIGN_ATTACH_FAILED',
} as const;

export type SigningErrorCodeValue = (typeof SigningErrorCode)[keyof typeof SigningErrorCode];

export function signingError(code: SigningErrorCodeValue, message: string, hint?: string): CatalogError {
  return new CatalogError(code, message, hint === undefined ? {} : { hint });
}
