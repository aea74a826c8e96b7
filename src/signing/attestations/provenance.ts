import type { Digest } from '../../oci/digest.ts';
import type { BuildContext } from './build-context.ts';

/**
 * The buildType of our provenance: what the fields mean is documented in
 * the README's "Provenance" section at that address.
 */
export const CATALOG_BUILD_TYPE = 'https://github.com/hardened-tekton/catalog/blob/main/README.md#provenance';

export interface ProvenanceSubjectInfo {
  /** What was built: "step image verify-image (amd64)", "Task bundle git-clone 0.1". */
  label: string;
}

/**
 * A SLSA provenance v1 predicate. Everything needed to rebuild and compare
 * digests is in it: the repository and commit (resolvedDependencies[0],
 * gitCommit), the pinned inputs by sha256, the build command and registry,
 * SOURCE_DATE_EPOCH, and the builder with its versions.
 */
export function provenancePredicate(context: BuildContext, subject: ProvenanceSubjectInfo): Record<string, unknown> {
  const source: Record<string, string> = { repository: context.sourceRepository, commit: context.sourceCommit };
  if (context.sourceRef !== undefined) source.ref = context.sourceRef;
  const runDetails: Record<string, unknown> = { builder: { id: context.builderId, version: context.builderVersion } };
  if (context.invocationId !== undefined) runDetails.metadata = { invocationId: context.invocationId };
  return {
    buildDefinition: {
      buildType: CATALOG_BUILD_TYPE,
      externalParameters: { source, buildCommand: context.buildCommand, registry: context.registry },
      internalParameters: { SOURCE_DATE_EPOCH: String(context.sourceDateEpoch), artefact: subject.label },
      resolvedDependencies: [
        { uri: `git+${context.sourceRepository}${context.sourceRef === undefined ? '' : `@${context.sourceRef}`}`, digest: { gitCommit: context.sourceCommit } },
        ...context.lockFiles.map((file) => ({
          name: file.path,
          uri: `git+${context.sourceRepository}@${context.sourceCommit}#${file.path}`,
          digest: { sha256: file.digest.slice('sha256:'.length) },
        })),
      ],
    },
    runDetails,
  };
}

/**
 * The source a verified provenance names: externalParameters.source, and
 * the same commit as a resolved dependency's gitCommit. Undefined when it
 * names none, or the two disagree.
 */
export function provenanceSource(predicate: unknown): { repository: string; commit: string } | undefined {
  const definition = isObject(predicate) && isObject(predicate.buildDefinition) ? predicate.buildDefinition : undefined;
  const external = definition && isObject(definition.externalParameters) ? definition.externalParameters : undefined;
  const source = external && isObject(external.source) ? external.source : undefined;
  if (typeof source?.repository !== 'string' || typeof source.commit !== 'string' || !/^[0-9a-f]{40}$/.test(source.commit)) return undefined;
  const dependencies = Array.isArray(definition?.resolvedDependencies) ? definition.resolvedDependencies : [];
  const pinned = dependencies.some((dependency) => isObject(dependency) && isObject(dependency.digest) && dependency.digest.gitCommit === source.commit);
  return pinned ? { repository: source.repository, commit: source.commit } : undefined;
}

/** The sha256 a provenance records for one of the pinned input files. */
export function provenanceLockDigest(predicate: unknown, path: string): Digest | undefined {
  const definition = isObject(predicate) && isObject(predicate.buildDefinition) ? predicate.buildDefinition : undefined;
  const dependencies = definition && Array.isArray(definition.resolvedDependencies) ? definition.resolvedDependencies : [];
  for (const dependency of dependencies) {
    if (isObject(dependency) && dependency.name === path && isObject(dependency.digest) && typeof dependency.digest.sha256 === 'string') {
      return `sha256:${dependency.digest.sha256}`;
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
