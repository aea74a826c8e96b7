import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { extract as createTarExtract } from 'tar-stream';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { isDigest, type Digest } from '../oci/digest.ts';
import type { OciLayout } from '../oci/layout.ts';
import { MediaType, type ImageManifest } from '../oci/media-types.ts';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry/client.ts';
import { formatReference, parseReference, referenceTarget } from '../oci/registry/reference.ts';
import { BundleAnnotation, checkBundleCompliance } from './contract.ts';

/** Where a bundle is: a ref name (or digest) in a local OCI layout, or an image reference in a registry. */
export type BundleSource =
  | { from: OciLayout; ref: string }
  | { from: string; client?: RegistryClient; registryOptions?: RegistryClientOptions };

export interface ResolvedBundleResource {
  /** Exactly the bytes Tekton's bundles resolver would hand to the controller. */
  data: Buffer;
  apiVersion: string;
  /** The layer's kind annotation as stored. */
  kind: string;
  name: string;
  /** Digest of the bundle manifest the resource came from. */
  bundleDigest: Digest;
  layerDigest: Digest;
  /** True when the layer was not a tar and its raw (decompressed) bytes were returned, as Tekton does. */
  raw: boolean;
}

/** Decompressed layers larger than this are refused (a Task is a few KiB). */
const MAX_LAYER_BYTES = 64 * 1024 * 1024;

/**
 * Reads one resource out of a bundle the way Tekton's bundles resolver does:
 * the same compliance checks first, then the first layer whose kind
 * annotation matches `kind` case-insensitively and whose name annotation
 * equals `name` exactly; from it, the content of the first tar entry, or
 * the layer's raw bytes if it is not a tar.
 */
export async function readBundleResource(source: BundleSource, name: string, kind: string): Promise<ResolvedBundleResource> {
  const bundle = await openBundle(source);
  try {
    const where = `bundle ${bundle.label}`;
    checkBundleCompliance(bundle.manifest, where);
    const wantedKind = kind.toLowerCase();
    const layer = bundle.manifest.layers.find(
      (candidate) =>
        candidate.annotations![BundleAnnotation.kind]!.toLowerCase() === wantedKind && candidate.annotations![BundleAnnotation.name] === name,
    );
    if (layer === undefined) {
      const present = bundle.manifest.layers
        .map((l) => `${l.annotations![BundleAnnotation.kind]}/${l.annotations![BundleAnnotation.name]}`)
        .join(', ');
      throw new CatalogError('BUNDLE_RESOURCE_NOT_FOUND', `${where}: no object with kind ${quoteUntrusted(kind)} and name ${quoteUntrusted(name)}`, {
        hint: `the bundle holds: ${quoteUntrusted(present, 400)}`,
      });
    }
    const compressed = await bundle.readBlob(layer.digest);
    const uncompressed = await decompress(compressed, layer.mediaType, where);
    const entry = await firstTarEntry(uncompressed);
    return {
      data: entry ?? uncompressed,
      apiVersion: layer.annotations![BundleAnnotation.apiVersion]!,
      kind: layer.annotations![BundleAnnotation.kind]!,
      name,
      bundleDigest: bundle.digest,
      layerDigest: layer.digest,
      raw: entry === undefined,
    };
  } finally {
    await bundle.close();
  }
}

export interface BundleContents {
  label: string;
  digest: Digest;
  /** The bundle manifest's annotations (org.opencontainers.image.*). */
  annotations: Record<string, string>;
  /** Every object in layer order, each read as the resolver would read it. */
  resources: ResolvedBundleResource[];
}

/** Every object of a bundle (what `tkn bundle list` shows), after the same compliance checks the resolver runs. */
export async function readBundleContents(source: BundleSource): Promise<BundleContents> {
  const bundle = await openBundle(source);
  try {
    const where = `bundle ${bundle.label}`;
    checkBundleCompliance(bundle.manifest, where);
    const resources: ResolvedBundleResource[] = [];
    for (const layer of bundle.manifest.layers) {
      const uncompressed = await decompress(await bundle.readBlob(layer.digest), layer.mediaType, where);
      const entry = await firstTarEntry(uncompressed);
      resources.push({
        data: entry ?? uncompressed,
        apiVersion: layer.annotations![BundleAnnotation.apiVersion]!,
        kind: layer.annotations![BundleAnnotation.kind]!,
        name: layer.annotations![BundleAnnotation.name]!,
        bundleDigest: bundle.digest,
        layerDigest: layer.digest,
        raw: entry === undefined,
      });
    }
    return { label: bundle.label, digest: bundle.digest, annotations: { ...bundle.manifest.annotations }, resources };
  } finally {
    await bundle.close();
  }
}

