import { CatalogError } from '../errors.ts';
import { compareVersions, type CatalogIndex, type TaskInterface, type VersionRecord } from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';

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

/**
 * Checks a freshly built version against the committed index:
 * a released version may not change; a new version may not break the
 * interface of the version before it without a major bump.
 */
export function checkVersion(index: CatalogIndex | undefined, taskName: string, version: string, record: VersionRecord): void {
  const entry = index?.tasks[taskName];
  if (!entry) return;
  const existing = entry.versions[version];
  if (existing?.status === 'released') {
    if (existing.contentDigest !== record.contentDigest) {
      throw new CatalogError(
        'VERSION_IMMUTABLE',
        `Task ${taskName} ${version} is released (content ${existing.contentDigest}) and the build produced different content (${record.contentDigest})`,
        { hint: `bump the version in tasks/${taskName}/task.ts (e.g. to ${nextMinor(version)}); released versions never change` },
      );
    }
    return;
  }
  const previous = Object.keys(entry.versions)
    .filter((v) => compareVersions(v, version) < 0)
    .sort(compareVersions)
    .at(-1);
  if (previous === undefined) return;
  const changes = diffInterfaces(entry.versions[previous]!.interface, record.interface);
  const breaking = changes.filter((c) => c.breaking);
  if (breaking.length > 0 && major(previous) === major(version)) {
    throw new CatalogError(
      'VERSION_BREAKING_CHANGE',
      `Task ${taskName} ${version} breaks the interface of ${previous} without a major version bump:\n${formatInterfaceDiff(changes)}`,
      { hint: `keep the interface compatible, or release it as ${major(version) + 1}.0` },
    );
  }
}

function major(version: string): number {
  return Number(version.split('.')[0]);
}

function nextMinor(version: string): string {
  const [maj, min] = version.split('.').map(Number);
  return `${maj}.${(min ?? 0) + 1}`;
}
