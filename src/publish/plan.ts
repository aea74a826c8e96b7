import { CatalogError, quoteUntrusted } from '../errors.ts';
import type { Digest } from '../oci/digest.ts';
import type { OciLayout } from '../oci/layout.ts';
import { Annotation, MediaType, type Descriptor } from '../oci/media-types.ts';
import { parseRegistryPrefix, type RegistryPrefix } from '../oci/registry-prefix.ts';
import { assertRepositoryName, assertTag } from '../oci/registry/reference.ts';
import type { CatalogIndex } from '../build/catalog-index.ts';
import { bundleRefName, catalogRefName, LAYOUT_REGISTRY_ANNOTATION, stepRefName } from '../build/dist-layout.ts';
import { releaseTag } from '../build/annotations.ts';
import { compareVersions } from '../build/semver.ts';
import type { IndexArtefact } from './index-artifact.ts';

/**
 * What publish pushes where, from catalog/index.json alone:
 *   every step image a version records → <ns>/steps/<program>:<version>
 *   every Task version                 → <ns>/tasks/<task>:<version>
 *   every catalog bundle part          → <ns>/catalog:latest, :latest-part-2, …
 *   the index itself                   → <ns>/catalog-index:latest (what `list` reads)
 * The build's layout must hold exactly the artefacts the index says a
 * build makes (every bundle, the newest version's step images, the
 * catalog bundles) with the recorded digests: a missing, different or
 * extra entry stops the publish before anything is pushed. Step images of
 * older versions cannot be rebuilt from today's source; they must already
 * be in the registry (published when their version was the newest).
 * Version tags never move to other content; catalog tags do, on purpose.
 */
export type ArtefactKind = 'step-image' | 'task-bundle' | 'catalog-bundle' | 'catalog-index';

export type ArtefactSource =
  /** In the build's layout under this ref name. */
  | { layoutRef: string }
  /** Not built by this build: must already be in the registry. */
  | { registryOnly: true }
  /** Made by publish itself (the index artefact). */
  | { generated: IndexArtefact };

export interface PlannedArtefact {
  kind: ArtefactKind;
  /** For people: "Task validate-params 0.1.0", "step image validate-params of Task validate-params 0.1.0". */
  label: string;
  task?: string;
  version?: string;
  /** The version's status: decides what a tag conflict means. Undefined for catalog artefacts. */
  status?: 'draft' | 'released';
  repository: string;
  tag: string;
  digest: Digest;
  /** Known for what this build has; undefined for registry-only artefacts until the registry is asked. */
  descriptor?: Descriptor;
  source: ArtefactSource;
  /** May the tag be moved to new content? Only catalog tags may. */
  movableTag: boolean;
}

export const INDEX_REPOSITORY = 'catalog-index';
export const INDEX_TAG = 'latest';

/**
 * Checks that the layout is this index's build for this registry, and
 * lists what to publish, images before the bundles that use them.
 */
export async function planCatalogPublish(
  index: CatalogIndex,
  layout: OciLayout,
  target: RegistryPrefix,
  indexArtefact: IndexArtefact,
  where: { catalogDir: string },
): Promise<PlannedArtefact[]> {
  checkRegistry(index, target, where.catalogDir);
  const layoutIndex = await layout.index();
  const layoutRegistry = layoutIndex.annotations?.[LAYOUT_REGISTRY_ANNOTATION];
  if (layoutRegistry !== index.registry) {
    throw new CatalogError(
      'PUBLISH_LAYOUT_REGISTRY',
      `${layout.dir} was built for ${layoutRegistry === undefined ? 'an unknown registry' : quoteUntrusted(layoutRegistry, 200)}, but ${where.catalogDir}/index.json records ${index.registry}: they are not from the same build`,
      { hint: `rebuild: npm run build -- --registry ${index.registry}` },
    );
  }

  const ns = target.namespace;
  const artefacts: PlannedArtefact[] = [];
  const images: PlannedArtefact[] = [];
  for (const name of Object.keys(index.tasks).sort()) {
    const entry = index.tasks[name]!;
    const newest = entry.latest;
    for (const version of Object.keys(entry.versions).sort(compareVersions)) {
      const record = entry.versions[version]!;
      const label = `Task ${name} ${version} (${record.status})`;
      for (const [program, image] of Object.entries(record.images)) {
        images.push({
          kind: 'step-image',
          label: `step image ${program} of ${label}`,
          task: name,
          version,
          status: record.status,
          repository: `${ns}/steps/${program}`,
          tag: image.tag,
          digest: image.index as Digest,
          // Only the newest version's images come from this build; older ones were published when they were newest.
          source: version === newest ? { layoutRef: stepRefName(program) } : { registryOnly: true },
          movableTag: false,
        });
      }
      artefacts.push({
        kind: 'task-bundle',
        label,
        task: name,
        version,
        status: record.status,
        repository: `${ns}/tasks/${name}`,
        tag: version,
        digest: record.bundle.digest as Digest,
        source: { layoutRef: bundleRefName(name, version) },
        movableTag: false,
      });
    }
  }
  for (const bundle of index.catalogBundles) {
    artefacts.push({
      kind: 'catalog-bundle',
      label: `catalog bundle ${bundle.tag} (${bundle.tasks.join(', ')})`,
      repository: `${ns}/catalog`,
      tag: bundle.tag,
      digest: bundle.digest as Digest,
      source: { layoutRef: catalogRefName(bundle.tag) },
      movableTag: true,
    });
  }
  artefacts.push({
    kind: 'catalog-index',
    label: 'catalog index (what `tekton-catalog list` reads)',
    repository: `${ns}/${INDEX_REPOSITORY}`,
    tag: INDEX_TAG,
    digest: indexArtefact.manifestDescriptor.digest,
    descriptor: indexArtefact.manifestDescriptor,
    source: { generated: indexArtefact },
    movableTag: true,
  });

  const plan = [...dedupeImages(images), ...artefacts];
  await attachLayoutDescriptors(plan, layout);
  for (const artefact of plan) {
    assertRepositoryName(artefact.repository);
    assertTag(artefact.tag);
  }
  return plan;
}