interface OpenBundle {
  label: string;
  digest: Digest;
  manifest: ImageManifest;
  readBlob(digest: Digest): Promise<Buffer>;
  close(): Promise<void>;
}

async function openBundle(source: BundleSource): Promise<OpenBundle> {
  if (typeof source.from !== 'string') {
    const layout = source.from;
    const ref = (source as { ref: string }).ref;
    let digest: Digest;
    if (isDigest(ref)) digest = ref;
    else {
      const descriptor = await layout.resolve(ref);
      if (descriptor === undefined) {
        throw new CatalogError('BUNDLE_NOT_FOUND', `layout ${layout.dir} has no ref ${quoteUntrusted(ref)}`, { hint: 'run `npm run build` first' });
      }
      digest = descriptor.digest;
    }
    const label = `${ref} in ${layout.dir}`;
    const manifest = asImageManifest(JSON.parse((await layout.readBlob(digest)).toString('utf8')), label);
    return { label, digest, manifest, readBlob: (d) => layout.readBlob(d), close: async () => {} };
  }
  const { client: given, registryOptions } = source as { from: string; client?: RegistryClient; registryOptions?: RegistryClientOptions };
  const reference = parseReference(source.from);
  const client = given ?? new RegistryClient(reference.registry, registryOptions);
  try {
    const pulled = await client.getManifest(reference.repository, referenceTarget(reference));
    const label = formatReference(reference);
    return {
      label,
      digest: pulled.digest,
      manifest: asImageManifest(pulled.manifest, label, pulled.mediaType),
      readBlob: (d) => client.getBlob(reference.repository, d, { maxBytes: MAX_LAYER_BYTES }),
      close: async () => {
        if (given === undefined) await client.close();
      },
    };
  } catch (error) {
    if (given === undefined) await client.close();
    throw error;
  }
}

function asImageManifest(value: unknown, label: string, mediaType?: string): ImageManifest {
  const manifest = value as Partial<ImageManifest> & { manifests?: unknown };
  const type = mediaType ?? manifest.mediaType;
  if (type === MediaType.imageIndex || type === MediaType.dockerManifestList || Array.isArray(manifest.manifests)) {
    throw new CatalogError('BUNDLE_INVALID', `bundle ${label} is an image index, not a bundle image`, {
      hint: 'reference the bundle image itself (a Tekton bundle is a single image manifest)',
    });
  }
  if (!Array.isArray(manifest.layers)) throw new CatalogError('BUNDLE_INVALID', `bundle ${label} is not an image manifest`);
  return manifest as ImageManifest;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Like go-containerregistry: the compression is sniffed from the bytes, not trusted from the media type. */
async function decompress(bytes: Buffer, mediaType: string, where: string): Promise<Buffer> {
  const startsWith = (magic: number[]) => magic.every((byte, i) => bytes[i] === byte);
  try {
    if (startsWith(GZIP_MAGIC)) return await promisify(zlib.gunzip)(bytes, { maxOutputLength: MAX_LAYER_BYTES });
    if (startsWith(ZSTD_MAGIC)) {
      const zstd = (zlib as unknown as { zstdDecompress?: typeof zlib.gunzip }).zstdDecompress;
      if (zstd === undefined) throw new CatalogError('BUNDLE_LAYER_UNREADABLE', `${where}: a zstd layer needs a Node with zstd support`);
      return await promisify(zstd)(bytes, { maxOutputLength: MAX_LAYER_BYTES });
    }
  } catch (error) {
    if (error instanceof CatalogError) throw error;
    throw new CatalogError('BUNDLE_LAYER_UNREADABLE', `${where}: a ${quoteUntrusted(mediaType)} layer does not decompress (corrupt, or over ${MAX_LAYER_BYTES} bytes)`);
  }
  return bytes;
}

/** The content of the first tar entry, or undefined when the bytes are not a tar (Tekton then uses them raw). */
async function firstTarEntry(bytes: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const extract = createTarExtract();
    let settled = false;
    const finish = (value: Buffer | undefined) => {
      if (settled) return;
      settled = true;
      resolve(value);
      extract.destroy();
    };
    extract.on('entry', (_header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        chunks.push(chunk as Buffer);
      });
      stream.on('end', () => {
        finish(Buffer.concat(chunks));
        next();
      });
      stream.on('error', () => finish(undefined));
    });
    extract.on('finish', () => finish(undefined));
    extract.on('error', () => finish(undefined));
    extract.end(bytes);
  });
}
