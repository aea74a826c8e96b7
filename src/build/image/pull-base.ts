import { join } from 'node:path';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import type { Digest } from '../../oci/digest.ts';
import { OciLayout } from '../../oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../oci/media-types.ts';
import { parseReference, RegistryClient } from '../../oci/registry/index.ts';
import type { Arch } from '../image.ts';

const INDEX_TYPES = new Set<string>([MediaType.imageIndex, MediaType.dockerManifestList]);

export interface PullBaseOptions {
  cacheDir: string;
  platforms: Arch[];
  /** Plain HTTP, for a loopback registry only (the client refuses any other host). */
  plainHttp?: boolean;
  dockerConfigPath?: string;
  /** Token servers (https://host[:port]) on another domain than the registry that may receive its credentials. */
  trustedTokenRealms?: readonly string[];
  /** How a realm refusal names the setting, e.g. the CLI flag. */
  trustedTokenRealmsSetting?: string;
}

/**
 * The online runtime option: copies an upstream base image, named by
 * registry reference and pinned by digest, into a layout under the cache
 * (every manifest and blob digest-checked by the registry client) and
 * returns the `oci:<dir>@sha256:…` reference the image builder reads.
 * Only the platforms being built are copied.
 */
export async function pullBaseImage(reference: string, options: PullBaseOptions): Promise<string> {
  const parsed = parseReference(reference);
  if (!parsed.digest) {
    throw new CatalogError('IMAGE_BASE_NOT_PINNED', `base image ${quoteUntrusted(reference, 200)} is not pinned by digest`, {
      hint: 'append @sha256:<digest>; a tag can move, a digest cannot',
    });
  }
  const layout = await OciLayout.create(join(options.cacheDir, 'base-images'));
  const client = new RegistryClient(parsed.registry, {
    ...(options.plainHttp ? { plainHttp: true } : {}),
    ...(options.dockerConfigPath ? { dockerConfigPath: options.dockerConfigPath } : {}),
    ...(options.trustedTokenRealms ? { trustedTokenRealms: options.trustedTokenRealms } : {}),
    ...(options.trustedTokenRealmsSetting ? { trustedTokenRealmsSetting: options.trustedTokenRealmsSetting } : {}),
  });
  try {
    const top = await copyManifest(client, parsed.repository, parsed.digest, layout);
    if (INDEX_TYPES.has(top.mediaType)) {
      const index = top.manifest as ImageIndex;
      for (const arch of options.platforms) {
        const entry = index.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === arch);
        if (!entry) {
          throw new CatalogError('IMAGE_BASE_PLATFORM', `base image ${parsed.digest} has no linux/${arch} manifest`);
        }
        await copyImage(client, parsed.repository, entry.digest, layout);
      }
    } else {
      await copyImage(client, parsed.repository, parsed.digest, layout);
    }
    await layout.tag(`base-${parsed.digest.slice('sha256:'.length, 'sha256:'.length + 16)}`, top.descriptor);
  } finally {
    await client.close();
  }
  return `oci:${layout.dir}@${parsed.digest}`;
}

async function copyManifest(client: RegistryClient, repository: string, digest: Digest, layout: OciLayout) {
  const pulled = await client.getManifest(repository, digest);
  const descriptor: Descriptor = await layout.writeBlob(pulled.bytes, pulled.mediaType);
  return { mediaType: pulled.mediaType, manifest: pulled.manifest, descriptor };
}

async function copyImage(client: RegistryClient, repository: string, digest: Digest, layout: OciLayout): Promise<void> {
  const { manifest } = await copyManifest(client, repository, digest, layout);
  const image = manifest as ImageManifest;
  for (const blob of [image.config, ...image.layers]) {
    if (await layout.hasBlob(blob.digest)) continue;
    await layout.writeBlob(await client.getBlob(repository, blob.digest), blob.mediaType);
  }
}
