import { readFile } from 'node:fs/promises';
import * as z from '../zod.ts';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { compareVersions, highestVersion, VERSION_PATTERN } from './semver.ts';

/**
 * catalog/index.json: every Task version the catalog has emitted, with the
 * digests that pin it. It is committed, so a reviewer sees every digest
 * change, and it is what the immutability and interface checks compare to.
 */
const digest = z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/));

export const InterfaceSchema = z.object({
  params: z.array(z.object({ name: z.string(), type: z.string(), rule: z.string(), required: z.boolean() })),
  results: z.array(z.object({ name: z.string(), type: z.string() })),
  workspaces: z.array(z.object({ name: z.string(), optional: z.boolean() })),
});
export type TaskInterface = z.infer<typeof InterfaceSchema>;

const PlatformImageSchema = z.object({
  manifest: digest,
  compressedSize: z.int().check(z.nonnegative()),
  uncompressedSize: z.int().check(z.nonnegative()),
});

export const StepImageRecordSchema = z.object({
  /** <prefix>/steps/<program>:<tag>@sha256:…: the tag for people and tools, the digest pins it. */
  reference: z.string(),
  /** The version of the image content: the Task version it was built for. */
  tag: z.string(),
  index: digest,
  platforms: z.record(z.string(), PlatformImageSchema),
});

export const BundleRecordSchema = z.object({
  /** <prefix>/tasks/<task>:<version>@sha256:… */
  reference: z.string(),
  digest,
  /**
   * The bundle manifest's annotations (org.opencontainers.image.*), kept so
   * that a later build can rebuild this version's bundle byte for byte from
   * its committed YAML, whatever the source says by then.
   */
  annotations: z.record(z.string(), z.string()),
});

