/**
 * How samples reference the catalog's own Tasks: through the bundles
 * resolver, pinned `<prefix>/tasks/<name>:<version>@sha256:…`, exactly as
 * the READMEs recommend, so Renovate can move both the version and the
 * digest. A definition cannot know a digest (it depends on the build), so a
 * sample writes `catalogTaskRef('verify-image')`, and the build swaps the
 * placeholder for the real reference of the version it records, as
 * `ko resolve` swaps image digests in. A Task's bundle holds only the Task's
 * YAML (never its samples), so a sample may name its own Task's digest.
 *
 * No imports: Task definitions use this, and the audit step bundles them.
 */

const PLACEHOLDER = /^catalog-bundle:([a-z0-9]([-a-z0-9]*[a-z0-9])?|\*)$/;

/** What `resolve` gets for the catalog bundle (the newest version of every Task) rather than one Task's. */
export const WHOLE_CATALOG = '*';

/** The value the build replaces with the pinned reference of the catalog bundle (`<prefix>/catalog:latest@sha256:…`). */
export const CATALOG_BUNDLE_PLACEHOLDER = `catalog-bundle:${WHOLE_CATALOG}`;

/** The value the build replaces with the Task's pinned bundle reference. */
export function catalogBundlePlaceholder(task: string): string {
  return `catalog-bundle:${task}`;
}

/** A `taskRef` (or `pipelineTask.taskRef`) that resolves a catalog Task from its Tekton bundle. */
export function catalogTaskRef(task: string) {
  return {
    resolver: 'bundles',
    params: [
      { name: 'bundle', value: catalogBundlePlaceholder(task) },
      { name: 'name', value: task },
      { name: 'kind', value: 'task' },
    ],
  };
}

/**
 * Replaces every placeholder string in `value` (deeply) with the reference
 * `resolve` gives for its Task (or WHOLE_CATALOG); `resolve` throws for a
 * Task it does not know.
 * Returns a new value; the input is not changed.
 */
export function resolveCatalogBundles<T>(value: T, resolve: (task: string) => string): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const match = PLACEHOLDER.exec(node);
      return match ? resolve(match[1]!) : node;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
    return node;
  };
  return walk(value) as T;
}

/** The catalog Tasks a value's placeholders name, sorted. */
export function catalogBundlesNamed(value: unknown): string[] {
  const names = new Set<string>();
  resolveCatalogBundles(value, (task) => {
    names.add(task);
    return task;
  });
  return [...names].sort();
}
