/**
 * What Tekton Chains reads from a TaskRun's or PipelineRun's results to
 * name the artifacts of a build (its "type hints"), as tektoncd/chains
 * implements them, so that our Tasks emit exactly those shapes where they
 * mean to and never by accident:
 *
 * - outputs (signed and attested as built): a result named exactly `IMAGES`;
 *   pairs of results ending in `IMAGE_URL`/`IMAGE_DIGEST` or
 *   `ARTIFACT_URI`/`ARTIFACT_DIGEST` with the same prefix (pkg/artifacts
 *   signable.go, ExtractOCIImagesFromResults and
 *   ExtractSignableTargetFromResults, `strings.HasSuffix`, case sensitive);
 *   object results ending in `ARTIFACT_OUTPUTS`;
 * - inputs (recorded as materials / resolvedDependencies): object results
 *   ending in `ARTIFACT_INPUTS` (ExtractStructuredTargetFromResults with
 *   isStructuredResult: the value must be an object, `res.Value.ObjectVal`,
 *   with non-empty `uri` and `digest`, the digest `<algorithm>:<hex>`), and
 *   `CHAINS-GIT_URL`/`CHAINS-GIT_COMMIT`.
 *
 * One object result names one artifact: Chains reads `ObjectVal` only, so an
 * array result (a list of objects in a string, or an array of strings) is
 * skipped ("should be an object"), and Tekton has no array-of-objects result
 * type. A Task that verifies several images therefore declares one
 * `…_ARTIFACT_INPUTS` object result per image it can record (docs/slsa-
 * provenance.md: "one object type hinting can be `first_ARTIFACT_INPUTS` and
 * another one is `second_ARTIFACT_INPUTS`").
 */

export const ARTIFACT_INPUTS_SUFFIX = 'ARTIFACT_INPUTS';
export const ARTIFACT_OUTPUTS_SUFFIX = 'ARTIFACT_OUTPUTS';

/** The keys Chains requires in an ARTIFACT_INPUTS / ARTIFACT_OUTPUTS object. */
export const ARTIFACT_OBJECT_KEYS = ['uri', 'digest'] as const;

export type ChainsTypeHint = 'IMAGES' | 'IMAGE_URL' | 'IMAGE_DIGEST' | 'ARTIFACT_URI' | 'ARTIFACT_DIGEST' | 'ARTIFACT_INPUTS' | 'ARTIFACT_OUTPUTS' | 'CHAINS-GIT_URL' | 'CHAINS-GIT_COMMIT';

/** The type hint Chains would read a result of this name as, if any (suffix match, case sensitive, as Go's strings.HasSuffix). */
export function chainsTypeHint(name: string): ChainsTypeHint | undefined {
  if (name === 'IMAGES' || name === 'CHAINS-GIT_URL' || name === 'CHAINS-GIT_COMMIT') return name;
  return (['IMAGE_URL', 'IMAGE_DIGEST', 'ARTIFACT_URI', 'ARTIFACT_DIGEST', 'ARTIFACT_INPUTS', 'ARTIFACT_OUTPUTS'] as const).find((suffix) => name.endsWith(suffix));
}

/** Hints that make Chains treat an artifact as something the run built (and sign it as such). */
export function isOutputHint(hint: ChainsTypeHint | undefined): boolean {
  return hint !== undefined && hint !== 'ARTIFACT_INPUTS' && hint !== 'CHAINS-GIT_URL' && hint !== 'CHAINS-GIT_COMMIT';
}

/** How many verified images verify-image records as Chains inputs: one object result each. */
export const MAX_ARTIFACT_INPUTS = 4;

/** `image1_ARTIFACT_INPUTS` … : the result holding the n-th verified image (1-based). */
export function artifactInputResultName(n: number): string {
  return `image${n}_${ARTIFACT_INPUTS_SUFFIX}`;
}

/**
 * The uri Chains records for an image input: `oci://registry/repository`,
 * the scheme Chains gives the step images it records itself, so one image
 * is one material wherever it comes from.
 */
export const OCI_URI_SCHEME = 'oci://';

/** The ARTIFACT_INPUTS object for a verified `registry/repository@sha256:<hex>` reference, as the JSON a step writes. */
export function artifactInputValue(verifiedReference: string): string {
  const at = verifiedReference.lastIndexOf('@');
  if (at <= 0 || !/^sha256:[0-9a-f]{64}$/.test(verifiedReference.slice(at + 1))) {
    throw new Error(`not a reference pinned by a sha256 digest: ${verifiedReference.slice(0, 80)}`);
  }
  return JSON.stringify({ uri: `${OCI_URI_SCHEME}${verifiedReference.slice(0, at)}`, digest: verifiedReference.slice(at + 1) });
}
