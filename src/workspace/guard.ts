import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { MANIFEST_PATH as CREDENTIALS_MANIFEST_PATH, readCredentialsMarker } from '../credentials/marker.ts';
import { Rule, FindingList, type Finding } from './findings.ts';
import { GlobSet } from './glob.ts';
import { ManifestReader, ManifestWriter, MANIFEST_FORMAT, toManifestEntry, type ManifestEntry } from './manifest.ts';
import { DEFAULT_MANIFEST_NAME, RESERVED_DIR, RUN_UID_PATTERN, ensureReservedDir, readMarker, writeMarker } from './marker.ts';
import { PreorderMerge } from './preorder.ts';
import { Police } from './police.ts';
import { scrubFile, type ScrubTarget } from './scrub.ts';
import { WorkspaceWalker, type WalkEntry } from './walker.ts';
import type { CredentialKind } from './detectors.ts';

export type GuardMode = 'seal' | 'verify' | 'police' | 'scrub';

export interface GuardOptions {
  /** The workspace folder. */
  root: string;
  /** The current PipelineRun's uid; required by seal, verify and police. */
  runUid?: string;
  /** Manifest file; defaults to `<root>/.tekton-workspace-guard/manifest.ndjson`. */
  manifestPath?: string;
  /** verify: the digest seal returned ("sha256:…"). */
  expectedDigest?: string;
  /** verify: changes under these globs are allowed. */
  allowGlobs?: readonly string[];
  /** Owners allowed for entries; undefined skips the owner check. */
  allowedUids?: readonly number[];
  /** Other files the step writes that may sit inside the tree (e.g. its report): never walked. */
  extraSkips?: readonly string[];
  threads?: number;
  /** Test seam forwarded to the walker. */
  beforeOpen?: (path: string) => void;
}

export interface GuardReport {
  mode: GuardMode;
  runUid?: string;
  manifestPath?: string;
  manifestDigest?: string;
  counts: { entries: number; files: number; dirs: number; symlinks: number; bytes: number };
  violations: number;
  byRule: Partial<Record<Rule, number>>;
  findings: Finding[];
  findingsTruncated: boolean;
  /** verify: differences that an allow glob covered. */
  allowedChanges?: number;
  /** scrub: credential files removed. */
  scrubbed?: { path: string; kinds: CredentialKind[]; overwritten: boolean }[];
}

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Seals, verifies, polices and scrubs one workspace. Every mode runs the
 * police rules over a single streaming walk; `violations` is the number of
 * findings, and zero is the only passing outcome.
 */
export class WorkspaceGuard {
  readonly root: string;
  readonly manifestPath: string;
  private readonly options: GuardOptions;
  private readonly skipPaths: Set<string>;
  private readonly skipTempPrefixes: string[];
  /** Components in the deepest skipped path: deeper entries are never asked about. */
  private skipDepth = 0;

