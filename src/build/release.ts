import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sha256Digest } from '../oci/digest.ts';
import { releaseTag } from './annotations.ts';
import { readCatalogIndex, renderCatalogIndex, type CatalogIndex } from './catalog-index.ts';
import { assertPinsReleased, pipelineChangelog } from './pipeline-build.ts';
import { renderCatalogReadme } from './readme.ts';
import { renderChangelog } from './release-notes.ts';
import { isVersion } from './semver.ts';

export interface ReleasedVersion {
  name: string;
  version: string;
  /** False when it was released already (nothing changed for it). */
  changed: boolean;
  /** The git tag to create on the commit that records the release (also the artefacts' `revision`). */
  tag: string;
  bundle: string;
}

/**
 * Marks Task versions as released in catalog/index.json and rewrites the
 * release notes (catalog/task/<name>/CHANGELOG.md) and catalog/README.md
 * from the index, exactly as the next build would. Releasing changes no
 * byte of a version's YAML, images or bundle: what was built and tested as
 * the draft is what is released. From then on the build refuses to produce
 * different content under those versions.
 * `task@version` names one version; a bare `task` names its latest.
 */
export async function releaseVersions(catalogDir: string, specs: string[]): Promise<ReleasedVersion[]> {
  const indexPath = join(catalogDir, 'index.json');
  const index = await readCatalogIndex(indexPath);
  if (!index) throw new CatalogError('CATALOG_INDEX_MISSING', `${indexPath} does not exist`, { hint: 'run `npm run build` first' });
  if (specs.length === 0) throw new CatalogError('USAGE_RELEASE', 'name at least one Task to release', { hint: 'e.g. npm run release -- validate-params' });
  const released: ReleasedVersion[] = [];
  for (const spec of specs) {
    const at = spec.indexOf('@');
    const name = at < 0 ? spec : spec.slice(0, at);
    const entry = index.tasks[name];
    if (!entry && index.pipelines[name]) {
      released.push(releasePipeline(index, name, at < 0 ? index.pipelines[name]!.latest : spec.slice(at + 1)));
      continue;
    }
    if (!entry) {
      throw new CatalogError('USAGE_UNKNOWN_TASK', `no Task named ${quoteUntrusted(name)} in the catalog index`, {
        hint: `the catalog has: ${Object.keys(index.tasks).sort().join(', ')}`,
      });
    }
    const version = at < 0 ? entry.latest : spec.slice(at + 1);
    if (!isVersion(version)) throw new CatalogError('USAGE_UNKNOWN_VERSION', `${quoteUntrusted(version)} is not a MAJOR.MINOR.PATCH version`);
    const record = entry.versions[version];
    if (!record) {
      throw new CatalogError('USAGE_UNKNOWN_VERSION', `Task ${name} has no version ${quoteUntrusted(version)}`, {
        hint: `it has: ${Object.keys(entry.versions).join(', ')}`,
      });
    }
    // Release only what the record says was built: the committed YAML must be the recorded content.
    const yaml = await readFile(join(catalogDir, record.path), 'utf8').catch(() => undefined);
    if (yaml === undefined || sha256Digest(yaml) !== record.contentDigest) {
      throw new CatalogError('CATALOG_RECORD_MISMATCH', `Task ${name} ${version}: ${record.path} is missing or differs from the content digest the index records`, {
        hint: 'run `npm run build` (and commit catalog/) before releasing',
      });
    }
    released.push({ name, version, changed: record.status !== 'released', tag: releaseTag(name, version), bundle: record.bundle.reference });
    record.status = 'released';
    // A StepAction runs its Task version's step image: it is released with that version.
    for (const entry of Object.values(index.stepActions)) {
      for (const stepAction of Object.values(entry.versions)) if (stepAction.task === `${name}@${version}`) stepAction.status = 'released';
    }
  }
  for (const name of new Set(released.map((r) => r.name))) {
    if (index.tasks[name]) await writeFileAtomic(join(catalogDir, 'task', name, 'CHANGELOG.md'), renderChangelog(name, index));
    else await writeFileAtomic(join(catalogDir, 'pipeline', name, 'CHANGELOG.md'), pipelineChangelog(name, index.pipelines[name]!));
  }
  await writeFileAtomic(join(catalogDir, 'README.md'), renderCatalogReadme(index));
  await writeFileAtomic(indexPath, renderCatalogIndex(index));
  return released;
}

/**
 * A reference Pipeline version pins Task bundles by digest: it may be
 * released only once every Task version it runs is released (release them
 * first, or in the same command before it).
 */
function releasePipeline(index: CatalogIndex, name: string, version: string): ReleasedVersion {
  if (!isVersion(version)) throw new CatalogError('USAGE_UNKNOWN_VERSION', `${quoteUntrusted(version)} is not a MAJOR.MINOR.PATCH version`);
  const record = index.pipelines[name]!.versions[version];
  if (!record) throw new CatalogError('USAGE_UNKNOWN_VERSION', `Pipeline ${name} has no version ${quoteUntrusted(version)}`, { hint: `it has: ${Object.keys(index.pipelines[name]!.versions).join(', ')}` });
  assertPinsReleased(index, name, version);
  const changed = record.status !== 'released';
  record.status = 'released';
  return { name, version, changed, tag: releaseTag(name, version), bundle: record.path };
}
