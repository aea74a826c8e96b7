import { join } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { Digest } from '../oci/digest.ts';
import { OciLayout } from '../oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/media-types.ts';
import { parseRegistryPrefix, type RegistryPrefix } from '../oci/registry-prefix.ts';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry/client.ts';
import { readCatalogIndex } from '../build/catalog-index.ts';
import { buildIndexArtefact } from './index-artifact.ts';
import { planCatalogPublish, releaseCheckout, type ArtefactKind, type PlannedArtefact } from './plan.ts';

export interface PublishOptions {
  /** The catalog folder whose index.json says what to publish (default catalog). */
  catalogDir: string;
  /** The build's OCI layout (default dist/oci). */
  layoutDir: string;
  /** host[:port]/namespace; default and only allowed value: the registry the build recorded. */
  registry?: string;
  plainHttp?: boolean;
  dockerConfigPath?: string;
  /** Print the plan, push nothing. */
  dryRun?: boolean;
  /** Move the tags of draft versions that point at other content (an earlier build of the same draft). */
  replaceDrafts?: boolean;
  /** Where to write the publish record; undefined writes none. */
  recordPath?: string;
  /** Blob uploads in flight at once per artefact. */
  concurrency?: number;
  /** Passed to the registry client (timeouts, retries, chunk size). */
  client?: Omit<RegistryClientOptions, 'plainHttp' | 'dockerConfigPath'>;
  log?: (line: string) => void;
}

/**
 * push: this build has it and the registry does not (or has an older
 * catalog/draft there that may move); tag: the registry has the content by
 * digest, only the tag is missing; skip: already there; refuse: see reason.
 */
export type PublishAction = 'push' | 'tag' | 'skip' | 'refuse';

export interface PublishedArtefact {
  kind: ArtefactKind;
  label: string;
  /** registry/repository:tag@digest — what to copy into a pipeline. */
  reference: string;
  repository: string;
  tag: string;
  digest: Digest;
  action: PublishAction;
  /** Why this action, in words. */
  reason: string;
  /** What the tag pointed at before, if anything. */
  previous?: Digest;
  /** "pushed": something new went to the registry; "unchanged": it was all there; "planned": dry run; "refused". */
  status: 'pushed' | 'unchanged' | 'planned' | 'refused';
  blobs: { uploaded: number; mounted: number; present: number };
  manifestsPushed: number;
}

export interface PublishRecord {
  schemaVersion: 2;
  registry: string;
  dryRun: boolean;
  artefacts: PublishedArtefact[];
  totals: { artefacts: number; pushed: number; unchanged: number; refused: number; blobsUploaded: number; blobsMounted: number; bytesUploaded: number };
}

/**
 * Publishes exactly what catalog/index.json lists, to the registry the
 * build was made for. Safe to re-run: everything is checked with HEAD
 * first, so a second run pushes nothing. The whole plan is decided before
 * anything is pushed; any refusal stops the publish with every reason
 * named. Within an artefact, blobs go first, then child manifests by
 * digest, then the tagged top manifest, so a tag never names content the
 * registry does not fully have.
 */
export async function publishCatalog(options: PublishOptions): Promise<PublishRecord> {
  const log = options.log ?? (() => {});
  const index = await readCatalogIndex(join(options.catalogDir, 'index.json'));
  if (index === undefined) {
    throw new CatalogError('PUBLISH_NO_INDEX', `${options.catalogDir}/index.json does not exist`, { hint: 'run `npm run build` first' });
  }
  const target = parseRegistryPrefix(options.registry ?? index.registry, { plainHttp: options.plainHttp ?? false });
  const layout = await OciLayout.open(options.layoutDir);
  const indexArtefact = buildIndexArtefact(index);
  const plan = await planCatalogPublish(index, layout, target, indexArtefact, { catalogDir: options.catalogDir });
  const client = new RegistryClient(target.host, {
    ...options.client,
    plainHttp: options.plainHttp ?? false,
    ...(options.dockerConfigPath === undefined ? {} : { dockerConfigPath: options.dockerConfigPath }),
  });
  try {
    await client.ping();
    const decisions = await decide(client, plan, target, options.replaceDrafts ?? false);
    const refusals = decisions.filter((d) => d.action === 'refuse');
    if (options.dryRun) {
      return summarise(target.prefix, true, decisions.map((d) => result(d, target, d.action === 'refuse' ? 'refused' : d.action === 'skip' ? 'unchanged' : 'planned')), 0);
    }
    if (refusals.length > 0) throw refusalError(refusals, target);
    const publisher = new ArtefactPublisher(client, layout, options.concurrency ?? 3);
    const artefacts: PublishedArtefact[] = [];
    for (const decision of decisions) {
      const published = result(decision, target, 'unchanged');
      if (decision.action === 'push') await publisher.push(decision.artefact, published);
      else if (decision.action === 'tag') await publisher.retag(decision.artefact, published);
      artefacts.push(published);
      log(progressLine(published));
    }
    const record = summarise(target.prefix, false, artefacts, publisher.bytesUploaded);
    if (options.recordPath !== undefined) await writeFileAtomic(options.recordPath, `${JSON.stringify(record, null, 2)}\n`);
    return record;
  } finally {
    await client.close();
  }
}

