import type { Bundle } from '@sigstore/bundle';
import { digestHex, type Digest } from '../../oci/digest.ts';
import { jsonBytes } from '../../oci/layout.ts';
import { MediaType, type Descriptor, type ImageManifest } from '../../oci/media-types.ts';
import type { RegistryClient } from '../../oci/registry/index.ts';
import { LegacyAnnotation } from '../../sigstore/legacy/legacy-signature.ts';
import { SIMPLE_SIGNING_MEDIA_TYPE, SIMPLE_SIGNING_TYPE } from '../../sigstore/payload/simple-signing.ts';
import type { SignedPayload } from '../signer/sigstore-signer.ts';
import { pushBlob } from './referrer.ts';

/** cosign's simple-signing payload for an image digest, byte for byte as cosign writes it. */
export function simpleSigningPayload(dockerReference: string, digest: Digest): Buffer {
  return Buffer.from(
    JSON.stringify({ critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: SIMPLE_SIGNING_TYPE }, optional: null }),
  );
}

export function legacySignatureTag(digest: Digest): string {
  return `sha256-${digestHex(digest)}.sig`;
}

/**
 * The annotations of a legacy `.sig` layer: the base64 signature, the
 * signing certificate (keyless), and Rekor's signed entry timestamp with the
 * entry it covers. The CA chain annotation is not written: verifiers take
 * the chain from their trusted root, and Fulcio's chain is not ours to vouch for.
 */
export function legacyAnnotations(signed: SignedPayload): Record<string, string> {
  const annotations: Record<string, string> = { [LegacyAnnotation.signature]: signed.signature.toString('base64') };
  if (signed.certificatePem !== undefined) annotations[LegacyAnnotation.certificate] = signed.certificatePem;
  const entry = (signed.bundle as Bundle).verificationMaterial.tlogEntries[0];
  if (entry?.inclusionPromise !== undefined) {
    annotations[LegacyAnnotation.bundle] = JSON.stringify({
      SignedEntryTimestamp: Buffer.from(entry.inclusionPromise.signedEntryTimestamp).toString('base64'),
      Payload: {
        body: Buffer.from(entry.canonicalizedBody).toString('base64'),
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId!.keyId).toString('hex'),
      },
    });
  }
  return annotations;
}

/**
 * Adds one layer to the image's `sha256-<hex>.sig` manifest (creating it),
 * as cosign does: earlier signatures stay, ours is appended.
 */
export async function attachLegacySignature(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  payload: Buffer,
  annotations: Record<string, string>,
): Promise<Digest> {
  const tag = legacySignatureTag(digest);
  const layers: Descriptor[] = [];
  if ((await client.manifestDescriptor(repository, tag)) !== undefined) {
    const existing = (await client.getManifest(repository, tag)).manifest as Partial<ImageManifest>;
    if (Array.isArray(existing.layers)) layers.push(...existing.layers);
  }
  layers.push(await pushBlob(client, repository, payload, SIMPLE_SIGNING_MEDIA_TYPE, annotations));
  const config = await pushBlob(
    client,
    repository,
    jsonBytes({ architecture: '', created: '0001-01-01T00:00:00Z', history: [{ created: '0001-01-01T00:00:00Z' }], os: '', rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) }, config: {} }),
    MediaType.imageConfig,
  );
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers };
  return client.putManifest(repository, tag, jsonBytes(manifest), MediaType.imageManifest);
}
