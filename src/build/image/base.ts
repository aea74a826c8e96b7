import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { isDigest, type Digest } from '../../oci/digest.ts';
import type { HistoryEntry, ImageArch, OciImageConfig } from '../../oci/image-config.ts';
import { OciLayout } from '../../oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../oci/media-types.ts';
import type { BuiltLayer } from '../runtime/layers.ts';

/** An upstream base image pinned by digest, read from an OCI image layout directory. */
export interface BaseImageReference {
  transport: 'oci';
  dir: string;
  digest: Digest;
}

/**
 * Parses `oci:<dir>@sha256:<hex>`. A base named by tag alone could change
 * under us, so it is refused. Registry references are pulled into a layout
 * first (`pullBaseImage`, which the catalog build does for `--base`).
 */
export function parseBaseReference(value: string): BaseImageReference {
  const at = value.lastIndexOf('@');
  const digest = at >= 0 ? value.slice(at + 1) : '';
  if (at < 0 || !digest.startsWith('sha256:')) {
    throw new CatalogError('IMAGE_BASE_NOT_PINNED', `base image ${quoteUntrusted(value, 200)} is not pinned by digest`, {
      hint: 'name it as oci:<layout-dir>@sha256:<digest>; a tag can move, a digest cannot',
    });
  }
  if (!isDigest(digest)) {
    throw new CatalogError('IMAGE_BASE_INVALID', `base image ${quoteUntrusted(value, 200)} has a malformed digest (expected sha256:<64 lowercase hex>)`);
  }
  const name = value.slice(0, at);
  if (!name.startsWith('oci:') || name.length === 'oci:'.length) {
    throw new CatalogError('IMAGE_BASE_UNSUPPORTED', `base image ${quoteUntrusted(value, 200)} is not in an OCI layout`, {
      hint: 'pull it into a layout first (pullBaseImage, or `npm run build -- --base <registry>/<repository>@sha256:<digest>`), then pass oci:<dir>@sha256:<digest>',
    });
  }
  return { transport: 'oci', dir: name.slice('oci:'.length), digest };
}

const INDEX_TYPES = new Set<string>([MediaType.imageIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.imageManifest, MediaType.dockerManifest]);
const LAYER_TYPES = new Map<string, string>([
  [MediaType.layerTarGzip, MediaType.layerTarGzip],
  [MediaType.dockerLayer, MediaType.layerTarGzip],
]);

export interface BaseImageLayers {
  layers: BuiltLayer[];
  history: HistoryEntry[];
}

/**
 * Copies the base image's layers for one architecture into the target
 * layout (every blob digest-checked on the way) and returns what the new
 * image config needs to build on them.
 */
export async function loadBaseImage(reference: BaseImageReference, arch: ImageArch, target: OciLayout): Promise<BaseImageLayers> {
  const source = await OciLayout.open(reference.dir);
  const top = await source.readJson<{ mediaType?: string; manifests?: Descriptor[] }>(reference.digest);
  let manifestDigest: Digest = reference.digest;
  if (top.mediaType !== undefined && INDEX_TYPES.has(top.mediaType)) {
    const entry = (top as ImageIndex).manifests.find(
      (candidate) => candidate.platform?.os === 'linux' && candidate.platform.architecture === arch,
    );
    if (!entry) {
      throw new CatalogError('IMAGE_BASE_PLATFORM', `base image ${reference.digest} has no linux/${arch} manifest`);
    }
    manifestDigest = entry.digest;
  }
  const manifest = manifestDigest === reference.digest ? (top as unknown as ImageManifest) : await source.readJson<ImageManifest>(manifestDigest);
  if (!MANIFEST_TYPES.has(manifest.mediaType)) {
    throw new CatalogError('IMAGE_BASE_INVALID', `base image ${manifestDigest} is not an image manifest (media type ${quoteUntrusted(String(manifest.mediaType))})`);
  }
  const config = await source.readJson<OciImageConfig>(manifest.config.digest);
  if (config.os !== 'linux' || config.architecture !== arch) {
    throw new CatalogError('IMAGE_BASE_PLATFORM', `base image ${manifestDigest} is ${quoteUntrusted(`${config.os}/${config.architecture}`)}, not linux/${arch}`);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new CatalogError('IMAGE_BASE_INVALID', `base image ${manifestDigest} lists ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  const layers: BuiltLayer[] = [];
  for (const [position, layer] of manifest.layers.entries()) {
    const mediaType = LAYER_TYPES.get(layer.mediaType);
    if (!mediaType) {
      throw new CatalogError('IMAGE_BASE_INVALID', `base layer ${layer.digest} has unsupported media type ${quoteUntrusted(layer.mediaType)}`, {
        hint: 'only gzip-compressed tar layers are supported',
      });
    }
    const bytes = await source.readBlob(layer.digest);
    const unpacked = await gunzipDigest(bytes);
    if (unpacked.digest !== diffIds[position]) {
      throw new CatalogError('IMAGE_BASE_INVALID', `base layer ${layer.digest} unpacks to ${unpacked.digest}, but the config's diff_id is ${quoteUntrusted(String(diffIds[position]), 80)}`);
    }
    await target.writeBlob(bytes, mediaType);
    layers.push({
      descriptor: { mediaType, digest: layer.digest, size: bytes.byteLength },
      diffId: diffIds[position]!,
      uncompressedSize: unpacked.size,
      createdBy: `base image ${reference.digest} layer ${position + 1}`,
    });
  }
  const recorded = config.history ?? [];
  const history =
    recorded.filter((entry) => !entry.empty_layer).length === layers.length
      ? recorded
      : layers.map((layer) => ({ created: config.created, created_by: layer.createdBy }));
  return { layers, history };
}

async function gunzipDigest(bytes: Buffer): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of Readable.from([bytes]).pipe(createGunzip())) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
  } catch (cause) {
    throw new CatalogError('IMAGE_BASE_INVALID', 'a base layer is not valid gzip', { cause });
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