interface Decision {
  artefact: PlannedArtefact;
  action: PublishAction;
  reason: string;
  /** The error code a refusal carries. */
  code?: string;
  hint?: string;
  previous?: Digest;
}

/** Asks the registry what each tag holds now and decides, for the whole plan, before anything is pushed. */
async function decide(client: RegistryClient, plan: PlannedArtefact[], target: RegistryPrefix, replaceDrafts: boolean): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (const artefact of plan) {
    const current = (await client.manifestDescriptor(artefact.repository, artefact.tag))?.digest;
    const reference = `${target.host}/${artefact.repository}:${artefact.tag}`;
    if (current === artefact.digest) {
      decisions.push({ artefact, action: 'skip', reason: 'already in the registry' });
      continue;
    }
    if (current === undefined) {
      if (!('registryOnly' in artefact.source)) {
        decisions.push({ artefact, action: 'push', reason: 'new' });
        continue;
      }
      const byDigest = await client.manifestDescriptor(artefact.repository, artefact.digest);
      if (byDigest !== undefined) {
        artefact.descriptor = byDigest;
        decisions.push({ artefact, action: 'tag', reason: 'in the registry by digest; the tag is added' });
        continue;
      }
      const tag = releaseCheckout(artefact);
      decisions.push({
        artefact,
        action: 'refuse',
        code: 'PUBLISH_ARTEFACT_UNAVAILABLE',
        reason: `${reference}@${artefact.digest} (${artefact.label}) is not in the registry, and this build cannot make it: only the newest version of a Task is built from source`,
        hint: `publish it from the source that built it: git checkout ${tag} && npm ci && npm run build && npm run publish, then publish this build again`,
      });
      continue;
    }
    if (artefact.movableTag) {
      decisions.push({ artefact, action: 'push', reason: `moves ${artefact.tag} from ${current}`, previous: current });
      continue;
    }
    if (artefact.status === 'draft' && replaceDrafts) {
      decisions.push({ artefact, action: 'push', reason: `replaces ${current}, an earlier build of this draft (--replace-drafts)`, previous: current });
      continue;
    }
    if (artefact.status === 'draft') {
      decisions.push({
        artefact,
        action: 'refuse',
        previous: current,
        code: 'PUBLISH_DRAFT_CONFLICT',
        reason: `${reference} holds ${current}, not this build's ${artefact.digest} of ${artefact.label}: the namespace already holds other content for this draft`,
        hint: `a draft may still change. If that content is an earlier build of this same draft (nobody should depend on a draft), publish again with --replace-drafts to move the draft's tags; if someone else publishes to ${target.prefix}, build and publish under a namespace of your own (npm run build -- --registry ${target.host}/<your-namespace>)`,
      });
      continue;
    }
    decisions.push({
      artefact,
      action: 'refuse',
      previous: current,
      code: 'PUBLISH_RELEASED_CONFLICT',
      reason: `${reference} holds ${current}, but ${artefact.label} was released as ${artefact.digest}: a released version never changes`,
      hint: `if you changed ${artefact.task ?? 'the Task'}, bump its version in tasks/${artefact.task ?? '<task>'}/task.ts, build and publish the new version; if you did not, find out who pushed ${current} to ${reference}`,
    });
  }
  return decisions;
}

/** When refusals have several causes, the error's code names the gravest: a released version that would change. */
const REFUSAL_ORDER = ['PUBLISH_RELEASED_CONFLICT', 'PUBLISH_ARTEFACT_UNAVAILABLE', 'PUBLISH_DRAFT_CONFLICT'];

function refusalError(refusals: Decision[], target: RegistryPrefix): CatalogError {
  const hints = [...new Set(refusals.map((r) => r.hint).filter((h): h is string => h !== undefined))];
  const code = REFUSAL_ORDER.find((c) => refusals.some((r) => r.code === c)) ?? 'PUBLISH_REFUSED';
  return new CatalogError(
    code,
    `refusing to publish to ${target.prefix}; nothing was pushed:\n  ${refusals.map((r) => r.reason).join('\n  ')}`,
    { hint: hints.join('\n  hint: ') },
  );
}

