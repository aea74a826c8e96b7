/**
 * Who publishes the catalog and how Artifact Hub lists it: one place for the
 * facts every Task version carries as `artifacthub.io/*` annotations and
 * that catalog/task/artifacthub-repo.yml repeats.
 *
 * Artifact Hub's Tekton tracker reads these annotations from each version's
 * YAML (artifacthub/hub internal/tracker/source/tekton/tekton.go,
 * enrichPackageFromAnnotations). A malformed value there does not fail
 * loudly: the tracker drops that version with a warning. So the values are
 * data here (src/build/artifact-hub.ts renders them), and
 * test/build/artifacthub.test.ts checks the emitted catalog against the
 * tracker's rules. No imports: Task definitions, which the audit step
 * bundles, read these constants.
 */

/** Artifact Hub drops a version whose maintainers lack an email, so there is exactly one, with one. */
export const CATALOG_MAINTAINER = { name: 'Hardened Tekton maintainers', email: 'security@hardened-tekton.dev' } as const;

/** The name the catalog's Task repository has on Artifact Hub: the hub resolver's `catalog` param. */
export const ARTIFACT_HUB_REPOSITORY = 'hardened-tekton-catalog';

/** `artifacthub.io/provider`: the organisation behind the catalog. */
export const CATALOG_PROVIDER = 'hardened-tekton';

/**
 * Artifact Hub's fixed category names (artifacthub/hub internal/hub/pkg.go,
 * PackageCategoryFromName); any other value drops the version.
 */
export const ARTIFACT_HUB_CATEGORIES = [
  'ai-machine-learning',
  'database',
  'integration-delivery',
  'monitoring-logging',
  'networking',
  'security',
  'storage',
  'streaming-messaging',
] as const;
export type ArtifactHubCategory = (typeof ARTIFACT_HUB_CATEGORIES)[number];

/**
 * The oldest Tekton Pipelines release the catalog's YAML works on with its
 * default configuration (`tekton.dev/pipelines.minVersion` of every Task).
 * The README's "Tekton Pipelines version" table gives the reason for it:
 * v1 Tasks with `computeResources` need v0.43, and the samples' v1
 * `taskRef.resolver: bundles` needs `enable-api-fields: beta`, the default
 * only from v0.49 (tektoncd/pipeline#6732).
 */
export const MIN_PIPELINES_VERSION = '0.49.0';
