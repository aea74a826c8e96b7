import { join } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { Digest } from '../oci/digest.ts';
import { OciLayout } from '../oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/media-types.ts';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry/client.ts';
import { parseRegistryTarget, planPublish, type ArtefactKind, type PlannedArtefact, type RegistryTarget } from './plan.ts';

export interface PublishOptions {
  /** The build's OCI layout (default dist/oci). */
  layoutDir: string;
  /** host[:port]/namespace */
  registry: string;
  plainHttp?: boolean;
  dockerConfigPath?: string;
  /** Where to write the publish record; undefined writes none. */
  recordPath?: string;
  /** Blob uploads in flight at once per artefact. */
  concurrency?: number;
  /** Passed to the registry client (timeouts, retries, chunk size). */
  client?: Omit<RegistryClientOptions, 'plainHttp' | 'dockerConfigPath'>;
  log?: (line: string) => void;
}

export interface PublishedArtefact {
  kind: ArtefactKind;
  refName: string;
  /** registry/repository[:tag]@digest — what to copy into a pipeline. */
  reference: string;
  repository: string;
  tag?: string;
  digest: Digest;
  mediaType: string;
  /** "pushed": something new went to the registry; "unchanged": it was all there. */
  status: 'pushed' | 'unchanged';
  blobs: { uploaded: number; mounted: number; present: number };
  manifestsPushed: number;
}

export interface PublishRecord {
  schemaVersion: 1;
  registry: string;
  artefacts: PublishedArtefact[];
  totals: { artefacts: number; pushed: number; unchanged: number; blobsUploaded: number; blobsMounted: number; bytesUploaded: number };
}

/**
 * Pushes every step image and bundle of a build's OCI layout. Safe to re-run:
 * everything is checked with HEAD first, so a second run pushes nothing.
 * Before anything is pushed, every version tag is checked: one that already
 * points at other content stops the whole publish. Within an artefact, blobs
 * go first, then child manifests by digest, then the tagged top manifest,
 * so a tag never names content the registry does not fully have.
 */
export async function publishLayout(options: PublishOptions): Promise<PublishRecord> {
  const log = options.log ?? (() => {});
  const target = parseRegistryTarget(options.registry, { plainHttp: options.plainHttp ?? false });
  const layout = await OciLayout.open(options.layoutDir);
  const plan = await planPublish(layout, target);
  const client = new RegistryClient(target.host, {
    ...options.client,
    plainHttp: options.plainHttp ?? false,
    ...(options.dockerConfigPath === undefined ? {} : { dockerConfigPath: options.dockerConfigPath }),
  });
  try {
    await client.ping();
    const existing = await checkTags(client, plan, target);
    const publisher = new ArtefactPublisher(client, layout, options.concurrency ?? 3);
    const artefacts: PublishedArtefact[] = [];
    for (const artefact of plan) {
      const result = await publisher.publish(artefact, target, existing.get(artefact));
      artefacts.push(result);
      log(progressLine(result));
    }
    const record = summarise(options.registry, artefacts, publisher.bytesUploaded);
    if (options.recordPath !== undefined) await writeFileAtomic(options.recordPath, `${JSON.stringify(record, null, 2)}\n`);
    return record;
  } finally {
    await client.close();
  }
}

/** The digest each artefact's tag (or digest) resolves to now; refuses any immutable tag that would move. */
async function checkTags(client: RegistryClient, plan: PlannedArtefact[], target: RegistryTarget): Promise<Map<PlannedArtefact, Digest | undefined>> {
  const found = new Map<PlannedArtefact, Digest | undefined>();
  const conflicts: string[] = [];
  for (const artefact of plan) {
    const current = await client.manifestDescriptor(artefact.repository, artefact.tag ?? artefact.descriptor.digest);
    found.set(artefact, current?.digest);
    if (current !== undefined && current.digest !== artefact.descriptor.digest && !artefact.movableTag) {
      conflicts.push(`${target.host}/${artefact.repository}:${artefact.tag} is ${current.digest}, the build has ${artefact.descriptor.digest}`);
    }
  }
  if (conflicts.length > 0) {
    throw new CatalogError('PUBLISH_TAG_CONFLICT', `refusing to move ${conflicts.length} version tag${conflicts.length === 1 ? '' : 's'}; nothing was pushed:\n  ${conflicts.join('\n  ')}`, {
      hint: 'a released version is immutable: bump the Task version instead of changing it',
    });
  }
  return found;
}

