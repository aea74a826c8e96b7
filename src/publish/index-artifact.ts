import { CatalogError } from '../errors.ts';
import { sha256Digest } from '../oci/digest.ts';
import { jsonBytes } from '../oci/layout.ts';
import { Annotation, MediaType, type Descriptor, type ImageManifest } from '../oci/media-types.ts';
import { parseCatalogIndex, renderCatalogIndex, type CatalogIndex } from '../build/catalog-index.ts';

/**
 * catalog/index.json as an OCI artefact (`<ns>/catalog-index:latest`), so
 * that `list` can show what a namespace holds and which versions are
 * released without a clone of this repository. It is information, not
 * trust: `list` checks every tag it names against the registry, and
 * signatures (issue 12) are what a consumer verifies.
 */
export const INDEX_ARTIFACT_TYPE = 'application/vnd.hardened-tekton.catalog.index.v1+json';
export const INDEX_LAYER_TYPE = 'application/vnd.hardened-tekton.catalog.index.v1+json';
const EMPTY_CONFIG = Buffer.from('{}');

export interface IndexArtefact {
  manifest: Buffer;
  manifestDescriptor: Descriptor;
  /** The empty config and the index.json layer, by digest. */
  blobs: Map<string, { descriptor: Descriptor; bytes: Buffer }>;
}

export function buildIndexArtefact(index: CatalogIndex): IndexArtefact {
  const indexBytes = Buffer.from(renderCatalogIndex(index), 'utf8');
  const config: Descriptor = { mediaType: MediaType.emptyJson, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.byteLength };
  const layer: Descriptor = {
    mediaType: INDEX_LAYER_TYPE,
    digest: sha256Digest(indexBytes),
    size: indexBytes.byteLength,
    annotations: { [Annotation.title]: 'index.json' },
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: INDEX_ARTIFACT_TYPE,
    config,
    layers: [layer],
    annotations: { [Annotation.title]: `Hardened Tekton catalog index for ${index.registry}` },
  };
  const bytes = jsonBytes(manifest);
  return {
    manifest: bytes,
    manifestDescriptor: { mediaType: MediaType.imageManifest, digest: sha256Digest(bytes), size: bytes.byteLength, artifactType: INDEX_ARTIFACT_TYPE },
    blobs: new Map([
      [config.digest, { descriptor: config, bytes: EMPTY_CONFIG }],
      [layer.digest, { descriptor: layer, bytes: indexBytes }],
    ]),
  };
}

/** The index layer of a pulled index artefact; the caller fetches it (digest-checked) with `readLayer`. */
export async function readIndexArtefact(manifest: ImageManifest, readLayer: (descriptor: Descriptor) => Promise<Buffer>, where: string): Promise<CatalogIndex> {
  const layer = manifest.artifactType === INDEX_ARTIFACT_TYPE && Array.isArray(manifest.layers) ? manifest.layers[0] : undefined;
  if (layer === undefined || layer.mediaType !== INDEX_LAYER_TYPE) {
    throw new CatalogError('LIST_INDEX_INVALID', `${where} is not a catalog index artefact (artifactType ${INDEX_ARTIFACT_TYPE})`);
  }
  const text = (await readLayer(layer)).toString('utf8');
  const index = parseCatalogIndex(text, where);
  if (index === undefined) throw new CatalogError('LIST_INDEX_INVALID', `${where} holds an index in an old format`);
  return index;
}
