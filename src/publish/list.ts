import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { sha256Digest, type Digest } from '../oci/digest.ts';
import type { ImageManifest } from '../oci/media-types.ts';
import { parseRegistryPrefix } from '../oci/registry-prefix.ts';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry/client.ts';
import { formatReference, parseReference } from '../oci/registry/reference.ts';
import { readBundleContents } from '../bundle/read.ts';
import { readCatalogIndex, type CatalogIndex } from '../build/catalog-index.ts';
import { compareVersions, isVersion } from '../build/semver.ts';
import { readIndexArtefact } from './index-artifact.ts';
import { INDEX_REPOSITORY, INDEX_TAG } from './plan.ts';

/**
 * `list`: what a registry namespace, a catalog bundle or a local catalog
 * holds, as `tkn bundle list` shows a bundle: Tasks, versions, digests and
 * whether each version is released or a draft. Release status comes from
 * the catalog index (catalog/index.json, or its copy that publish pushes as
 * `<ns>/catalog-index:latest`); every registry tag is checked against it,
 * and a tag that holds other content than the index records is reported.
 */
export interface ListedVersion {
  task: string;
  version: string;
  /** unknown: the registry has it but no index says what it is. */
  status: 'draft' | 'released' | 'unknown';
  deprecated: boolean;
  /** Task bundle digest (registry, local) or the Task YAML's content digest (inside a catalog bundle). */
  digest: string;
  reference: string;
  /** Step image references the index records for this version. */
  images: string[];
}

export interface Listing {
  kind: 'namespace' | 'bundle' | 'local';
  /** What was listed, as given. */
  source: string;
  versions: ListedVersion[];
  /** Where the registry and the index disagree; `list` exits 1 when there are any. */
  problems: string[];
  /** What is worth knowing but wrong with nothing (no index published, so status unknown). */
  notes: string[];
}

export type ListTarget = { local: string } | { registry: string };

export interface ListOptions {
  client?: Omit<RegistryClientOptions, 'plainHttp' | 'dockerConfigPath'>;
  plainHttp?: boolean;
  dockerConfigPath?: string;
}

/** A target with a tag or digest is a bundle; `host[:port]/namespace` alone is a namespace. */
export async function listCatalog(target: ListTarget, options: ListOptions = {}): Promise<Listing> {
  if ('local' in target) return listLocal(target.local);
  const value = target.registry;
  const lastSlash = value.lastIndexOf('/');
  const isBundle = value.includes('@') || value.indexOf(':', lastSlash + 1) >= 0;
  const host = value.slice(0, value.indexOf('/') < 0 ? value.length : value.indexOf('/'));
  const client = new RegistryClient(isBundle ? parseReference(value).registry : host, {
    ...options.client,
    plainHttp: options.plainHttp ?? false,
    ...(options.dockerConfigPath === undefined ? {} : { dockerConfigPath: options.dockerConfigPath }),
  });
  try {
    return isBundle ? await listBundle(client, value) : await listNamespace(client, value, options.plainHttp ?? false);
  } finally {
    await client.close();
  }
}

async function listLocal(catalogDir: string): Promise<Listing> {
  const index = await readCatalogIndex(join(catalogDir, 'index.json'));
  if (index === undefined) throw new CatalogError('LIST_NO_INDEX', `${catalogDir}/index.json does not exist`, { hint: 'run `npm run build` first' });
  const versions: ListedVersion[] = [];
  for (const [task, version, record] of indexVersions(index)) {
    versions.push({
      task,
      version,
      status: record.status,
      deprecated: record.deprecated !== undefined,
      digest: record.bundle.digest,
      reference: record.bundle.reference,
      images: Object.values(record.images).map((image) => image.reference),
    });
  }
  return { kind: 'local', source: catalogDir, versions, problems: [], notes: [] };
}

async function listNamespace(client: RegistryClient, value: string, plainHttp: boolean): Promise<Listing> {
  const prefix = parseRegistryPrefix(value, { flag: 'the namespace', plainHttp });
  await client.ping();
  const problems: string[] = [];
  const notes: string[] = [];
  const index = await readPublishedIndex(client, prefix.namespace, `${prefix.prefix}/${INDEX_REPOSITORY}:${INDEX_TAG}`);
  if (index !== undefined && index.registry !== prefix.prefix) {
    problems.push(`the catalog index in ${prefix.prefix} was built for ${index.registry}: its Tasks pull their step images from there`);
  }
  let names: string[];
  if (index !== undefined) names = Object.keys(index.tasks).sort();
  else {
    notes.push(`${prefix.prefix}/${INDEX_REPOSITORY}:${INDEX_TAG} does not exist, so release status is unknown (publish pushes it)`);
    names = await namesFromCatalogBundles(client, prefix.namespace, prefix.prefix);
  }
  const versions: ListedVersion[] = [];
  for (const task of names) {
    const repository = `${prefix.namespace}/tasks/${task}`;
    const tags = await client.listTags(repository);
    const recorded = index?.tasks[task]?.versions ?? {};
    for (const tag of tags.filter((t) => !isVersion(t)).sort()) problems.push(`${prefix.host}/${repository}:${quoteUntrusted(tag)} is not a version tag`);
    for (const version of tags.filter(isVersion).sort(compareVersions)) {
      const digest = (await client.manifestDescriptor(repository, version))?.digest;
      if (digest === undefined) continue;
      const record = recorded[version];
      if (record === undefined && index !== undefined) problems.push(`${prefix.host}/${repository}:${version} is not in the catalog index`);
      if (record !== undefined && record.bundle.digest !== digest) {
        problems.push(`${prefix.host}/${repository}:${version} holds ${digest}, but the catalog index records ${record.bundle.digest}`);
      }
      versions.push({
        task,
        version,
        status: record?.bundle.digest === digest ? record.status : 'unknown',
        deprecated: record?.deprecated !== undefined,
        digest,
        reference: `${prefix.host}/${repository}:${version}@${digest}`,
        images: record === undefined ? [] : Object.values(record.images).map((image) => image.reference),
      });
    }
    for (const version of Object.keys(recorded).sort(compareVersions)) {
      if (!tags.includes(version)) problems.push(`${task} ${version} (${recorded[version]!.status}) is in the catalog index but not in ${prefix.host}/${repository}`);
    }
  }
  return { kind: 'namespace', source: prefix.prefix, versions, problems, notes };
}

