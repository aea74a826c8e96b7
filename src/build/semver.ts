import { CatalogError, quoteUntrusted } from '../errors.ts';

/**
 * Task versions are plain SemVer `MAJOR.MINOR.PATCH`, the form Artifact Hub,
 * TEP-0115 and Konflux read. No pre-release or build suffix: a draft is a
 * status in catalog/index.json, not part of the version string, so the
 * folder name, the `app.kubernetes.io/version` label, the bundle tag and the
 * step image tag are all the same string.
 */
export const VERSION_PATTERN = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

export type Version = readonly [major: number, minor: number, patch: number];

/** What a version bump may carry, from the interface diff against the version before it. */
export type BumpKind = 'patch' | 'minor' | 'major';

export function isVersion(value: string): boolean {
  return VERSION_PATTERN.test(value);
}

export function parseVersion(value: string, what = 'version'): Version {
  const match = VERSION_PATTERN.exec(value);
  if (!match) {
    throw new CatalogError('VERSION_INVALID', `${what} ${quoteUntrusted(value)} is not MAJOR.MINOR.PATCH`, {
      hint: 'write it like 0.1.0 or 1.2.3 (no "v", no suffix)',
    });
  }
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders versions numerically: 0.10.0 comes after 0.9.0. */
export function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor, aPatch] = parseVersion(a);
  const [bMajor, bMinor, bPatch] = parseVersion(b);
  return aMajor - bMajor || aMinor - bMinor || aPatch - bPatch;
}

/** The part that changed from `before` to `after` (which must be higher). */
export function bumpKind(before: string, after: string): BumpKind {
  const [bMajor, bMinor] = parseVersion(before);
  const [aMajor, aMinor] = parseVersion(after);
  if (aMajor !== bMajor) return 'major';
  if (aMinor !== bMinor) return 'minor';
  return 'patch';
}

/** The next version with the given part bumped: 0.1.3 → minor → 0.2.0. */
export function nextVersion(version: string, kind: BumpKind): string {
  const [major, minor, patch] = parseVersion(version);
  if (kind === 'major') return `${major + 1}.0.0`;
  if (kind === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

export function highestVersion(versions: Iterable<string>): string | undefined {
  return [...versions].sort(compareVersions).at(-1);
}
