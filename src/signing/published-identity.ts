/**
 * Who signs this catalog, as consumers pin it. Release signing is keyless,
 * from GitHub Actions: Fulcio writes the workflow's job_workflow_ref into the
 * certificate's SAN as https://github.com/<job_workflow_ref>, so the identity
 * names the repository, the workflow file and the ref it ran from. The
 * release workflow runs only from main (workflow_dispatch), so the identity
 * is one exact string, not a pattern: a workflow on another branch, a fork
 * or a pull request gets a different SAN and fails verification.
 */
export interface PublishedIdentity {
  /** The certificate SAN consumers pin (cosign --certificate-identity). */
  identity: string;
  /** The OIDC issuer consumers pin (cosign --certificate-oidc-issuer). */
  issuer: string;
  /** The source repository every provenance must name. */
  sourceRepository: string;
  /** Sigstore instance the signatures are logged in. */
  fulcioUrl: string;
  rekorUrl: string;
}

export const PUBLISHED_IDENTITY: PublishedIdentity = {
  identity: 'https://github.com/hardened-tekton/catalog/.github/workflows/release.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
  sourceRepository: 'https://github.com/hardened-tekton/catalog',
  fulcioUrl: 'https://fulcio.sigstore.dev',
  rekorUrl: 'https://rekor.sigstore.dev',
};