class ArtefactPublisher {
  /** Which repository already holds a blob this run, so other repositories can mount it. */
  private readonly blobHomes = new Map<Digest, string>();
  bytesUploaded = 0;
  private readonly client: RegistryClient;
  private readonly layout: OciLayout;
  private readonly concurrency: number;

  constructor(client: RegistryClient, layout: OciLayout, concurrency: number) {
    this.client = client;
    this.layout = layout;
    this.concurrency = Math.max(1, concurrency);
  }

  async publish(artefact: PlannedArtefact, target: RegistryTarget, current: Digest | undefined): Promise<PublishedArtefact> {
    const { descriptor, repository } = artefact;
    const result: PublishedArtefact = {
      kind: artefact.kind,
      refName: artefact.refName,
      reference: `${target.host}/${repository}${artefact.tag === undefined ? '' : `:${artefact.tag}`}@${descriptor.digest}`,
      repository,
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      status: 'unchanged',
      blobs: { uploaded: 0, mounted: 0, present: 0 },
      manifestsPushed: 0,
    };
    if (artefact.tag !== undefined) result.tag = artefact.tag;
    // The registry accepts a manifest only once everything it names is there, so a tag at our digest means complete content.
    if (current === descriptor.digest) return result;

    const tree = await this.collect(descriptor);
    await this.pushBlobs(repository, tree.blobs, result);
    for (const child of tree.childManifests) {
      if ((await this.client.manifestDescriptor(repository, child.digest)) !== undefined) continue;
      await this.client.putManifest(repository, child.digest, await this.layout.readBlob(child.digest), child.mediaType);
      result.manifestsPushed++;
    }
    const topBytes = await this.layout.readBlob(descriptor.digest);
    await this.client.putManifest(repository, artefact.tag ?? descriptor.digest, topBytes, descriptor.mediaType);
    result.manifestsPushed++;
    const after = await this.client.manifestDescriptor(repository, artefact.tag ?? descriptor.digest);
    if (after?.digest !== descriptor.digest) {
      throw new CatalogError('PUBLISH_VERIFY_FAILED', `${result.reference}: after the push the registry resolves it to ${after?.digest ?? 'nothing'}`);
    }
    result.status = 'pushed';
    for (const blob of tree.blobs) this.blobHomes.set(blob.digest, repository);
    return result;
  }

  /** Every blob and child manifest under a manifest or index, read from the layout (digest-checked). */
  private async collect(top: Descriptor): Promise<{ blobs: Descriptor[]; childManifests: Descriptor[] }> {
    const blobs = new Map<string, Descriptor>();
    const childManifests: Descriptor[] = [];
    const visit = async (descriptor: Descriptor, depth: number): Promise<void> => {
      if (depth > 4) throw new CatalogError('PUBLISH_LAYOUT_INVALID', `${descriptor.digest}: indexes nested too deep`);
      const value = JSON.parse((await this.layout.readBlob(descriptor.digest)).toString('utf8')) as ImageManifest & ImageIndex;
      if (isIndexType(descriptor.mediaType)) {
        if (!Array.isArray(value.manifests)) throw new CatalogError('PUBLISH_LAYOUT_INVALID', `index ${descriptor.digest} has no manifests`);
        for (const child of value.manifests) {
          await visit(child, depth + 1);
          if (!childManifests.some((m) => m.digest === child.digest)) childManifests.push(child);
        }
        return;
      }
      if (!isManifestType(descriptor.mediaType) || value.config === undefined || !Array.isArray(value.layers)) {
        throw new CatalogError('PUBLISH_LAYOUT_INVALID', `${descriptor.digest}: unsupported media type ${quoteUntrusted(descriptor.mediaType)}`);
      }
      for (const blob of [value.config, ...value.layers]) blobs.set(blob.digest, blob);
    };
    await visit(top, 0);
    return { blobs: [...blobs.values()], childManifests };
  }

