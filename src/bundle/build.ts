import { parseDocument } from 'yaml';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import type { OciLayout } from '../oci/layout.ts';
import { Annotation, MediaType, type Descriptor, type ImageManifest } from '../oci/media-types.ts';
import { createdFromEpoch } from '../oci/image-config.ts';
import { buildTarLayer } from '../oci/tar-layer.ts';
import { BundleAnnotation, MAX_BUNDLE_OBJECTS, isBundleKind } from './contract.ts';

export interface BundleResource {
  /** e.g. "tekton.dev/v1" */
  apiVersion: string;
  /** e.g. "Task"; stored lower-cased in the layer annotation */
  kind: string;
  /** metadata.name; also the name of the layer's single tar entry */
  name: string;
  /** The exact YAML; the layer holds these bytes unchanged. */
  yaml: string;
}

export interface BundleOptions {
  /** The ref name the bundle is tagged with in the layout, e.g. "bundle-git-clone-0.1.0". */
  refName: string;
  /** Timestamps in the layers, config and manifest: fixed, so digests are reproducible. */
  sourceDateEpoch: number;
  /** Extra manifest annotations (source, version, …); stored sorted by key. */
  annotations?: Record<string, string>;
}

const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Builds a Tekton bundle in an OCI layout: an image manifest with one gzip
 * tar layer per resource, each layer holding one entry named after the
 * resource with its YAML bytes exactly, annotated per Tekton's contract.
 * The same inputs always give the same digest.
 */
export async function buildTaskBundle(layout: OciLayout, resources: BundleResource[], options: BundleOptions): Promise<Descriptor> {
  validateResources(resources, options.refName);
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const resource of resources) {
    const layer = await buildTarLayer(
      [{ type: 'file', path: resource.name, content: Buffer.from(resource.yaml, 'utf8'), mode: 0o644 }],
      options.sourceDateEpoch,
    );
    layers.push(
      await layout.writeBlob(layer.compressed, MediaType.layerTarGzip, {
        [BundleAnnotation.apiVersion]: resource.apiVersion,
        [BundleAnnotation.kind]: resource.kind.toLowerCase(),
        [BundleAnnotation.name]: resource.name,
      }),
    );
    diffIds.push(layer.diffId);
  }
  const created = createdFromEpoch(options.sourceDateEpoch);
  // A bundle is data, not a runnable image; the config still has the
  // shape tools expect, with no platform claimed (as `tkn bundle push` does).
  const config = { created, architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } };
  const { descriptor: configDescriptor } = await layout.writeJson(config, MediaType.imageConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDescriptor,
    layers,
    annotations: sortedRecord({ [Annotation.created]: created, ...options.annotations }),
  };
  const { descriptor } = await layout.writeJson(manifest, MediaType.imageManifest);
  await layout.tag(options.refName, descriptor);
  return descriptor;
}

function validateResources(resources: BundleResource[], refName: string): void {
  const where = `bundle ${refName}`;
  if (resources.length === 0) throw new CatalogError('BUNDLE_EMPTY', `${where}: a bundle needs at least one resource`);
  if (resources.length > MAX_BUNDLE_OBJECTS) {
    throw new CatalogError('BUNDLE_TOO_MANY_OBJECTS', `${where}: ${resources.length} resources, more than the ${MAX_BUNDLE_OBJECTS} Tekton allows in one bundle`, {
      hint: 'split the resources over several bundles (buildCatalogBundles does this)',
    });
  }
  const seen = new Set<string>();
  for (const resource of resources) {
    const label = `${where}: resource ${quoteUntrusted(resource.name)}`;
    if (!RESOURCE_NAME.test(resource.name) || resource.name.length > 253) {
      throw new CatalogError('BUNDLE_RESOURCE_INVALID', `${label}: the name must be a Kubernetes object name (lower-case letters, digits, "-", ".")`);
    }
    if (!isBundleKind(resource.kind.toLowerCase())) {
      throw new CatalogError('BUNDLE_RESOURCE_INVALID', `${label}: kind ${quoteUntrusted(resource.kind)} must be singular (Tekton reads a trailing "s" as plural)`);
    }
    const key = `${resource.apiVersion}\n${resource.kind.toLowerCase()}\n${resource.name}`;
    if (seen.has(key)) throw new CatalogError('BUNDLE_RESOURCE_DUPLICATE', `${label}: listed twice with the same apiVersion and kind`);
    seen.add(key);
    checkIdentity(resource, label);
  }
}