export const VersionRecordSchema = z.object({
  /**
   * draft: may still change under this version number; released: immutable,
   * any change needs a new version.
   */
  status: z.enum(['draft', 'released']),
  path: z.string(),
  contentDigest: digest,
  minPipelinesVersion: z.string(),
  images: z.record(z.string(), StepImageRecordSchema),
  bundle: BundleRecordSchema,
  interface: InterfaceSchema,
  deprecated: z.optional(z.object({ replacement: z.string(), reason: z.optional(z.string()) })),
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

export const CatalogBundleRecordSchema = z.object({
  reference: z.string(),
  tag: z.string(),
  digest,
  /** "name@version" of each Task in it, in layer order. */
  tasks: z.array(z.string()),
});
export type CatalogBundleRecord = z.infer<typeof CatalogBundleRecordSchema>;

export const TaskEntrySchema = z.object({
  latest: z.string(),
  versions: z.record(z.string().check(z.regex(VERSION_PATTERN)), VersionRecordSchema),
});
export type TaskEntry = z.infer<typeof TaskEntrySchema>;

/**
 * A StepAction version: one step program of a Task version, published for
 * people's own Tasks. It runs the image the Task's step runs (same reference,
 * tagged with the Task's version), so its version is the Task's, and it is
 * released and withdrawn with it.
 */
export const StepActionVersionRecordSchema = z.object({
  status: z.enum(['draft', 'released']),
  path: z.string(),
  contentDigest: digest,
  minPipelinesVersion: z.string(),
  /** "task@version": the Task version whose step image it runs. */
  task: z.string(),
  /** The step image, exactly as that Task version's record has it. */
  image: z.string(),
});
export type StepActionVersionRecord = z.infer<typeof StepActionVersionRecordSchema>;

/**
 * A reference Pipeline version (catalog/pipeline/<name>/<version>/). It
 * pins the catalog Task bundles it runs by digest, so its content changes
 * whenever one of them does; a released version is immutable like a Task
 * version, and may only pin released Task versions. Its kit (RBAC, egress
 * policy, Chains and observability config) sits beside it and is recorded
 * by digest too.
 */
export const PipelineVersionRecordSchema = z.object({
  status: z.enum(['draft', 'released']),
  path: z.string(),
  contentDigest: digest,
  minPipelinesVersion: z.string(),
  /** "task@version" of every catalog Task it runs, sorted. */
  tasks: z.array(z.string()),
  interface: InterfaceSchema,
  /** sha256 over the kit folder's files (name, NUL, content, NUL; sorted by name). */
  kitDigest: digest,
});
export type PipelineVersionRecord = z.infer<typeof PipelineVersionRecordSchema>;

const versionKey = z.string().check(z.regex(VERSION_PATTERN));
export const StepActionEntrySchema = z.object({ latest: z.string(), versions: z.record(versionKey, StepActionVersionRecordSchema) });
export const PipelineEntrySchema = z.object({ latest: z.string(), versions: z.record(versionKey, PipelineVersionRecordSchema) });
export type StepActionEntry = z.infer<typeof StepActionEntrySchema>;
export type PipelineEntry = z.infer<typeof PipelineEntrySchema>;

export const INDEX_SCHEMA_VERSION = 2;

export const CatalogIndexSchema = z.object({
  schemaVersion: z.literal(INDEX_SCHEMA_VERSION),
  /** The registry prefix every reference below starts with; publish pushes only there. */
  registry: z.string(),
  tasks: z.record(z.string(), TaskEntrySchema),
  catalogBundles: z.array(CatalogBundleRecordSchema),
  /** Added with the same schema version: an index without them has none. */
  stepActions: z._default(z.record(z.string(), StepActionEntrySchema), {}),
  pipelines: z._default(z.record(z.string(), PipelineEntrySchema), {}),
});
export type CatalogIndex = z.infer<typeof CatalogIndexSchema>;

export function emptyIndex(registry: string): CatalogIndex {
  return { schemaVersion: INDEX_SCHEMA_VERSION, registry, tasks: {}, catalogBundles: [], stepActions: {}, pipelines: {} };
}

/** Far more than a catalog of hundreds of Task versions needs; the index is read before anything is checked. */
const MAX_INDEX_BYTES = 16 * 1024 * 1024;

export interface ReadIndexOptions {
  /**
   * A schema 1 index (MAJOR.MINOR versions, before semver) that holds only
   * drafts records nothing anyone may depend on: treat it as absent so the
   * build starts the record afresh. Called with the versions it drops.
   */
  onLegacyDrafts?: (versions: string[]) => void;
}

export async function readCatalogIndex(path: string, options: ReadIndexOptions = {}): Promise<CatalogIndex | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseCatalogIndex(text, path, options);
}

export function parseCatalogIndex(text: string, where: string, options: ReadIndexOptions = {}): CatalogIndex | undefined {
  const invalid = (issues: string) =>
    new CatalogError('CATALOG_INDEX_INVALID', `${where} is not a valid catalog index: ${issues}`, {
      hint: 'restore it from git; it is written only by the build and the release command',
    });
  if (Buffer.byteLength(text) > MAX_INDEX_BYTES) throw invalid(`larger than ${MAX_INDEX_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  const legacy = legacyDraftVersions(json);
  if (legacy !== undefined && options.onLegacyDrafts) {
    options.onLegacyDrafts(legacy);
    return undefined;
  }
  const parsed = CatalogIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw invalid(issues.slice(0, 2000));
  }
  for (const [name, entry] of Object.entries(parsed.data.tasks)) {
    if (!TASK_NAME.test(name)) throw invalid(`task name ${JSON.stringify(name.slice(0, 80))} is not a DNS-1123 label`);
    for (const [version, record] of Object.entries(entry.versions)) {
      // The path is read by the build and the release command: it may only point where the layout says.
      if (record.path !== versionYamlPath(name, version)) throw invalid(`tasks.${name}.versions.${version}.path must be ${versionYamlPath(name, version)}`);
    }
    if (entry.versions[entry.latest] === undefined || entry.latest !== highestVersion(Object.keys(entry.versions))) {
      throw invalid(`tasks.${name}.latest (${entry.latest}) is not its highest recorded version`);
    }
  }
  const derived: [string, Record<string, { latest: string; versions: Record<string, { path: string }> }>, (name: string, version: string) => string][] = [
    ['stepActions', parsed.data.stepActions, stepActionYamlPath],
    ['pipelines', parsed.data.pipelines, pipelineYamlPath],
  ];
  for (const [kind, entries, pathOf] of derived) {
    for (const [name, entry] of Object.entries(entries)) {
      if (!TASK_NAME.test(name)) throw invalid(`${kind} name ${JSON.stringify(name.slice(0, 80))} is not a DNS-1123 label`);
      for (const [version, record] of Object.entries(entry.versions)) {
        if (record.path !== pathOf(name, version)) throw invalid(`${kind}.${name}.versions.${version}.path must be ${pathOf(name, version)}`);
      }
      if (entry.versions[entry.latest] === undefined || entry.latest !== highestVersion(Object.keys(entry.versions))) {
        throw invalid(`${kind}.${name}.latest (${entry.latest}) is not its highest recorded version`);
      }
    }
  }
  return parsed.data;
}

const TASK_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Where a Task version's YAML lives, relative to the catalog folder. */
export function versionYamlPath(name: string, version: string): string {
  return `task/${name}/${version}/${name}.yaml`;
}

export function stepActionYamlPath(name: string, version: string): string {
  return `stepaction/${name}/${version}/${name}.yaml`;
}

export function pipelineYamlPath(name: string, version: string): string {
  return `pipeline/${name}/${version}/${name}.yaml`;
}

/** "name@version" of every version of a schema 1 index when all of them are drafts; undefined otherwise. */
function legacyDraftVersions(json: unknown): string[] | undefined {
  const index = json as { schemaVersion?: unknown; tasks?: Record<string, { versions?: Record<string, { status?: unknown }> }> };
  if (index?.schemaVersion !== 1 || typeof index.tasks !== 'object' || index.tasks === null) return undefined;
  const versions: string[] = [];
  for (const [name, entry] of Object.entries(index.tasks)) {
    for (const [version, record] of Object.entries(entry?.versions ?? {})) {
      if (record?.status !== 'draft') return undefined;
      versions.push(`${name}@${version}`);
    }
  }
  return versions;
}

/** The index as committed: tasks and versions sorted, two-space JSON. */
export function renderCatalogIndex(index: CatalogIndex): string {
  return `${JSON.stringify(sortIndex(index), null, 2)}\n`;
}

export async function writeCatalogIndex(path: string, index: CatalogIndex): Promise<void> {
  await writeFileAtomic(path, renderCatalogIndex(index));
}

/** Tasks and versions in a stable order so the committed file diffs cleanly. */
function sortIndex(index: CatalogIndex): CatalogIndex {
  const tasks = Object.fromEntries(
    Object.keys(index.tasks)
      .sort()
      .map((name) => {
        const entry = index.tasks[name]!;
        const versions = Object.fromEntries(
          Object.keys(entry.versions)
            .sort(compareVersions)
            .map((version) => [version, entry.versions[version]!]),
        );
        return [name, { latest: entry.latest, versions }];
      }),
  );
  return { ...index, tasks, stepActions: sortEntries(index.stepActions), pipelines: sortEntries(index.pipelines) };
}

function sortEntries<T>(entries: Record<string, { latest: string; versions: Record<string, T> }>): Record<string, { latest: string; versions: Record<string, T> }> {
  return Object.fromEntries(
    Object.keys(entries)
      .sort()
      .map((name) => {
        const entry = entries[name]!;
        const versions = Object.fromEntries(Object.keys(entry.versions).sort(compareVersions).map((version) => [version, entry.versions[version]!]));
        return [name, { latest: entry.latest, versions }];
      }),
  );
}

export { compareVersions };
