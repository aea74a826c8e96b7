import { CatalogError } from '../../errors.ts';
import { digestHex, sha256Digest, type Digest } from '../../oci/digest.ts';
import { jsonBytes } from '../../oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../oci/media-types.ts';
import type { RegistryClient } from '../../oci/registry/index.ts';
import { SIGSTORE_BUNDLE_ARTIFACT_TYPE } from '../../sigstore/discovery/signature-discovery.ts';
import { SigningErrorCode, signingError } from '../errors.ts';

/** The OCI empty descriptor's content: cosign's referrer manifests use it as their config. */
const EMPTY_CONFIG = Buffer.from('{}');

/** Annotations cosign v3 writes on a bundle referrer, so tools can filter without fetching the bundle. */
export const BundleAnnotation = {
  content: 'dev.sigstore.bundle.content',
  predicateType: 'dev.sigstore.bundle.predicateType',
} as const;

export interface AttachedReferrer {
  descriptor: Descriptor;
  /** How the registry lists it: its referrers API, or the sha256-<hex> fallback tag we maintain. */
  listedBy: 'api' | 'tag-schema';
}

/**
 * Attaches a Sigstore bundle to a manifest the way cosign v3 does: an OCI 1.1
 * artifact manifest (artifactType = the bundle media type, empty config, one
 * layer holding the bundle JSON) whose `subject` is the signed manifest,
 * pushed by digest. A registry with the referrers API indexes it by itself;
 * for one without (answering 404 on /referrers, as distribution 2.8 does)
 * the `sha256-<hex>` tag-schema index is read, extended and written back,
 * and read once more to confirm the descriptor is listed.
 */
export async function attachBundleReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  bundle: Buffer,
  predicateType: string,
): Promise<AttachedReferrer> {
  const config = await pushBlob(client, repository, EMPTY_CONFIG, MediaType.emptyJson);
  const layer = await pushBlob(client, repository, bundle, SIGSTORE_BUNDLE_ARTIFACT_TYPE);
  const annotations = { [BundleAnnotation.content]: 'dsse-envelope', [BundleAnnotation.predicateType]: predicateType };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType: SIGSTORE_BUNDLE_ARTIFACT_TYPE,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = jsonBytes(manifest);
  const digest = await client.putManifest(repository, sha256Digest(bytes), bytes, MediaType.imageManifest);
  const descriptor: Descriptor = { mediaType: MediaType.imageManifest, digest, size: bytes.byteLength, artifactType: SIGSTORE_BUNDLE_ARTIFACT_TYPE, annotations };

  const listed = await client.referrers(repository, subject.digest);
  if (listed.source === 'api') {
    if (!listed.manifests.some((entry) => entry.digest === digest)) {
      throw signingError(
        SigningErrorCode.attachFailed,
        `registry ${client.registry}, repository ${repository}: the referrers API does not list the signature ${digest} pushed for ${subject.digest}`,
        'the registry may index referrers asynchronously; re-run the signing (it is idempotent)',
      );
    }
    return { descriptor, listedBy: 'api' };
  }
  await addToFallbackIndex(client, repository, subject.digest, descriptor);
  return { descriptor, listedBy: 'tag-schema' };
}

/** The referrers tag schema: an image index tagged `sha256-<hex of the subject>` listing every referrer. */
export function fallbackTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

async function addToFallbackIndex(client: RegistryClient, repository: string, subject: Digest, descriptor: Descriptor): Promise<void> {
  const tag = fallbackTag(subject);
  const existing = await client.manifestDescriptor(repository, tag);
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] };
  if (existing !== undefined) {
    const pulled = await client.getManifest(repository, tag, { accept: [MediaType.imageIndex] });
    const manifests = (pulled.manifest as Partial<ImageIndex>).manifests;
    if (!Array.isArray(manifests)) {
      throw new CatalogError('SIGN_ATTACH_FAILED', `registry ${client.registry}, repository ${repository}: tag ${tag} is not an image index, so it cannot list referrers`, {
        hint: 'something else holds the referrers fallback tag; remove it and re-run the signing',
      });
    }
    index = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests };
  }
  if (!index.manifests.some((entry) => entry.digest === descriptor.digest)) {
    index.manifests = [...index.manifests, descriptor];
    await client.putManifest(repository, tag, jsonBytes(index), MediaType.imageIndex);
  }
  const after = await client.referrers(repository, subject);
  if (!after.manifests.some((entry) => entry.digest === descriptor.digest)) {
    throw signingError(
      SigningErrorCode.attachFailed,
      `registry ${client.registry}, repository ${repository}: tag ${tag} does not list the signature ${descriptor.digest} after it was written`,
      'another signer may have rewritten the tag at the same time; re-run the signing (it is idempotent)',
    );
  }
}

export async function pushBlob(client: RegistryClient, repository: string, bytes: Buffer, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  await client.pushBlob(repository, digest, async () => bytes);
  const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength };
  if (annotations !== undefined) descriptor.annotations = annotations;
  return descriptor;
}