  constructor(options: GuardOptions) {
    this.options = options;
    this.root = resolve(options.root);
    if (options.runUid !== undefined && !RUN_UID_PATTERN.test(options.runUid)) {
      throw new CatalogError('USAGE_RUN_UID_INVALID', `run uid ${quoteUntrusted(options.runUid)} is not a uid`, {
        hint: 'pass $(context.pipelineRun.uid) from the Pipeline',
      });
    }
    this.manifestPath = resolve(options.manifestPath ?? join(this.root, RESERVED_DIR, DEFAULT_MANIFEST_NAME));
    this.skipPaths = new Set();
    this.skipTempPrefixes = [];
    for (const file of [this.manifestPath, ...(options.extraSkips ?? [])]) {
      const inside = relative(this.root, resolve(file));
      if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) continue;
      const rel = inside.split(sep).join('/');
      this.skipPaths.add(rel);
      this.skipDepth = Math.max(this.skipDepth, rel.split('/').length);
      // Temp files written next to it (see ManifestWriter / writeFileAtomic).
      const parent = dirname(rel) === '.' ? '' : `${dirname(rel)}/`;
      this.skipTempPrefixes.push(`${parent}.${basename(rel)}.tmp-`, `${rel}.tmp-`);
    }
  }

  async seal(): Promise<GuardReport> {
    const runUid = this.requireRunUid('seal');
    const findings = new FindingList();
    this.checkMarker(findings, runUid, false);
    await this.checkInjectedCredentials(findings);
    if (this.manifestPath.startsWith(join(this.root, RESERVED_DIR) + sep)) ensureReservedDir(this.root);
    else mkdirSync(dirname(this.manifestPath), { recursive: true });
    const writer = new ManifestWriter(this.manifestPath, { format: MANIFEST_FORMAT, runUid });
    const counts = emptyCounts();
    try {
      const police = new Police(findings, this.policeOptions());
      const reserved = reservedTracker();
      const walker = this.walker();
      for await (const batch of walker.batches()) for (const entry of batch) {
        police.inspect(entry);
        count(counts, entry);
        // After the first violation no manifest will be committed: stop writing one.
        if (!reserved(entry) && findings.total === 0) writer.add(toManifestEntry(entry));
      }
      police.finish(walker.problems);
    } catch (error) {
      writer.abort();
      throw error;
    }
    if (findings.total > 0) {
      // A manifest is evidence of a clean workspace: none is written for a dirty one.
      writer.abort();
      return this.report('seal', findings, counts, { runUid });
    }
    const manifestDigest = writer.commit();
    writeMarker(this.root, runUid);
    return this.report('seal', findings, counts, { runUid, manifestPath: this.manifestPath, manifestDigest });
  }

  async verify(): Promise<GuardReport> {
    const runUid = this.requireRunUid('verify');
    const expected = this.options.expectedDigest;
    if (!expected || !SHA256_DIGEST.test(expected)) {
      throw new CatalogError('USAGE_EXPECTED_DIGEST', 'verify needs the manifest digest from seal as "sha256:<64 hex>"', {
        hint: 'pass $(tasks.<seal task>.results.manifest-digest) as expected-digest',
      });
    }
    if (!existsSync(this.manifestPath)) {
      throw new CatalogError('USAGE_MANIFEST_MISSING', `no manifest at ${quoteUntrusted(this.manifestPath, 200)}`, {
        hint: 'verify reads the manifest seal wrote; bind the same manifest workspace',
      });
    }
    const findings = new FindingList();
    const diffs = new FindingList();
    this.checkMarker(findings, runUid, true);
    await this.checkInjectedCredentials(findings);
    const allow = new GlobSet(this.options.allowGlobs ?? []);
    const counts = emptyCounts();
    let allowedChanges = 0;
    const reader = new ManifestReader(this.manifestPath, expected);
    const police = new Police(findings, this.policeOptions());
    const sealed = reader.entries();
    const record = (finding: Finding) => {
      if (allow.matches(finding.path)) allowedChanges++;
      else diffs.add(finding);
    };
    // Both streams are in preorder: a sorted merge, comparing positions by
    // depth and name (never by full path, which can be 20,000 folders long).
    const merge = new PreorderMerge();
    const advance = () => {
      const next = sealed.next();
      if (!next.done) merge.setLeft(next.value.depth, next.value.name);
      return next;
    };
    try {
      let old = advance();
      const reserved = reservedTracker();
      const walker = this.walker();
      for await (const batch of walker.batches()) for (const entry of batch) {
        police.inspect(entry);
        count(counts, entry);
        if (reserved(entry)) continue;
        merge.setRight(entry.depth, entry.name);
        let order = old.done ? 1 : merge.compare();
        while (order < 0 && !old.done) {
          record({ rule: Rule.removed, path: old.value.path });
          old = advance();
          order = old.done ? 1 : merge.compare();
        }
        if (order === 0 && !old.done) {
          compareEntry(old.value, toManifestEntry(entry), record);
          old = advance();
        } else {
          record({ rule: Rule.added, path: entry.path, detail: entry.type });
        }
      }
      while (!old.done) {
        record({ rule: Rule.removed, path: old.value.path });
        old = advance();
      }
      police.finish(walker.problems);
    } catch (error) {
      if (!(error instanceof CatalogError)) throw error;
      if (error.code === 'WORKSPACE_MANIFEST_DIGEST_MISMATCH' || error.code === 'WORKSPACE_MANIFEST_MALFORMED') {
        // Finish reading so a digest mismatch wins over a parse error: it is the real story.
        const actual = ManifestReader.digestOf(this.manifestPath);
        const rule = actual !== expected ? Rule.manifestDigestMismatch : Rule.manifestMalformed;
        const only = new FindingList();
        only.absorb(findings);
        only.add({ rule, path: '.', detail: rule === Rule.manifestDigestMismatch ? `manifest digest is ${actual}` : error.message });
        return this.report('verify', only, counts, { runUid, manifestPath: this.manifestPath });
      }
      throw error;
    }
    const header = reader.header;
    if (header && header.runUid !== runUid) {
      findings.add({ rule: Rule.manifestRunMismatch, path: '.', detail: `sealed by run ${quoteUntrusted(header.runUid)}` });
    }
    findings.absorb(diffs);
    return this.report('verify', findings, counts, { runUid, manifestPath: this.manifestPath, manifestDigest: expected, allowedChanges });
  }

  async police(): Promise<GuardReport> {
    const runUid = this.requireRunUid('police');
    const findings = new FindingList();
    this.checkMarker(findings, runUid, false);
    await this.checkInjectedCredentials(findings);
    const counts = emptyCounts();
    const police = new Police(findings, this.policeOptions());
    const walker = this.walker();
    for await (const batch of walker.batches()) for (const entry of batch) {
      police.inspect(entry);
      count(counts, entry);
    }
    police.finish(walker.problems);
    return this.report('police', findings, counts, { runUid });
  }

  /**
   * Removes every file holding credential material, then reports what was
   * removed. Other police findings still fail the step: scrub makes a
   * workspace safe to hand over, it does not bless one.
   */
  async scrub(): Promise<GuardReport> {
    const runUid = this.options.runUid;
    const findings = new FindingList();
    if (runUid) this.checkMarker(findings, runUid, false);
    await this.checkInjectedCredentials(findings);
    const counts = emptyCounts();
    const targets: (ScrubTarget & { kinds: CredentialKind[] })[] = [];
    const police = new Police(findings, {
      ...this.policeOptions(),
      onCredential: (entry: WalkEntry) => {
        const kinds = (entry.credentials ?? []).map((hit) => hit.kind);
        if (!entry.exactName || targets.length >= 100_000) {
          findings.add({ rule: Rule.scrubFailed, path: entry.path, detail: 'cannot be addressed for removal' });
          return;
        }
        targets.push({ path: entry.path, dev: entry.dev, ino: entry.ino, kinds });
      },
    });
    const walker = this.walker();
    for await (const batch of walker.batches()) for (const entry of batch) {
      police.inspect(entry);
      count(counts, entry);
    }
    police.finish(walker.problems);
    const scrubbed: NonNullable<GuardReport['scrubbed']> = [];
    for (const target of targets) {
      const outcome = scrubFile(this.root, target);
      if (outcome.removed) scrubbed.push({ path: target.path, kinds: target.kinds, overwritten: outcome.overwritten });
      else for (const kind of target.kinds) findings.add({ rule: Rule.scrubFailed, path: target.path, kind, detail: outcome.reason });
    }
    return this.report('scrub', findings, counts, runUid ? { runUid, scrubbed } : { scrubbed });
  }

  run(mode: GuardMode): Promise<GuardReport> {
    switch (mode) {
      case 'seal':
        return this.seal();
      case 'verify':
        return this.verify();
      case 'police':
        return this.police();
      case 'scrub':
        return this.scrub();
    }
  }

  private walker(): WorkspaceWalker {
    return new WorkspaceWalker(this.root, {
      ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      ...(this.options.beforeOpen ? { beforeOpen: this.options.beforeOpen } : {}),
      skip: (path) => this.skipPaths.has(path) || this.skipTempPrefixes.some((prefix) => path.startsWith(prefix)),
      skipDepth: this.skipDepth,
    });
  }

  private policeOptions() {
    return this.options.allowedUids ? { allowedUids: new Set(this.options.allowedUids) } : {};
  }

  private requireRunUid(mode: GuardMode): string {
    if (!this.options.runUid) {
      throw new CatalogError('USAGE_RUN_UID_MISSING', `${mode} needs the PipelineRun uid`, {
        hint: 'set RUN_UID (or --run-uid) to $(context.pipelineRun.uid)',
      });
    }
    return this.options.runUid;
  }

  /**
   * inject-credentials leaves a manifest with an expiry beside what it
   * wrote. Credentials past their expiry should have been cleaned up, and
   * a manifest that cannot be read is never trusted: both are violations.
   */
  private async checkInjectedCredentials(findings: FindingList): Promise<void> {
    try {
      const status = await readCredentialsMarker(this.root);
      if (status?.expired) {
        findings.add({
          rule: Rule.expiredCredentials,
          path: CREDENTIALS_MANIFEST_PATH,
          detail: `injected credentials expired at ${status.expiresAt.toISOString()}; run inject-credentials in cleanup mode`,
        });
      }
    } catch (error) {
      findings.add({
        rule: Rule.credentialsMarkerInvalid,
        path: CREDENTIALS_MANIFEST_PATH,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private checkMarker(findings: FindingList, runUid: string, required: boolean): void {
    const marker = readMarker(this.root);
    if (marker.state === 'invalid') findings.add({ rule: Rule.markerInvalid, path: RESERVED_DIR, detail: marker.detail });
    else if (marker.state === 'present' && marker.runUid !== runUid) {
      findings.add({ rule: Rule.foreignRunMarker, path: RESERVED_DIR, detail: `marked by run ${quoteUntrusted(marker.runUid)}` });
    } else if (marker.state === 'absent' && required) {
      findings.add({ rule: Rule.markerMissing, path: RESERVED_DIR, detail: 'the run marker written by seal is gone' });
    }
  }

  private report(mode: GuardMode, findings: FindingList, counts: GuardReport['counts'], extra: Partial<GuardReport>): GuardReport {
    return {
      mode,
      ...extra,
      counts,
      violations: findings.total,
      byRule: findings.byRule,
      findings: findings.listed,
      findingsTruncated: findings.truncated,
    };
  }
}

/**
 * Recognises entries of the reserved folder (marker, manifest): policed like
 * any other, never sealed or compared. In preorder the folder's subtree runs
 * until the next top-level entry, so depth and name suffice.
 */
function reservedTracker(): (entry: WalkEntry) => boolean {
  let inside = false;
  return (entry) => {
    if (entry.depth <= 1) inside = entry.depth === 1 && entry.name === RESERVED_DIR;
    return inside;
  };
}

function compareEntry(old: ManifestEntry, now: ManifestEntry, record: (f: Finding) => void): void {
  const path = now.path;
  if (old.type !== now.type) {
    record({ rule: Rule.typeChanged, path, detail: `${old.type} -> ${now.type}` });
    return;
  }
  if (old.type === 'file' && (old.sha256 !== now.sha256 || old.size !== now.size)) record({ rule: Rule.modified, path });
  if (old.type === 'symlink' && old.target !== now.target) record({ rule: Rule.symlinkRetargeted, path });
  if (old.mode !== now.mode) record({ rule: Rule.modeChanged, path, detail: `${old.mode} -> ${now.mode}` });
  if (old.uid !== now.uid || old.gid !== now.gid) record({ rule: Rule.ownerChanged, path, detail: `${old.uid}:${old.gid} -> ${now.uid}:${now.gid}` });
}

function emptyCounts(): GuardReport['counts'] {
  return { entries: 0, files: 0, dirs: 0, symlinks: 0, bytes: 0 };
}

function count(counts: GuardReport['counts'], entry: WalkEntry): void {
  counts.entries++;
  if (entry.type === 'file') {
    counts.files++;
    counts.bytes += entry.size;
  } else if (entry.type === 'dir') counts.dirs++;
  else if (entry.type === 'symlink') counts.symlinks++;
}