/** Publish goes to the registry the build wrote into every Task, or nowhere. */
export function checkRegistry(index: CatalogIndex, target: RegistryPrefix, catalogDir: string): void {
  if (target.prefix === index.registry) return;
  const recorded = parseRegistryPrefix(index.registry, { flag: 'the recorded registry' });
  throw new CatalogError(
    'PUBLISH_REGISTRY_MISMATCH',
    `this build is for ${index.registry} (${catalogDir}/index.json): its Tasks pull their step images from ${index.registry}/steps/…, so publishing it to ${target.prefix} would give you Tasks that run images from ${recorded.host}`,
    {
      hint: `build for ${target.prefix} first: npm run build -- --registry ${target.prefix} (add --catalog <dir> --dist <dir> if the committed catalog records released versions), then publish again`,
    },
  );
}

/** One image can be recorded by several versions only with the same tag and digest; anything else is a corrupt index. */
function dedupeImages(images: PlannedArtefact[]): PlannedArtefact[] {
  const byTag = new Map<string, PlannedArtefact>();
  for (const image of images) {
    const key = `${image.repository}:${image.tag}`;
    const seen = byTag.get(key);
    if (seen === undefined) {
      byTag.set(key, image);
      continue;
    }
    if (seen.digest !== image.digest) {
      throw new CatalogError('PUBLISH_INDEX_INCONSISTENT', `the index records two images for ${key}: ${seen.digest} (${seen.label}) and ${image.digest} (${image.label})`, {
        hint: 'restore catalog/index.json from git; it is written only by the build',
      });
    }
    // Keep the one this build can supply, if either.
    if ('registryOnly' in seen.source && !('registryOnly' in image.source)) byTag.set(key, image);
  }
  return [...byTag.values()];
}

/**
 * The layout must hold exactly the planned layout artefacts, each with its
 * recorded digest; every problem is named before anything is pushed.
 */
async function attachLayoutDescriptors(plan: PlannedArtefact[], layout: OciLayout): Promise<void> {
  const entries = new Map<string, Descriptor>();
  for (const entry of (await layout.index()).manifests) {
    const refName = entry.annotations?.[Annotation.refName];
    if (refName !== undefined) entries.set(refName, entry);
  }
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const artefact of plan) {
    if (!('layoutRef' in artefact.source)) continue;
    const refName = artefact.source.layoutRef;
    expected.add(refName);
    const entry = entries.get(refName);
    if (entry === undefined) problems.push(`missing: ${refName} (${artefact.label}, ${artefact.digest})`);
    else if (entry.digest !== artefact.digest) problems.push(`different: ${refName} is ${entry.digest}, the index records ${artefact.digest} (${artefact.label})`);
    else artefact.descriptor = withoutRefName(entry);
  }
  for (const refName of [...entries.keys()].sort()) {
    if (!expected.has(refName)) problems.push(`extra: ${quoteUntrusted(refName, 120)} is not an artefact the index lists`);
  }
  if (problems.length > 0) {
    throw new CatalogError('PUBLISH_LAYOUT_MISMATCH', `${layout.dir} does not hold exactly what catalog/index.json lists; nothing was pushed:\n  ${problems.join('\n  ')}`, {
      hint: 'rebuild with `npm run build` (it replaces dist/oci with exactly the index\'s artefacts) and publish again',
    });
  }
}

function withoutRefName(entry: Descriptor): Descriptor {
  const { annotations, ...rest } = entry;
  const others = Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => key !== Annotation.refName));
  return Object.keys(others).length > 0 ? { ...rest, annotations: others } : { ...rest };
}

/** The git tag to check out to publish an older version's images: the one its artefacts name as their revision. */
export function releaseCheckout(artefact: PlannedArtefact): string {
  return artefact.task !== undefined && artefact.version !== undefined ? releaseTag(artefact.task, artefact.version) : 'the commit that built it';
}

export const STEP_IMAGE_MEDIA_TYPE = MediaType.imageIndex;
