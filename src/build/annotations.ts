import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogError } from '../errors.ts';
import { createdFromEpoch } from '../oci/image-config.ts';
import { Annotation } from '../oci/media-types.ts';

/**
 * The org.opencontainers.image.* annotations on every step image and bundle
 * the catalog publishes: what Renovate (source, revision), Konflux (version)
 * and people read to find where an artefact comes from.
 *
 * `revision` is the git tag the Task version's release gets,
 * `<task>-v<version>` (releaseTag), not a commit id. A commit id would
 * change every digest on every commit, and the commit that records the
 * catalog would itself change the revision, so the committed catalog could
 * never match a fresh build. The tag is known before the commit exists, is
 * the same in every clean clone, names exactly one version of the source
 * once the release is tagged, and is what Renovate matches release notes
 * by (it looks for a git tag equal to the revision). The link to the real
 * commit is made where it can be proven: the signing step's provenance
 * records the commit a bundle was built from, and a verifier checks that
 * the release tag points at it.
 *
 * `created` is SOURCE_DATE_EPOCH, like every timestamp in our artefacts.
 */
export interface ProjectMetadata {
  /** The source repository's web URL (package.json `repository`). */
  source: string;
  /** SPDX expression (package.json `license`). */
  licenses: string;
  /** Branch the documentation links point into: released version folders never change there. */
  documentationRef: string;
}

const PACKAGE_JSON = join(import.meta.dirname, '..', '..', 'package.json');
const cache = new Map<string, ProjectMetadata>();

export function projectMetadata(packageJsonPath = PACKAGE_JSON): ProjectMetadata {
  const known = cache.get(packageJsonPath);
  if (known !== undefined) return known;
  const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { license?: unknown; repository?: string | { url?: unknown } };
  const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const source = typeof repository === 'string' ? repository.replace(/^git\+/, '').replace(/\.git$/, '') : undefined;
  if (source === undefined || !/^https:\/\/[^\s]+$/.test(source) || typeof pkg.license !== 'string' || pkg.license === '') {
    throw new CatalogError('BUILD_PROJECT_METADATA', `${packageJsonPath} needs an https "repository" URL and a "license": every image and bundle carries them`, {
      hint: 'set "repository": {"type": "git", "url": "git+https://github.com/<org>/<repo>.git"} and "license" in package.json',
    });
  }
  const metadata = { source, licenses: pkg.license, documentationRef: 'main' };
  cache.set(packageJsonPath, metadata);
  return metadata;
}

/** The git tag a Task version's release gets, and the `revision` of everything built for it. */
export function releaseTag(task: string, version: string): string {
  return `${task}-v${version}`;
}

export function versionReadmeUrl(project: ProjectMetadata, task: string, version: string): string {
  return `${project.source}/blob/${project.documentationRef}/catalog/task/${task}/${version}/README.md`;
}

export interface TaskVersionFacts {
  name: string;
  version: string;
  displayName: string;
  summary: string;
}

/** A Task bundle's manifest annotations; recorded in the index so the bundle can be rebuilt byte for byte. */
export function taskBundleAnnotations(task: TaskVersionFacts, project: ProjectMetadata, sourceDateEpoch: number): Record<string, string> {
  return sorted({
    [Annotation.created]: createdFromEpoch(sourceDateEpoch),
    [Annotation.description]: task.summary,
    [Annotation.documentation]: versionReadmeUrl(project, task.name, task.version),
    [Annotation.licenses]: project.licenses,
    [Annotation.revision]: releaseTag(task.name, task.version),
    [Annotation.source]: project.source,
    [Annotation.title]: task.displayName,
    [Annotation.version]: task.version,
  });
}

/**
 * A step image's labels and index annotations. Its version is the version
 * of the Task it was built for (also its tag); `created` is left to the
 * image builder, which stamps the same epoch.
 */
export function stepImageAnnotations(program: string, task: TaskVersionFacts, project: ProjectMetadata): Record<string, string> {
  return sorted({
    [Annotation.description]: `Step program ${program} of the ${task.name} Task: ${task.summary}`,
    [Annotation.documentation]: versionReadmeUrl(project, task.name, task.version),
    [Annotation.licenses]: project.licenses,
    [Annotation.revision]: releaseTag(task.name, task.version),
    [Annotation.source]: project.source,
    [Annotation.title]: `${program} (step of ${task.displayName})`,
    [Annotation.version]: task.version,
  });
}

/**
 * A catalog bundle holds one version of several Tasks, so it has no single
 * version of its own: `version` lists `task@version` of what it holds and
 * `revision` the release tags of those versions.
 */
export function catalogBundleAnnotations(tasks: { name: string; version: string }[], project: ProjectMetadata, sourceDateEpoch: number): Record<string, string> {
  return sorted({
    [Annotation.created]: createdFromEpoch(sourceDateEpoch),
    [Annotation.description]: `The latest version of each of ${tasks.length} hardened Tekton Tasks: ${tasks.map((t) => t.name).join(', ')}`,
    [Annotation.documentation]: `${project.source}/blob/${project.documentationRef}/catalog/README.md`,
    [Annotation.licenses]: project.licenses,
    [Annotation.revision]: tasks.map((t) => releaseTag(t.name, t.version)).join(','),
    [Annotation.source]: project.source,
    [Annotation.title]: 'Hardened Tekton catalog',
    [Annotation.version]: tasks.map((t) => `${t.name}@${t.version}`).join(','),
  });
}

/** The SOURCE_DATE_EPOCH a recorded `created` annotation stands for. */
export function epochFromCreated(created: string | undefined, where: string): number {
  const millis = created === undefined ? NaN : Date.parse(created);
  if (!Number.isFinite(millis) || millis % 1000 !== 0 || createdFromEpoch(millis / 1000) !== created) {
    throw new CatalogError('CATALOG_INDEX_INVALID', `${where}: the recorded ${Annotation.created} annotation is missing or malformed`, {
      hint: 'restore catalog/index.json from git; it is written only by the build',
    });
  }
  return millis / 1000;
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
