import { stringify } from 'yaml';
import type { CatalogIndex, TaskEntry, TaskInterface } from './catalog-index.ts';
import { releaseTag } from './annotations.ts';
import { compareVersions } from './semver.ts';
import { diffInterfaces, interfaceImpact, requiredBump, type InterfaceChange } from './versioning.ts';

/**
 * Release notes are derived, never written by hand: each version's changes
 * are the interface diff against the version before it in the index (plus
 * its deprecation). They appear twice: as the `artifacthub.io/changes`
 * annotation in the version's own YAML (computed when the version is
 * built, so releasing it changes no byte of it), and in
 * catalog/task/<name>/CHANGELOG.md, rendered from the index by both the
 * build and `release`.
 */

/** Artifact Hub's change kinds (artifacthub.io/changes). */
export type ChangeKind = 'added' | 'changed' | 'deprecated' | 'removed' | 'fixed' | 'security';

export interface ReleaseChange {
  kind: ChangeKind;
  description: string;
}

export const CHANGES_ANNOTATION = 'artifacthub.io/changes';

export interface VersionFacts {
  interface: TaskInterface;
  deprecated?: { replacement: string; reason?: string | undefined } | undefined;
}

/** The version recorded just below `version`, if any. */
export function previousVersion(entry: TaskEntry | undefined, version: string): string | undefined {
  return Object.keys(entry?.versions ?? {})
    .filter((v) => compareVersions(v, version) < 0)
    .sort(compareVersions)
    .at(-1);
}

export function versionChanges(name: string, entry: TaskEntry | undefined, version: string, facts: VersionFacts): ReleaseChange[] {
  const previous = previousVersion(entry, version);
  const changes: ReleaseChange[] = [];
  if (previous === undefined) {
    changes.push({ kind: 'added', description: `First version of ${name}` });
  } else {
    const diff = diffInterfaces(entry!.versions[previous]!.interface, facts.interface);
    if (diff.length === 0) changes.push({ kind: 'changed', description: `Same interface as ${previous} (a patch: fixes and internal changes only)` });
    for (const change of diff) changes.push({ kind: changeKind(change), description: describe(change) });
  }
  if (facts.deprecated !== undefined) {
    const reason = facts.deprecated.reason === undefined ? '' : `: ${facts.deprecated.reason}`;
    changes.push({ kind: 'deprecated', description: `Deprecated${reason}; use ${facts.deprecated.replacement} instead` });
  }
  return changes;
}

/** The annotation's value: a YAML list of {kind, description}, as Artifact Hub documents it. */
export function changesAnnotation(changes: ReleaseChange[]): string {
  return stringify(
    changes.map((c) => ({ kind: c.kind, description: c.description })),
    { lineWidth: 0 },
  );
}

function changeKind(change: InterfaceChange): ChangeKind {
  if (change.change === 'removed') return 'removed';
  if (change.change.startsWith('added')) return 'added';
  return 'changed';
}

function describe(change: InterfaceChange): string {
  const what = `${change.kind[0]!.toUpperCase()}${change.kind.slice(1)} ${change.name}`;
  return `${what} ${change.change}${change.breaking ? ' (breaking)' : ''}`;
}

/** catalog/task/<name>/CHANGELOG.md: every recorded version, newest first, from the index alone. */
export function renderChangelog(name: string, index: CatalogIndex): string {
  const entry = index.tasks[name]!;
  const versions = Object.keys(entry.versions).sort(compareVersions).reverse();
  const lines = [
    `# ${name} changelog`,
    '',
    'Generated from `catalog/index.json` by `npm run build` and `npm run release`; do not edit.',
    'Each version lists its interface changes against the version before it; a released version never changes.',
    '',
  ];
  for (const version of versions) {
    const record = entry.versions[version]!;
    const previous = previousVersion(entry, version);
    const bump = previous === undefined ? '' : `, ${requiredBump(interfaceImpact(diffInterfaces(entry.versions[previous]!.interface, record.interface)))}-level changes`;
    const status = record.status === 'released' ? `released, git tag \`${releaseTag(name, version)}\`` : 'draft, not released yet';
    lines.push(`## ${version} (${status}${bump})`, '');
    lines.push(`Bundle: \`${record.bundle.reference}\``, '');
    for (const change of versionChanges(name, entry, version, record)) lines.push(`- **${change.kind}**: ${change.description}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