function result(decision: Decision, target: RegistryPrefix, status: PublishedArtefact['status']): PublishedArtefact {
  const { artefact } = decision;
  return {
    kind: artefact.kind,
    label: artefact.label,
    reference: `${target.host}/${artefact.repository}:${artefact.tag}@${artefact.digest}`,
    repository: artefact.repository,
    tag: artefact.tag,
    digest: artefact.digest,
    action: decision.action,
    reason: decision.reason,
    ...(decision.previous === undefined ? {} : { previous: decision.previous }),
    status,
    blobs: { uploaded: 0, mounted: 0, present: 0 },
    manifestsPushed: 0,
  };
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

  async push(artefact: PlannedArtefact, result: PublishedArtefact): Promise<void> {
    const { repository } = artefact;
    const descriptor = artefact.descriptor!;
    if ('generated' in artefact.source) {
      const generated = artefact.source.generated;
      const blobs = [...generated.blobs.values()];
      await this.pushBlobs(repository, blobs.map((b) => b.descriptor), result, (digest) => Promise.resolve(generated.blobs.get(digest)!.bytes));
      await this.putTop(artefact, generated.manifest, result);
      return;
    }
    const tree = await this.collect(descriptor);
    await this.pushBlobs(repository, tree.blobs, result, (digest) => this.layout.readBlob(digest));
    for (const child of tree.childManifests) {
      if ((await this.client.manifestDescriptor(repository, child.digest)) !== undefined) continue;
      await this.client.putManifest(repository, child.digest, await this.layout.readBlob(child.digest), child.mediaType);
      result.manifestsPushed++;
    }
    await this.putTop(artefact, await this.layout.readBlob(descriptor.digest), result);
    for (const blob of tree.blobs) this.blobHomes.set(blob.digest, repository);
  }

  /** The registry has the manifest by digest (an older version's image); give it its tag. */
  async retag(artefact: PlannedArtefact, result: PublishedArtefact): Promise<void> {
    const pulled = await this.client.getManifest(artefact.repository, artefact.digest);
    artefact.descriptor = { mediaType: pulled.mediaType, digest: pulled.digest, size: pulled.bytes.byteLength };
    await this.putTop(artefact, pulled.bytes, result);
  }

  private async putTop(artefact: PlannedArtefact, bytes: Buffer, result: PublishedArtefact): Promise<void> {
    await this.client.putManifest(artefact.repository, artefact.tag, bytes, artefact.descriptor!.mediaType);
    result.manifestsPushed++;
    const after = await this.client.manifestDescriptor(artefact.repository, artefact.tag);
    if (after?.digest !== artefact.digest) {
      throw new CatalogError('PUBLISH_VERIFY_FAILED', `${result.reference}: after the push the registry resolves it to ${after?.digest ?? 'nothing'}`);
    }
    result.status = 'pushed';
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

  private async pushBlobs(repository: string, blobs: Descriptor[], result: PublishedArtefact, read: (digest: Digest) => Promise<Buffer>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const blob = blobs[next++]!;
        const home = this.blobHomes.get(blob.digest);
        const outcome = await this.client.pushBlob(
          repository,
          blob.digest,
          async () => {
            const bytes = await read(blob.digest);
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

function summarise(registry: string, dryRun: boolean, artefacts: PublishedArtefact[], bytesUploaded: number): PublishRecord {
  return {
    schemaVersion: 2,
    registry,
    dryRun,
    artefacts,
    totals: {
      artefacts: artefacts.length,
      pushed: artefacts.filter((a) => a.status === 'pushed').length,
      unchanged: artefacts.filter((a) => a.status === 'unchanged').length,
      refused: artefacts.filter((a) => a.status === 'refused').length,
      blobsUploaded: artefacts.reduce((sum, a) => sum + a.blobs.uploaded, 0),
      blobsMounted: artefacts.reduce((sum, a) => sum + a.blobs.mounted, 0),
      bytesUploaded,
    },
  };
}

/** One line per artefact as it is done: what, where, and how much had to move. */
export function progressLine(artefact: PublishedArtefact): string {
  const where = `${artefact.repository}:${artefact.tag}`;
  if (artefact.status === 'unchanged') return `publish: unchanged ${where} (${artefact.digest}) already in the registry`;
  const { uploaded, mounted, present } = artefact.blobs;
  return `publish: pushed    ${where} (${artefact.digest}): ${uploaded} blob${uploaded === 1 ? '' : 's'} uploaded, ${mounted} mounted, ${present} present, ${artefact.manifestsPushed} manifest${artefact.manifestsPushed === 1 ? '' : 's'}`;
}

/** The dry run's plan: one line per artefact with the action and its reason. */
export function renderPlan(record: PublishRecord): string {
  const width = Math.max(...record.artefacts.map((a) => a.reference.length));
  const lines = record.artefacts.map((a) => `${a.action.padEnd(6)} ${a.reference.padEnd(width)}  ${a.label}: ${a.reason}`);
  const count = (action: PublishAction) => record.artefacts.filter((a) => a.action === action).length;
  const footer = `dry run, nothing was pushed to ${record.registry}: ${count('push')} to push, ${count('tag')} to tag, ${count('skip')} already there, ${count('refuse')} refused`;
  return [...lines, footer].join('\n');
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

export const DEFAULT_CATALOG_DIR = 'catalog';
export const DEFAULT_LAYOUT_DIR = join('dist', 'oci');
export const DEFAULT_RECORD_PATH = join('dist', 'publish-record.json');
