import { parseDocument } from 'yaml';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import type { OciLayout } from '../oci/layout.ts';
import { Annotation, MediaType, type Descriptor, type ImageManifest } from '../oci/media-types.ts';
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
  /** The ref name the bundle is tagged with in the layout, e.g. "bundle-git-clone-0.1". */
  refName: string;
  /** Timestamps in the layers, config and manifest: fixed, so digests are reproducible. */
  sourceDateEpoch: number;
  /** Extra manifest annotations (source, version, …). */
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
  const created = new Date(options.sourceDateEpoch * 1000).toISOString();
  // A bundle is data, not a runnable image; the config still has the
  // shape tools expect, with no platform claimed (as `tkn bundle push` does).
  const config = { created, architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } };
  const { descriptor: configDescriptor } = await layout.writeJson(config, MediaType.imageConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDescriptor,
    layers,
    annotations: { [Annotation.created]: created, ...options.annotations },
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
  /** MAJOR.MINOR; when given, only the highest version of each name is kept. Without it, names must be unique. */
  version?: string;
}

export interface CatalogBundle {
  refName: string;
  descriptor: Descriptor;
  /** Resource names in it, in layer order. */
  names: string[];
  /** "name@version" (or just the name when no version was given), in layer order. */
  tasks: string[];
}

/**
 * The catalog bundle: the latest version of every Task, by name, split into
 * bundles of at most 20 objects ("catalog-1", "catalog-2", …).
 */
export async function buildCatalogBundles(
  layout: OciLayout,
  tasks: CatalogTask[],
  options: { sourceDateEpoch: number; refNamePrefix?: string; annotations?: Record<string, string> },
): Promise<CatalogBundle[]> {
  const latest = new Map<string, CatalogTask>();
  for (const task of tasks) {
    const current = latest.get(task.name);
    if (current === undefined) latest.set(task.name, task);
    else if (task.version === undefined || current.version === undefined) {
      throw new CatalogError('BUNDLE_RESOURCE_DUPLICATE', `catalog bundle: Task ${quoteUntrusted(task.name)} is listed twice without versions to choose the latest by`);
    } else if (compareVersions(task.version, current.version) > 0) latest.set(task.name, task);
  }
  const sorted = [...latest.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bundles: CatalogBundle[] = [];
  for (let start = 0; start < sorted.length; start += MAX_BUNDLE_OBJECTS) {
    const group = sorted.slice(start, start + MAX_BUNDLE_OBJECTS);
    const refName = `${options.refNamePrefix ?? 'catalog'}-${bundles.length + 1}`;
    const descriptor = await buildTaskBundle(layout, group.map(({ apiVersion, kind, name, yaml }) => ({ apiVersion, kind, name, yaml })), {
      refName,
      sourceDateEpoch: options.sourceDateEpoch,
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    });
    bundles.push({
      refName,
      descriptor,
      names: group.map((task) => task.name),
      tasks: group.map((task) => (task.version === undefined ? task.name : `${task.name}@${task.version}`)),
    });
  }
  return bundles;
}

export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    if (!/^\d+\.\d+$/.test(v)) throw new CatalogError('BUNDLE_VERSION_INVALID', `version ${quoteUntrusted(v)} is not MAJOR.MINOR`);
    return v.split('.').map(Number) as [number, number];
  };
  const [amaj, amin] = parse(a);
  const [bmaj, bmin] = parse(b);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}
