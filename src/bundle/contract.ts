import { CatalogError, quoteUntrusted } from '../errors.ts';
import { Annotation, type ImageManifest } from '../oci/media-types.ts';

/**
 * Tekton's bundle contract (docs: "Tekton Bundle Contract v0.1", and the
 * checks in the bundles resolver): at most 20 layers, each one resource,
 * each annotated with its apiVersion, its kind (lower-case, singular) and
 * its name.
 */
export const MAX_BUNDLE_OBJECTS = 20;

export const BundleAnnotation = {
  apiVersion: Annotation.tektonApiVersion,
  kind: Annotation.tektonKind,
  name: Annotation.tektonName,
} as const;

/** The resolver's own singular test: lower-case, and no trailing "s". */
export function isBundleKind(kind: string): boolean {
  return kind === kind.toLowerCase() && !kind.endsWith('s') && kind.length > 0;
}

/** The same checks the bundles resolver runs before it reads any layer; throws BUNDLE_INVALID. */
export function checkBundleCompliance(manifest: ImageManifest, where: string): void {
  const layers = Array.isArray(manifest.layers) ? manifest.layers : undefined;
  if (layers === undefined) throw new CatalogError('BUNDLE_INVALID', `${where}: the manifest has no layers list`);
  if (layers.length > MAX_BUNDLE_OBJECTS) {
    throw new CatalogError('BUNDLE_INVALID', `${where}: ${layers.length} layers, more than the ${MAX_BUNDLE_OBJECTS} objects a Tekton bundle may hold`);
  }
  layers.forEach((layer, index) => {
    const annotations = layer.annotations ?? {};
    for (const key of [BundleAnnotation.apiVersion, BundleAnnotation.name, BundleAnnotation.kind]) {
      if (typeof annotations[key] !== 'string') {
        throw new CatalogError('BUNDLE_INVALID', `${where}: layer ${index} has no ${key} annotation`);
      }
    }
    const kind = annotations[BundleAnnotation.kind]!;
    if (!isBundleKind(kind)) {
      throw new CatalogError('BUNDLE_INVALID', `${where}: layer ${index} kind ${quoteUntrusted(kind)} is not lower-case and singular`);
    }
  });
}