  private async pushBlobs(repository: string, blobs: Descriptor[], result: PublishedArtefact): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const blob = blobs[next++]!;
        const home = this.blobHomes.get(blob.digest);
        const outcome = await this.client.pushBlob(
          repository,
          blob.digest,
          async () => {
            const bytes = await this.layout.readBlob(blob.digest);
            this.bytesUploaded += bytes.byteLength;
            return bytes;
          },
          home === undefined ? {} : { mountFrom: home },
        );
        if (outcome === 'uploaded') result.blobs.uploaded++;
        else if (outcome === 'mounted') result.blobs.mounted++;
        else result.blobs.present++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, blobs.length) }, worker));
  }
}

function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

function isManifestType(mediaType: string): boolean {
  return mediaType === MediaType.imageManifest || mediaType === MediaType.dockerManifest;
}

function summarise(registry: string, artefacts: PublishedArtefact[], bytesUploaded: number): PublishRecord {
  return {
    schemaVersion: 1,
    registry,
    artefacts,
    totals: {
      artefacts: artefacts.length,
      pushed: artefacts.filter((a) => a.status === 'pushed').length,
      unchanged: artefacts.filter((a) => a.status === 'unchanged').length,
      blobsUploaded: artefacts.reduce((sum, a) => sum + a.blobs.uploaded, 0),
      blobsMounted: artefacts.reduce((sum, a) => sum + a.blobs.mounted, 0),
      bytesUploaded,
    },
  };
}

export function progressLine(artefact: PublishedArtefact): string {
  const where = `${artefact.repository}${artefact.tag === undefined ? '' : `:${artefact.tag}`}`;
  if (artefact.status === 'unchanged') return `publish: unchanged ${where} (${artefact.digest}) already in the registry`;
  const { uploaded, mounted, present } = artefact.blobs;
  return `publish: pushed    ${where} (${artefact.digest}): ${uploaded} blob${uploaded === 1 ? '' : 's'} uploaded, ${mounted} mounted, ${present} present, ${artefact.manifestsPushed} manifest${artefact.manifestsPushed === 1 ? '' : 's'}`;
}

/** The final table: one row per artefact, then a line saying whether anything new was pushed. */
export function renderSummary(record: PublishRecord): string {
  const rows = record.artefacts.map((a) => [a.kind, a.status, a.reference]);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length), column === 0 ? 4 : 6));
  const header = ['KIND'.padEnd(widths[0]!), 'STATUS'.padEnd(widths[1]!), 'REFERENCE'].join('  ');
  const lines = rows.map((row) => [row[0]!.padEnd(widths[0]!), row[1]!.padEnd(widths[1]!), row[2]!].join('  '));
  const { totals } = record;
  const footer =
    totals.pushed === 0
      ? `nothing new to push: all ${totals.artefacts} artefacts were already in ${record.registry}`
      : `pushed ${totals.pushed} of ${totals.artefacts} artefacts to ${record.registry} (${totals.blobsUploaded} blobs, ${totals.bytesUploaded} bytes uploaded; ${totals.blobsMounted} mounted)`;
  return [header, ...lines, footer].join('\n');
}

export const DEFAULT_LAYOUT_DIR = join('dist', 'oci');
export const DEFAULT_RECORD_PATH = join('dist', 'publish-record.json');