async function listBundle(client: RegistryClient, value: string): Promise<Listing> {
  const reference = parseReference(value);
  const contents = await readBundleContents({ from: value, client });
  const problems: string[] = [];
  const notes: string[] = [];
  // Catalog bundles live at <ns>/catalog and Task bundles at <ns>/tasks/<name>; the namespace's index says what is released.
  const namespace = /^(.+)\/(?:catalog|tasks\/[^/]+)$/.exec(reference.repository)?.[1];
  const indexName = `${reference.registry}/${namespace}/${INDEX_REPOSITORY}:${INDEX_TAG}`;
  const index = namespace === undefined ? undefined : await readPublishedIndex(client, namespace, indexName);
  if (index === undefined) notes.push(`no catalog index next to this bundle${namespace === undefined ? '' : ` (${indexName})`}, so release status is unknown`);
  const versions: ListedVersion[] = [];
  for (const resource of contents.resources) {
    const { version, deprecated } = taskFacts(resource.data);
    const contentDigest = sha256Digest(resource.data);
    const record = version === undefined ? undefined : index?.tasks[resource.name]?.versions[version];
    if (record !== undefined && record.contentDigest !== contentDigest) {
      problems.push(`${resource.kind}/${resource.name} ${version} has content ${contentDigest}, but the catalog index records ${record.contentDigest}`);
    }
    versions.push({
      task: resource.name,
      version: version ?? '(none)',
      status: record?.contentDigest === contentDigest ? record.status : 'unknown',
      deprecated,
      digest: contentDigest,
      reference: `${resource.kind}/${resource.name} in ${formatReference({ ...reference, digest: contents.digest })}`,
      images: record === undefined ? [] : Object.values(record.images).map((image) => image.reference),
    });
  }
  return { kind: 'bundle', source: value, versions, problems, notes };
}

/** The index publish pushed next to the catalog, or undefined when there is none. */
async function readPublishedIndex(client: RegistryClient, namespace: string, where: string): Promise<CatalogIndex | undefined> {
  const repository = `${namespace}/${INDEX_REPOSITORY}`;
  if ((await client.manifestDescriptor(repository, INDEX_TAG)) === undefined) return undefined;
  const pulled = await client.getManifest(repository, INDEX_TAG);
  return readIndexArtefact(pulled.manifest as ImageManifest, (layer) => client.getBlob(repository, layer.digest as Digest, { maxBytes: 16 * 1024 * 1024 }), where);
}

async function namesFromCatalogBundles(client: RegistryClient, namespace: string, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  for (const tag of await client.listTags(`${namespace}/catalog`)) {
    if (tag !== 'latest' && !/^latest-part-\d+$/.test(tag)) continue;
    const contents = await readBundleContents({ from: `${prefix}/catalog:${tag}`, client });
    for (const resource of contents.resources) names.add(resource.name);
  }
  return [...names].sort();
}

/** The version label and deprecation mark of a Task's YAML, if it parses. */
function taskFacts(data: Buffer): { version: string | undefined; deprecated: boolean } {
  const document = parseDocument(data.toString('utf8'));
  const value = (document.errors.length === 0 ? document.toJS() : undefined) as
    | { metadata?: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> } }
    | undefined;
  const label = value?.metadata?.labels?.['app.kubernetes.io/version'];
  return {
    version: typeof label === 'string' && isVersion(label) ? label : undefined,
    deprecated: value?.metadata?.annotations?.['tekton.dev/deprecated'] === 'true',
  };
}

function* indexVersions(index: CatalogIndex) {
  for (const task of Object.keys(index.tasks).sort()) {
    const entry = index.tasks[task]!;
    for (const version of Object.keys(entry.versions).sort(compareVersions)) yield [task, version, entry.versions[version]!] as const;
  }
}

/** A table like `tkn bundle list`, then the problems. */
export function renderListing(listing: Listing): string {
  const rows = listing.versions.map((v) => [v.task, v.version, v.deprecated ? `${v.status}, deprecated` : v.status, v.reference]);
  const header = ['TASK', 'VERSION', 'STATUS', listing.kind === 'bundle' ? 'OBJECT' : 'REFERENCE'];
  const widths = [0, 1, 2].map((column) => Math.max(header[column]!.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ');
  const out = [`${listing.kind === 'local' ? 'catalog' : listing.kind} ${listing.source}: ${listing.versions.length} Task version${listing.versions.length === 1 ? '' : 's'}`, line(header), ...rows.map(line)];
  for (const note of listing.notes) out.push(`note: ${note}`);
  for (const problem of listing.problems) out.push(`! ${problem}`);
  return `${out.join('\n')}\n`;
}