/** The contract: the YAML's own apiVersion, kind and name must match the annotations. */
function checkIdentity(resource: BundleResource, label: string): void {
  const document = parseDocument(resource.yaml);
  if (document.errors.length > 0) throw new CatalogError('BUNDLE_RESOURCE_INVALID', `${label}: the YAML does not parse`);
  const value = document.toJS() as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
  const mismatches: string[] = [];
  if (value?.apiVersion !== resource.apiVersion) mismatches.push('apiVersion');
  // Callers may pass the kind as the annotation spells it ("task"); the YAML has "Task".
  if (typeof value?.kind !== 'string' || value.kind.toLowerCase() !== resource.kind.toLowerCase()) mismatches.push('kind');
  if (value?.metadata?.name !== resource.name) mismatches.push('metadata.name');
  if (mismatches.length > 0) {
    throw new CatalogError('BUNDLE_RESOURCE_INVALID', `${label}: the YAML's ${mismatches.join(', ')} differ from the bundle annotations`);
  }
}

export interface CatalogTask extends BundleResource {
  /** The version of this Task the catalog bundle holds (one per name). */
  version: string;
}

export interface CatalogBundle {
  refName: string;
  /** Its tag in the registry: "latest", then "latest-part-2", … */
  tag: string;
  descriptor: Descriptor;
  /** Resource names in it, in layer order. */
  names: string[];
  /** "name@version", in layer order. */
  tasks: string[];
}

/**
 * The tag of part n (from 1) of the catalog bundle. None of them reads as a
 * version: Renovate and other version-aware tools treat a numeric tag such
 * as "2" as a newer release of "1" and would offer part 2 as an "upgrade"
 * of part 1. "latest" and "latest-part-<n>" are names, so such tools only
 * follow each tag's digest.
 */
export function catalogBundleTag(part: number): string {
  return part === 1 ? 'latest' : `latest-part-${part}`;
}

/**
 * The catalog bundle: one version of every Task (the caller picks which),
 * sorted by name and split into bundles of at most 20 objects, tagged
 * "catalog-latest", "catalog-latest-part-2", … in the layout.
 */
export async function buildCatalogBundles(
  layout: OciLayout,
  tasks: CatalogTask[],
  options: { sourceDateEpoch: number; annotations?: (tasks: CatalogTask[]) => Record<string, string> },
): Promise<CatalogBundle[]> {
  const names = new Set<string>();
  for (const task of tasks) {
    if (names.has(task.name)) throw new CatalogError('BUNDLE_RESOURCE_DUPLICATE', `catalog bundle: Task ${quoteUntrusted(task.name)} is listed twice`);
    names.add(task.name);
  }
  const sorted = [...tasks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bundles: CatalogBundle[] = [];
  for (let start = 0; start < sorted.length; start += MAX_BUNDLE_OBJECTS) {
    const group = sorted.slice(start, start + MAX_BUNDLE_OBJECTS);
    const tag = catalogBundleTag(bundles.length + 1);
    const refName = `catalog-${tag}`;
    const descriptor = await buildTaskBundle(layout, group.map(({ apiVersion, kind, name, yaml }) => ({ apiVersion, kind, name, yaml })), {
      refName,
      sourceDateEpoch: options.sourceDateEpoch,
      ...(options.annotations === undefined ? {} : { annotations: options.annotations(group) }),
    });
    bundles.push({
      refName,
      tag,
      descriptor,
      names: group.map((task) => task.name),
      tasks: group.map((task) => `${task.name}@${task.version}`),
    });
  }
  return bundles;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
