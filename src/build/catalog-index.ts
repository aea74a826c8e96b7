import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';

/**
 * catalog/index.json: every Task version the catalog has emitted, with the
 * digests that pin it. It is committed, so a reviewer sees every digest
 * change, and it is what the immutability and interface checks compare to.
 */
const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export const InterfaceSchema = z.object({
  params: z.array(z.object({ name: z.string(), type: z.string(), rule: z.string(), required: z.boolean() })),
  results: z.array(z.object({ name: z.string(), type: z.string() })),
  workspaces: z.array(z.object({ name: z.string(), optional: z.boolean() })),
});
export type TaskInterface = z.infer<typeof InterfaceSchema>;

const PlatformImageSchema = z.object({
  manifest: digest,
  compressedSize: z.number().int().nonnegative(),
  uncompressedSize: z.number().int().nonnegative(),
});

export const StepImageRecordSchema = z.object({
  reference: z.string(),
  index: digest,
  platforms: z.record(z.string(), PlatformImageSchema),
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
  bundle: z.object({ reference: z.string(), digest }),
  interface: InterfaceSchema,
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

export const CatalogBundleRecordSchema = z.object({
  reference: z.string(),
  digest,
  tasks: z.array(z.string()),
});

export const CatalogIndexSchema = z.object({
  schemaVersion: z.literal(1),
  registry: z.string(),
  tasks: z.record(
    z.string(),
    z.object({
      latest: z.string(),
      versions: z.record(z.string(), VersionRecordSchema),
    }),
  ),
  catalogBundles: z.array(CatalogBundleRecordSchema),
});
export type CatalogIndex = z.infer<typeof CatalogIndexSchema>;

export function emptyIndex(registry: string): CatalogIndex {
  return { schemaVersion: 1, registry, tasks: {}, catalogBundles: [] };
}

export async function readCatalogIndex(path: string): Promise<CatalogIndex | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = CatalogIndexSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new CatalogError('CATALOG_INDEX_INVALID', `${path} is not a valid catalog index: ${issues}`, {
      hint: 'restore it from git; it is written only by the build',
    });
  }
  return parsed.data;
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
  return { ...index, tasks };
}

/** Orders "MAJOR.MINOR" versions numerically. */
export function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}
