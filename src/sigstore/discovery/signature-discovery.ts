import { digestHex, type Digest } from '../../oci/digest.ts';
import type { Descriptor, ImageManifest } from '../../oci/media-types.ts';
import type { JsonShapeLimits, RegistryClient } from '../../oci/registry/index.ts';
import { MAX_BUNDLE_BYTES } from '../bundle/parse.ts';
import { MAX_SIMPLE_SIGNING_BYTES, SIMPLE_SIGNING_MEDIA_TYPE } from '../payload/simple-signing.ts';
import { MAX_LEGACY_LAYERS, MAX_REFERRER_LIST_BYTES, MAX_REFERRER_PAGES, MAX_REFERRERS } from './limits.ts';

/** cosign v3's default: a Sigstore bundle stored as an OCI 1.1 referrer. */
export const SIGSTORE_BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SIGSTORE_BUNDLE_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.[0-9]+\+json|\+json;\s*version=0\.[0-9]+)$/;

export { MAX_LEGACY_LAYERS, MAX_REFERRER_LIST_BYTES, MAX_REFERRER_PAGES, MAX_REFERRERS } from './limits.ts';
/**
 * Shape of the JSON blobs read (bundles, simple-signing payloads), checked
 * while they stream in: a real bundle nests about 6 levels and its longest
 * list is an inclusion proof of at most 64 hashes.
 */
export const SIGNATURE_JSON_LIMITS: JsonShapeLimits = { maxDepth: 32, maxArrayItems: 1024, maxValues: 20_000 };

export type SignatureCandidate =
  | {
      format: 'legacy';
      /** e.g. "tag sha256-<hex>.sig layer 0" */
      source: string;
      payload: Buffer;
      annotations: Record<string, string>;
    }
  | {
      format: 'bundle';
      /** e.g. "referrer sha256:<digest> (api)" */
      source: string;
      bundle: Buffer;
    };

export interface Discovery {
  candidates: SignatureCandidate[];
  /** How the referrers were listed: the API, or the sha256-<hex> tag schema. */
  referrersSource: 'api' | 'tag-schema';
  /** Things seen and skipped (not a sigstore bundle, over the cap), for the report. */
  skipped: string[];
}

/**
 * Finds every signature an image has, in both of cosign's storage formats:
 * the legacy `sha256-<hex>.sig` tag and Sigstore bundles attached as OCI 1.1
 * referrers (listed by the referrers API, or by the tag-schema index when the
 * registry lacks it). Every referrer's manifest is read: a descriptor's
 * artifactType in a fallback index is whatever its writer claimed, so we
 * decide from the manifest itself, and the manifest must name the image as
 * its subject. Nothing here is trusted yet: verification comes after.
 */
export class SignatureDiscovery {
  private readonly client: RegistryClient;

  constructor(client: RegistryClient) {
    this.client = client;
  }

  /**
   * Both formats are looked up at once: they are independent requests, and
   * one after the other they would cost a round trip each to the registry.
   * The result lists legacy signatures first, as found.
   */
  async discover(repository: string, digest: Digest): Promise<Discovery> {
    const legacySkipped: string[] = [];
    const referrerSkipped: string[] = [];
    const [legacy, { candidates: bundles, source }] = await Promise.all([
      this.legacySignatures(repository, digest, legacySkipped),
      this.referrerBundles(repository, digest, referrerSkipped),
    ]);
    return { candidates: [...legacy, ...bundles], referrersSource: source, skipped: [...legacySkipped, ...referrerSkipped] };
  }

  private async legacySignatures(repository: string, digest: Digest, skipped: string[]): Promise<SignatureCandidate[]> {
    const tag = `sha256-${digestHex(digest)}.sig`;
    // One GET by tag: the bytes are hashed as they are (and checked against the digest the registry claims), and
    // nothing in them is trusted before each signature verifies. Reading stops at the first layer past the cap:
    // the registry cannot make us hold a million descriptors.
    const pulled = await this.client.findManifest(repository, tag, { maxDescriptors: MAX_LEGACY_LAYERS });
    if (pulled === undefined) return [];
    const layers = (pulled.manifest as Partial<ImageManifest>).layers;
    if (!Array.isArray(layers)) {
      skipped.push(`tag ${tag}: not an image manifest`);
      return [];
    }
    const candidates: SignatureCandidate[] = [];
    for (const [i, layer] of layers.entries()) {
      const source = `tag ${tag} layer ${i}`;
      if (!isDescriptor(layer)) {
        skipped.push(`${source}: not a descriptor`);
        continue;
      }
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
        skipped.push(`${source}: media type is not ${SIMPLE_SIGNING_MEDIA_TYPE}`);
        continue;
      }
      const payload = await this.client.getBlob(repository, layer.digest, { maxBytes: MAX_SIMPLE_SIGNING_BYTES, json: SIGNATURE_JSON_LIMITS });
      candidates.push({ format: 'legacy', source, payload, annotations: stringRecord(layer.annotations) });
    }
    return candidates;
  }

  private async referrerBundles(
    repository: string,
    digest: Digest,
    skipped: string[],
  ): Promise<{ candidates: SignatureCandidate[]; source: 'api' | 'tag-schema' }> {
    const listed = await this.client.referrers(repository, digest, { maxItems: MAX_REFERRERS, maxPages: MAX_REFERRER_PAGES, maxBytes: MAX_REFERRER_LIST_BYTES });
    const candidates: SignatureCandidate[] = [];
    const seen = new Set<string>();
    for (const descriptor of listed.manifests) {
      if (!isDescriptor(descriptor) || seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      const source = `referrer ${descriptor.digest} (${listed.source})`;
      const pulled = await this.client.getManifest(repository, descriptor.digest);
      const manifest = pulled.manifest as Partial<ImageManifest>;
      if (manifest.subject?.digest !== digest) {
        skipped.push(`${source}: its subject is not this image`);
        continue;
      }
      const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
      if (typeof artifactType !== 'string' || !SIGSTORE_BUNDLE_TYPE.test(artifactType)) {
        skipped.push(`${source}: not a Sigstore bundle`);
        continue;
      }
      const layers = Array.isArray(manifest.layers) ? manifest.layers : [];
      const bundleLayers = layers.filter((layer) => typeof layer.mediaType === 'string' && SIGSTORE_BUNDLE_TYPE.test(layer.mediaType));
      if (bundleLayers.length !== 1) {
        // One referrer, one bundle: anything else is not what cosign writes, and we refuse to guess.
        skipped.push(`${source}: holds ${bundleLayers.length} bundle layers, expected 1`);
        continue;
      }
      const bundle = await this.client.getBlob(repository, bundleLayers[0]!.digest, { maxBytes: MAX_BUNDLE_BYTES, json: SIGNATURE_JSON_LIMITS });
      candidates.push({ format: 'bundle', source, bundle });
    }
    return { candidates, source: listed.source };
  }
}

function isDescriptor(value: unknown): value is Descriptor {
  return typeof value === 'object' && value !== null && typeof (value as Descriptor).digest === 'string' && /^sha256:[a-f0-9]{64}$/.test((value as Descriptor).digest);
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
