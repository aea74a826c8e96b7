import { existsSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { MANIFEST_PATH as CREDENTIALS_MANIFEST_PATH, readCredentialsMarker } from '../credentials/marker.ts';
import { openFolderBeneath, type FolderHandle } from './beneath.ts';
import { Rule, FindingList, type Finding } from './findings.ts';
import { GlobSet } from './glob.ts';
import { ManifestReader, ManifestWriter, MANIFEST_FORMAT, toManifestEntry, type ManifestEntry, type ManifestXattr } from './manifest.ts';
import { DEFAULT_MANIFEST_NAME, RESERVED_DIR, RUN_UID_PATTERN, ensureReservedDir, readMarker, writeMarker } from './marker.ts';
import { PreorderMerge } from './preorder.ts';
import { Police, type PoliceOptions } from './police.ts';
import { ReservedFolder } from './reserved.ts';
import { scrubFile, type ScrubTarget } from './scrub.ts';
import { WorkspaceWalker, type WalkEntry, type WalkOptions } from './walker.ts';
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
  /** Other folders the step writes into (its report folder): never inside the target. */
  outputDirs?: readonly string[];
  /** Strict mode: seal records, and verify compares, the mtimes of files and symlinks. */
  mtimes?: boolean;
  /** The getfattr binary (tests); defaults to /usr/bin/getfattr, as in the image. */
  xattrTool?: string;
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
  /** True when the manifest is kept in the reserved folder (no manifest workspace bound). */
  readonly manifestInReserved: boolean;
  private readonly options: GuardOptions;

  constructor(options: GuardOptions) {
    this.options = options;
    this.root = resolve(options.root);
    if (options.runUid !== undefined && !RUN_UID_PATTERN.test(options.runUid)) {
      throw new CatalogError('USAGE_RUN_UID_INVALID', `run uid ${quoteUntrusted(options.runUid)} is not a uid`, {
        hint: 'pass $(context.pipelineRun.uid) from the Pipeline',
      });
    }
    const reservedManifest = join(this.root, RESERVED_DIR, DEFAULT_MANIFEST_NAME);
    this.manifestPath = resolve(options.manifestPath ?? reservedManifest);
    this.manifestInReserved = this.manifestPath === reservedManifest;
    // The guard skips nothing it walks: what it writes must live outside the target, or be the reserved folder's manifest.
    if (!this.manifestInReserved && isWithin(this.root, this.manifestPath)) {
      throw new CatalogError('USAGE_MANIFEST_INSIDE_TARGET', `manifest ${quoteUntrusted(this.manifestPath, 200)} is inside the workspace it describes`, {
        hint: 'bind a separate manifest workspace, or leave it unbound to keep the manifest in .tekton-workspace-guard/',
      });
    }
    for (const dir of options.outputDirs ?? []) {
      if (isWithin(this.root, resolve(dir))) {
        throw new CatalogError('USAGE_OUTPUT_INSIDE_TARGET', `report folder ${quoteUntrusted(dir, 200)} is inside the target workspace`, {
          hint: 'bind the report workspace to a folder outside the target',
        });
      }
    }
  }

  async seal(): Promise<GuardReport> {
    const runUid = this.requireRunUid('seal');
    const findings = new FindingList();
    this.checkMarker(findings, runUid, false);
    await this.checkInjectedCredentials(findings);
    if (this.manifestInReserved) ensureReservedDir(this.root);
    else mkdirSync(dirname(this.manifestPath), { recursive: true });
    const mtimes = this.options.mtimes === true;
    // In the reserved folder the manifest is written through a descriptor of
    // the folder opened without following links: a planted symlink in its
    // place cannot send the write elsewhere.
    let folder: FolderHandle | undefined;
    let writer: ManifestWriter | undefined;
    try {
      folder = this.manifestInReserved ? openFolderBeneath(this.root, RESERVED_DIR) : undefined;
      writer = new ManifestWriter(folder ? `${folder.base}${DEFAULT_MANIFEST_NAME}` : this.manifestPath, { format: MANIFEST_FORMAT, runUid, mtimes });
    } catch (error) {
      folder?.close();
      folder = undefined;
      // A reserved folder that cannot be opened as one is already a finding:
      // walk on to report everything else, with nothing to write.
      if (findings.total === 0) throw error;
    }
    const counts = emptyCounts();
    try {
      const own = writer?.identity();
      const ownPath = this.manifestInReserved && writer ? `${RESERVED_DIR}/${basename(writer.tempPath)}` : undefined;
      const check = this.entryChecks(findings);
      const walker = this.walker({
        mtimes,
        skip: (path, id) => path === ownPath && id.dev === own?.dev && id.ino === own.ino,
        skipDepth: 2,
      });
      for await (const batch of walker.batches()) for (const entry of batch) {
        const reserved = check.inspect(entry);
        count(counts, entry);
        // After the first violation no manifest will be committed: stop writing one.
        if (reserved || findings.total > 0 || !writer) continue;
        if (!entry.xattrs) {
          throw new CatalogError('WORKSPACE_XATTRS_UNKNOWN', `the extended attributes of ${quoteUntrusted(entry.path, 200)} were not read`, {
            hint: 'this is a bug in workspace-guard: nothing was sealed',
          });
        }
        writer.add(toManifestEntry(entry));
      }
      check.finish(walker.problems);
      if (findings.total > 0 || !writer) {
        // A manifest is evidence of a clean workspace: none is written for a dirty one.
        writer?.abort();
        return this.report('seal', findings, counts, { runUid });
      }
      const manifestDigest = writer.commit();
      writeMarker(this.root, runUid);
      return this.report('seal', findings, counts, { runUid, manifestPath: this.manifestPath, manifestDigest });
    } catch (error) {
      writer?.abort();
      throw error;
    } finally {
      folder?.close();
    }
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
    const allow = await GlobSet.load(this.options.allowGlobs ?? []);
    const counts = emptyCounts();
    let allowedChanges = 0;
    const reader = new ManifestReader(this.manifestPath, expected);
    const check = this.entryChecks(findings);
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
      // The header is read with the first line. Until the digest is checked
      // at the end nothing in it is trusted; a forged one fails there.
      const mtimes = reader.header?.mtimes === true;
      if (this.options.mtimes && reader.header && !mtimes) {
        findings.add({ rule: Rule.mtimesNotSealed, path: '.', detail: 'compare-mtimes is on, but seal did not record mtimes; seal with compare-mtimes too' });
      }
      const walker = this.walker({ mtimes });
      for await (const batch of walker.batches()) for (const entry of batch) {
        const reserved = check.inspect(entry);
        count(counts, entry);
        if (reserved) continue;
        merge.setRight(entry.depth, entry.name);
        let order = old.done ? 1 : merge.compare();
        while (order < 0 && !old.done) {
          record({ rule: Rule.removed, path: old.value.path });
          old = advance();
          order = old.done ? 1 : merge.compare();
        }
        if (order === 0 && !old.done) {
          compareEntry(old.value, toManifestEntry(entry), entry, record);
          old = advance();
        } else {
          record({ rule: Rule.added, path: entry.path, detail: entry.type });
        }
      }
      while (!old.done) {
        record({ rule: Rule.removed, path: old.value.path });
        old = advance();
      }
      check.finish(walker.problems);
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
    const check = this.entryChecks(findings);
    const walker = this.walker();
    for await (const batch of walker.batches()) for (const entry of batch) {
      check.inspect(entry);
      count(counts, entry);
    }
    check.finish(walker.problems);
    return this.report('police', findings, counts, { runUid });
  }

  /**
   * Removes every file holding credential material, then reports what was
   * removed. Other police findings still fail the step: scrub makes a
   * workspace safe to hand over, it does not bless one. That includes
   * anything planted in the reserved folder: scrub removes only what it can
   * prove is credential material, never a tree it merely did not expect.
   */
  async scrub(): Promise<GuardReport> {
    const runUid = this.options.runUid;
    const findings = new FindingList();
    if (runUid) this.checkMarker(findings, runUid, false);
    await this.checkInjectedCredentials(findings);
    const counts = emptyCounts();
    const targets: (ScrubTarget & { kinds: CredentialKind[] })[] = [];
    const check = this.entryChecks(findings, {
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
      check.inspect(entry);
      count(counts, entry);
    }
    check.finish(walker.problems);
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

  private walker(extra: Pick<WalkOptions, 'mtimes' | 'skip' | 'skipDepth'> = {}): WorkspaceWalker {
    return new WorkspaceWalker(this.root, {
      ...(this.options.threads !== undefined ? { threads: this.options.threads } : {}),
      ...(this.options.beforeOpen ? { beforeOpen: this.options.beforeOpen } : {}),
      ...(this.options.xattrTool !== undefined ? { xattrTool: this.options.xattrTool } : {}),
      ...extra,
    });
  }

  /**
   * What every mode checks on every entry: the police rules, the reserved
   * folder's contents, and that no folder the step writes into is part of
   * the tree. `inspect` returns true for reserved entries (never sealed or compared).
   */
  private entryChecks(findings: FindingList, extra: Pick<PoliceOptions, 'onCredential'> = {}) {
    const police = new Police(findings, { ...(this.options.allowedUids ? { allowedUids: new Set(this.options.allowedUids) } : {}), ...extra });
    const reserved = new ReservedFolder(findings, { manifestInside: this.manifestInReserved });
    const outputs = this.outputFolders();
    return {
      inspect: (entry: WalkEntry): boolean => {
        police.inspect(entry);
        if (outputs.size > 0 && entry.type === 'dir') {
          const label = outputs.get(`${entry.dev}:${entry.ino}`);
          if (label) {
            findings.add({ rule: Rule.guardStateInTarget, path: entry.path, detail: `is ${label}; bind it to a folder outside the target` });
          }
        }
        return reserved.inspect(entry);
      },
      finish: (problems: WorkspaceWalker['problems']) => police.finish(problems),
    };
  }

  /**
   * The folders the step writes into, by inode: a workspace bound twice
   * (the same volume as target and as manifest) cannot be told by its path.
   */
  private outputFolders(): Map<string, string> {
    const folders = new Map<string, string>();
    const add = (path: string, label: string) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) folders.set(`${stat.dev}:${stat.ino}`, label);
    };
    if (!this.manifestInReserved) add(dirname(this.manifestPath), 'the manifest workspace');
    for (const dir of this.options.outputDirs ?? []) add(resolve(dir), 'the report workspace');
    return folders;
  }

  private requireRunUid(mode: GuardMode): string {
    if (!this.options.runUid) {
      throw new CatalogError('USAGE_RUN_UID_MISSING', `${mode} needs the PipelineRun uid`, {
        hint: 'pass the run-uid param (--run-uid on the command line) as $(context.pipelineRun.uid) from the Pipeline',
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
    // Only a regular file is opened: a FIFO planted there would block the open forever.
    const state = lstatSync(join(this.root, dirname(CREDENTIALS_MANIFEST_PATH)), { throwIfNoEntry: false });
    const marker = state?.isDirectory() ? lstatSync(join(this.root, CREDENTIALS_MANIFEST_PATH), { throwIfNoEntry: false }) : undefined;
    if (marker && !marker.isFile()) {
      findings.add({ rule: Rule.credentialsMarkerInvalid, path: CREDENTIALS_MANIFEST_PATH, detail: 'is not a regular file' });
      return;
    }
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

/** True when `path` is `root` or below it. */
function isWithin(root: string, path: string): boolean {
  const inside = relative(root, path);
  return inside === '' || (!inside.startsWith('..') && !isAbsolute(inside));
}

function compareEntry(old: ManifestEntry, now: ManifestEntry, live: WalkEntry, record: (f: Finding) => void): void {
  const path = now.path;
  if (old.type !== now.type) {
    record({ rule: Rule.typeChanged, path, detail: `${old.type} -> ${now.type}` });
    return;
  }
  if (old.type === 'file' && (old.sha256 !== now.sha256 || old.size !== now.size)) record({ rule: Rule.modified, path });
  if (old.type === 'symlink' && old.target !== now.target) record({ rule: Rule.symlinkRetargeted, path });
  if (old.mode !== now.mode) record({ rule: Rule.modeChanged, path, detail: `${old.mode} -> ${now.mode}` });
  if (old.uid !== now.uid || old.gid !== now.gid) record({ rule: Rule.ownerChanged, path, detail: `${old.uid}:${old.gid} -> ${now.uid}:${now.gid}` });
  // Unread attributes are a finding already (xattrs-unreadable).
  if (live.xattrs) {
    const change = xattrChange(old.xattrs ?? [], now.xattrs ?? []);
    if (change) record({ rule: Rule.xattrsChanged, path, detail: change });
  }
  if (old.mtime !== undefined && old.mtime !== now.mtime) {
    record({ rule: Rule.mtimeChanged, path, detail: `${formatNs(old.mtime)} -> ${now.mtime === undefined ? 'unknown' : formatNs(now.mtime)}` });
  }
}

/** Names added, removed and changed, or undefined when both lists are equal. */
function xattrChange(old: readonly ManifestXattr[], now: readonly ManifestXattr[]): string | undefined {
  if (old.length === now.length && old.every(([name, sha], i) => now[i]![0] === name && now[i]![1] === sha)) return undefined;
  const before = new Map(old);
  const after = new Map(now);
  const parts: string[] = [];
  const list = (label: string, names: string[]) => {
    if (names.length > 0) parts.push(`${label} ${names.slice(0, 5).map((name) => quoteUntrusted(name)).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`);
  };
  list('added', [...after.keys()].filter((name) => !before.has(name)));
  list('removed', [...before.keys()].filter((name) => !after.has(name)));
  list('changed', [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name)));
  return parts.join('; ');
}

/** An mtime for people: ISO time with the nanoseconds kept. */
function formatNs(ns: string): string {
  const value = BigInt(ns);
  const seconds = value / 1_000_000_000n - (value < 0n && value % 1_000_000_000n !== 0n ? 1n : 0n);
  const rest = value - seconds * 1_000_000_000n;
  const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, '');
  return `${iso}.${rest.toString().padStart(9, '0')}Z`;
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
