/**
 * Why verify-catalog rejects a catalog, beyond the signature codes of
 * verify-image (NO_SIGNATURES, SIGNATURE_INVALID, IDENTITY_MISMATCH,
 * DIGEST_MISMATCH, …), which it reports as they are for the bundle itself.
 */
export const CatalogCheckCode = {
  /** No SLSA provenance signed by the catalog's identity is attached. */
  provenanceMissing: 'PROVENANCE_MISSING',
  /** A provenance signed by the identity is attached, but it is about another artefact. */
  provenanceSubjectMismatch: 'PROVENANCE_SUBJECT_MISMATCH',
  /** The provenance names another source repository than the catalog's. */
  provenanceSourceMismatch: 'PROVENANCE_SOURCE_MISMATCH',
  /** A step image's provenance names another commit than the bundle's. */
  provenanceCommitMismatch: 'PROVENANCE_COMMIT_MISMATCH',
  /** A layer of the verified bundle manifest is served with other content. */
  bundleLayerDigestMismatch: 'BUNDLE_LAYER_DIGEST_MISMATCH',
  /** The verified bundle does not hold readable Tasks. */
  bundleContentInvalid: 'BUNDLE_CONTENT_INVALID',
  /** A Task runs an image not pinned by digest. */
  stepImageNotPinned: 'STEP_IMAGE_NOT_PINNED',
  /** A step image a Task runs failed verification; the cause says why. */
  stepImageRejected: 'STEP_IMAGE_REJECTED',
} as const;

export type CatalogCheckCodeValue = (typeof CatalogCheckCode)[keyof typeof CatalogCheckCode];
