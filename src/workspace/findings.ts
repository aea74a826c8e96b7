import type { CredentialKind } from './detectors.ts';

/** Stable rule names: they appear in reports, results and tests. */
export const Rule = {
  // police
  symlinkEscape: 'symlink-escape',
  symlinkLoop: 'symlink-loop',
  hardlinkEscape: 'hardlink-escape',
  setuid: 'setuid',
  setgid: 'setgid',
  deviceFile: 'device-file',
  fifo: 'fifo',
  socket: 'socket',
  unknownType: 'unknown-file-type',
  worldWritable: 'world-writable',
  unexpectedOwner: 'unexpected-owner',
  controlCharacterName: 'control-character-name',
  nonUtf8Name: 'non-utf8-name',
  credential: 'credential',
  foreignRunMarker: 'foreign-run-marker',
  markerInvalid: 'marker-invalid',
  markerMissing: 'marker-missing',
  expiredCredentials: 'expired-credentials',
  credentialsMarkerInvalid: 'credentials-marker-invalid',
  changedDuringWalk: 'changed-during-walk',
  vanishedDuringWalk: 'vanished-during-walk',
  unreadable: 'unreadable',
  tooManyLinks: 'too-many-links',
  fileCapability: 'file-capability',
  acl: 'acl',
  systemXattr: 'system-xattr',
  xattrsUnreadable: 'xattrs-unreadable',
  reservedFolder: 'reserved-folder',
  guardStateInTarget: 'guard-state-in-target',
  // verify
  added: 'added',
  removed: 'removed',
  modified: 'modified',
  modeChanged: 'mode-changed',
  ownerChanged: 'owner-changed',
  typeChanged: 'type-changed',
  symlinkRetargeted: 'symlink-retargeted',
  xattrsChanged: 'xattrs-changed',
  mtimeChanged: 'mtime-changed',
  mtimesNotSealed: 'mtimes-not-sealed',
  manifestRunMismatch: 'manifest-run-mismatch',
  manifestDigestMismatch: 'manifest-digest-mismatch',
  manifestMalformed: 'manifest-malformed',
  // scrub
  scrubFailed: 'scrub-failed',
} as const;
export type Rule = (typeof Rule)[keyof typeof Rule];

export interface Finding {
  rule: Rule;
  /** Workspace-relative path ("." is the root). Rendered with quoteUntrusted for humans. */
  path: string;
  detail?: string;
  /** For credential findings: what kind of secret, never the secret. */
  kind?: CredentialKind;
  line?: number;
}

/** Findings kept in full; beyond this only the counts grow, so memory stays bounded. */
export const MAX_LISTED_FINDINGS = 10_000;

export class FindingList {
  readonly listed: Finding[] = [];
  readonly byRule: Partial<Record<Rule, number>> = {};
  total = 0;

  add(finding: Finding): void {
    this.total++;
    this.byRule[finding.rule] = (this.byRule[finding.rule] ?? 0) + 1;
    if (this.listed.length < MAX_LISTED_FINDINGS) this.listed.push(finding);
  }

  /** Adds another list's findings and counts (including those it only counted). */
  absorb(other: FindingList): void {
    this.total += other.total;
    for (const [rule, n] of Object.entries(other.byRule)) this.byRule[rule as Rule] = (this.byRule[rule as Rule] ?? 0) + n;
    for (const finding of other.listed) {
      if (this.listed.length >= MAX_LISTED_FINDINGS) break;
      this.listed.push(finding);
    }
  }

  get truncated(): boolean {
    return this.total > this.listed.length;
  }
}
