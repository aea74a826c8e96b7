import { CatalogError } from '../errors.ts';
import type { CatalogIndex, TaskInterface, VersionRecord } from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';
import { bumpKind, compareVersions, highestVersion, nextVersion, type BumpKind } from './semver.ts';

/** The part of a Task that pipelines depend on: what they pass, bind and read. */
export function taskInterface(definition: TaskDefinition): TaskInterface {
  return {
    params: definition.params.map((param) => ({
      name: param.name,
      type: param.type,
      rule: param.rule.type,
      required: param.default === undefined,
    })),
    results: definition.results.map((result) => ({ name: result.name, type: result.type })),
    workspaces: definition.workspaces.map((workspace) => ({ name: workspace.name, optional: workspace.optional })),
  };
}

export interface InterfaceChange {
  kind: 'param' | 'result' | 'workspace';
  name: string;
  change: string;
  breaking: boolean;
}

/**
 * What changed between two interfaces. Breaking: a param, result or
 * workspace removed (a rename is a removal plus an addition), a param's type
 * or rule type changed, a required param or workspace added, or an optional
 * workspace made required.
 */
export function diffInterfaces(before: TaskInterface, after: TaskInterface): InterfaceChange[] {
  const changes: InterfaceChange[] = [];
  const beforeParams = new Map(before.params.map((p) => [p.name, p]));
  const afterParams = new Map(after.params.map((p) => [p.name, p]));
  for (const [name, old] of beforeParams) {
    const now = afterParams.get(name);
    if (!now) {
      changes.push({ kind: 'param', name, change: 'removed', breaking: true });
      continue;
    }
    if (old.type !== now.type) changes.push({ kind: 'param', name, change: `type ${old.type} → ${now.type}`, breaking: true });
    if (old.rule !== now.rule) changes.push({ kind: 'param', name, change: `rule ${old.rule} → ${now.rule}`, breaking: true });
    if (!old.required && now.required) changes.push({ kind: 'param', name, change: 'became required', breaking: true });
    if (old.required && !now.required) changes.push({ kind: 'param', name, change: 'became optional', breaking: false });
  }
  for (const [name, now] of afterParams) {
    if (!beforeParams.has(name)) {
      changes.push({ kind: 'param', name, change: now.required ? 'added (required)' : 'added (optional)', breaking: now.required });
    }
  }
  const beforeResults = new Map(before.results.map((r) => [r.name, r]));
  const afterResults = new Map(after.results.map((r) => [r.name, r]));
  for (const [name, old] of beforeResults) {
    const now = afterResults.get(name);
    if (!now) changes.push({ kind: 'result', name, change: 'removed', breaking: true });
    else if (old.type !== now.type) changes.push({ kind: 'result', name, change: `type ${old.type} → ${now.type}`, breaking: true });
  }
  for (const name of afterResults.keys()) {
    if (!beforeResults.has(name)) changes.push({ kind: 'result', name, change: 'added', breaking: false });
  }
  const beforeWorkspaces = new Map(before.workspaces.map((w) => [w.name, w]));
  const afterWorkspaces = new Map(after.workspaces.map((w) => [w.name, w]));
  for (const [name, old] of beforeWorkspaces) {
    const now = afterWorkspaces.get(name);
    if (!now) changes.push({ kind: 'workspace', name, change: 'removed', breaking: true });
    else if (old.optional && !now.optional) changes.push({ kind: 'workspace', name, change: 'became required', breaking: true });
  }
  for (const [name, now] of afterWorkspaces) {
    if (!beforeWorkspaces.has(name)) {
      changes.push({ kind: 'workspace', name, change: now.optional ? 'added (optional)' : 'added (required)', breaking: !now.optional });
    }
  }
  return changes;
}

export function formatInterfaceDiff(changes: InterfaceChange[]): string {
  if (changes.length === 0) return '  (no interface changes)';
  return changes.map((c) => `  ${c.breaking ? '!' : '+'} ${c.kind} ${c.name}: ${c.change}${c.breaking ? ' (breaking)' : ''}`).join('\n');
}

/** How far an interface change reaches: it decides the smallest version bump allowed. */
export type InterfaceImpact = 'none' | 'compatible' | 'breaking';

export function interfaceImpact(changes: InterfaceChange[]): InterfaceImpact {
  if (changes.some((c) => c.breaking)) return 'breaking';
  return changes.length > 0 ? 'compatible' : 'none';
}

/** SemVer for a Task: same interface → patch; additions → minor; anything a pipeline could break on → major. */
export function requiredBump(impact: InterfaceImpact): BumpKind {
  return impact === 'breaking' ? 'major' : impact === 'compatible' ? 'minor' : 'patch';
}

/** What the versioning messages name: "Task validate-params" defined in tasks/validate-params/task.ts. */
export interface VersionedSource {
  kind: 'Task' | 'Pipeline';
  name: string;
  /** The file that declares the version. */
  file: string;
}

/** The recorded versions of one Task or Pipeline, as far as versioning reads them. */
export interface VersionedEntry {
  versions: Record<string, { status: 'draft' | 'released'; contentDigest: string; interface: TaskInterface }>;
}

function taskSource(taskName: string): VersionedSource {
  return { kind: 'Task', name: taskName, file: `tasks/${taskName}/task.ts` };
}

/** The version a change should get: the smallest allowed bump above the highest version recorded. */
export function suggestedVersion(entry: VersionedEntry, after: TaskInterface): string {
  const highest = highestVersion(Object.keys(entry.versions))!;
  return nextVersion(highest, requiredBump(interfaceImpact(diffInterfaces(entry.versions[highest]!.interface, after))));
}

/**
 * Recorded versions above the one the source declares. The source only ever
 * builds the newest version, so drafts above it (a bump that was reverted)
 * are withdrawn by the build; a released one above it is an error.
 */
export function versionsAbove(index: CatalogIndex | undefined, taskName: string, version: string): { released: string[]; drafts: string[] } {
  return versionsAboveIn(index?.tasks[taskName], version);
}

export function versionsAboveIn(entry: VersionedEntry | undefined, version: string): { released: string[]; drafts: string[] } {
  const above = Object.keys(entry?.versions ?? {}).filter((v) => compareVersions(v, version) > 0).sort(compareVersions);
  return {
    released: above.filter((v) => entry!.versions[v]!.status === 'released'),
    drafts: above.filter((v) => entry!.versions[v]!.status === 'draft'),
  };
}

/** The source may not declare a version below a released one: it only ever builds the newest version. */
export function assertNotBehindRelease(index: CatalogIndex | undefined, taskName: string, version: string, after: TaskInterface): void {
  assertNotBehindReleaseIn(index?.tasks[taskName], taskSource(taskName), version, after);
}

export function assertNotBehindReleaseIn(entry: VersionedEntry | undefined, source: VersionedSource, version: string, after: TaskInterface): void {
  const above = versionsAboveIn(entry, version);
  if (entry === undefined || above.released.length === 0) return;
  throw new CatalogError(
    'VERSION_BEHIND',
    `${source.file} declares ${version}, but ${source.name} ${above.released.at(-1)} is already released; the source only builds the newest version`,
    { hint: `set the version in ${source.file} to ${suggestedVersion(entry, after)} (or higher)` },
  );
}

/**
 * Checks a freshly built version against the committed index:
 * - a released version may not change;
 * - the source may not declare a version below a released one;
 * - against the version before it, the interface diff decides the bump:
 *   a patch keeps the interface, a minor may only add to it, and anything
 *   that breaks it (see diffInterfaces) needs a new major version.
 */
export function checkVersion(index: CatalogIndex | undefined, taskName: string, version: string, record: Pick<VersionRecord, 'contentDigest' | 'interface'>): void {
  checkVersionIn(index?.tasks[taskName], taskSource(taskName), version, record);
}

export function checkVersionIn(entry: VersionedEntry | undefined, source: VersionedSource, version: string, record: { contentDigest: string; interface: TaskInterface }): void {
  if (!entry) return;
  const { kind, name, file } = source;
  const existing = entry.versions[version];
  if (existing?.status === 'released') {
    if (existing.contentDigest !== record.contentDigest) {
      const changes = diffInterfaces(existing.interface, record.interface);
      throw new CatalogError(
        'VERSION_IMMUTABLE',
        `${kind} ${name} ${version} is released (content ${existing.contentDigest}) and the build produced different content (${record.contentDigest}); interface changes:\n${formatInterfaceDiff(changes)}`,
        { hint: `bump the version in ${file} to ${suggestedVersion(entry, record.interface)}; released versions never change` },
      );
    }
    return;
  }
  assertNotBehindReleaseIn(entry, source, version, record.interface);
  const previous = Object.keys(entry.versions)
    .filter((v) => compareVersions(v, version) < 0)
    .sort(compareVersions)
    .at(-1);
  if (previous === undefined) return;
  const changes = diffInterfaces(entry.versions[previous]!.interface, record.interface);
  const needed = requiredBump(interfaceImpact(changes));
  const bump = bumpKind(previous, version);
  if (needed === 'major' && bump !== 'major') {
    throw new CatalogError(
      'VERSION_BREAKING_CHANGE',
      `${kind} ${name} ${version} breaks the interface of ${previous} without a major version bump:\n${formatInterfaceDiff(changes)}`,
      { hint: `keep the interface compatible, or release it as ${nextVersion(previous, 'major')}` },
    );
  }
  if (needed === 'minor' && bump === 'patch') {
    throw new CatalogError(
      'VERSION_PATCH_CHANGES_INTERFACE',
      `${kind} ${name} ${version} is a patch release of ${previous} but changes its interface:\n${formatInterfaceDiff(changes)}`,
      { hint: `a patch keeps the interface as it is; release this as ${nextVersion(previous, 'minor')}` },
    );
  }
}
