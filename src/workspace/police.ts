import { credentialKindByName } from './detectors.ts';
import { Rule, type FindingList } from './findings.ts';
import { ROOT_PATH, hasControlCharacter, parentOf } from './paths.ts';
import type { WalkEntry, WalkProblem } from './walker.ts';
import { xattrViolation } from './xattr-rules.ts';

export interface PoliceOptions {
  /** Owners allowed for every entry but the root; undefined skips the owner check. */
  allowedUids?: ReadonlySet<number>;
  /** Where credential findings go; scrub collects them apart from other violations. */
  onCredential?: (entry: WalkEntry) => void;
}

/** Links tracked for the end-of-walk checks; beyond this the walk fails closed. */
const MAX_TRACKED_LINKS = 1_000_000;
/** Same limit as the kernel's symlink resolution (MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/**
 * The rules every mode runs. Most are per entry; two need the whole walk:
 * symlink chains (a link is judged by where the chain ends, resolved the
 * way the kernel would, against the links the walk saw) and hardlinks (a
 * file whose link count exceeds the links found inside has a name outside).
 */
export class Police {
  private readonly options: PoliceOptions;
  private readonly findings: FindingList;
  private readonly symlinks = new Map<string, string>();
  private readonly hardlinks = new Map<string, { path: string; seen: number; nlink: number }>();
  private overflowReported = false;

  constructor(findings: FindingList, options: PoliceOptions = {}) {
    this.findings = findings;
    this.options = options;
  }

  inspect(entry: WalkEntry): void {
    const { path } = entry;
    const add = this.findings.add.bind(this.findings);
    if (path !== ROOT_PATH) {
      if (!entry.exactName) add({ rule: Rule.nonUtf8Name, path, detail: 'name is not valid UTF-8' });
      if (hasControlCharacter(entry.name)) add({ rule: Rule.controlCharacterName, path, detail: 'name contains a control or bidi character' });
    }
    if (entry.problem) {
      const rule =
        entry.problem.kind === 'vanished' ? Rule.vanishedDuringWalk : entry.problem.kind === 'changed' ? Rule.changedDuringWalk : Rule.unreadable;
      add({ rule, path, detail: entry.problem.detail });
      if (entry.type === 'unknown') return;
    }
    if (entry.xattrProblem) add({ rule: Rule.xattrsUnreadable, path, detail: entry.xattrProblem });
    if (entry.xattrs) {
      for (const xattr of entry.xattrs) {
        const violation = xattrViolation(xattr);
        if (violation) add({ rule: violation.rule, path, detail: violation.detail });
      }
    }
    switch (entry.type) {
      case 'fifo':
        add({ rule: Rule.fifo, path, detail: 'named pipe' });
        break;
      case 'socket':
        add({ rule: Rule.socket, path, detail: 'unix socket' });
        break;
      case 'char-device':
      case 'block-device':
        add({ rule: Rule.deviceFile, path, detail: entry.type });
        break;
      case 'unknown':
        add({ rule: Rule.unknownType, path });
        break;
      case 'symlink':
        this.trackSymlink(entry);
        break;
      default:
        break;
    }
    if (entry.type !== 'dir') {
      if (entry.mode & 0o4000) add({ rule: Rule.setuid, path, detail: `mode ${entry.mode.toString(8)}` });
      if (entry.mode & 0o2000) add({ rule: Rule.setgid, path, detail: `mode ${entry.mode.toString(8)}` });
      if (entry.nlink > 1 && entry.type !== 'symlink') this.trackHardlink(entry);
    }
    if (path !== ROOT_PATH) {
      // The root is the volume's mount point: Kubernetes sets its owner and mode.
      if (entry.type !== 'symlink' && entry.mode & 0o002) add({ rule: Rule.worldWritable, path, detail: `mode ${entry.mode.toString(8)}` });
      const allowed = this.options.allowedUids;
      if (allowed && !allowed.has(entry.uid)) add({ rule: Rule.unexpectedOwner, path, detail: `owned by uid ${entry.uid}` });
    }
    if (entry.type === 'file') {
      const byName = entry.size > 0 ? credentialKindByName(path, entry.name) : undefined;
      const hits = [...(entry.credentials ?? [])];
      if (byName && !hits.some((hit) => hit.kind === byName)) hits.push({ kind: byName });
      if (hits.length > 0) {
        if (this.options.onCredential) {
          entry.credentials = hits;
          this.options.onCredential(entry);
        } else {
          for (const hit of hits) add({ rule: Rule.credential, path, kind: hit.kind, ...(hit.line ? { line: hit.line } : {}) });
        }
      }
    }
  }

  /**
   * The checks that need every entry; call once after the walk, with the
   * walker's problems that belong to no single entry (a folder moved away
   * while walked: the rest of it went unexamined, so the walk is incomplete).
   */
  finish(walkProblems: readonly { path: string; problem: WalkProblem }[] = []): void {
    for (const { path, problem } of walkProblems) {
      this.findings.add({ rule: problem.kind === 'vanished' ? Rule.vanishedDuringWalk : Rule.changedDuringWalk, path, detail: problem.detail });
    }
    for (const [path, target] of this.symlinks) {
      const verdict = resolveWithin(path, target, this.symlinks);
      if (verdict === 'escapes') this.findings.add({ rule: Rule.symlinkEscape, path, detail: 'target resolves outside the workspace' });
      else if (verdict === 'loop') this.findings.add({ rule: Rule.symlinkLoop, path, detail: `more than ${MAX_SYMLINK_HOPS} links in a chain` });
    }
    for (const group of this.hardlinks.values()) {
      if (group.seen < group.nlink) {
        this.findings.add({
          rule: Rule.hardlinkEscape,
          path: group.path,
          detail: `${group.nlink - group.seen} of its ${group.nlink} hard links are outside the workspace`,
        });
      }
    }
  }

  private trackSymlink(entry: WalkEntry): void {
    const target = entry.target ?? '';
    if (target.startsWith('/')) {
      this.findings.add({ rule: Rule.symlinkEscape, path: entry.path, detail: 'absolute target' });
      return;
    }
    if (this.full()) return;
    this.symlinks.set(entry.path, target);
  }

  private trackHardlink(entry: WalkEntry): void {
    const key = `${entry.dev}:${entry.ino}`;
    const group = this.hardlinks.get(key);
    if (group) {
      group.seen++;
      return;
    }
    if (this.full()) return;
    this.hardlinks.set(key, { path: entry.path, seen: 1, nlink: entry.nlink });
  }

  private full(): boolean {
    if (this.symlinks.size + this.hardlinks.size < MAX_TRACKED_LINKS) return false;
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.findings.add({ rule: Rule.tooManyLinks, path: ROOT_PATH, detail: `more than ${MAX_TRACKED_LINKS} links to check` });
    }
    return true;
  }
}

/**
 * Resolves a link the way path lookup would, using only the links the walk
 * recorded: "." and "" are skipped, ".." pops (popping past the root
 * escapes), and each component that is itself a recorded link is replaced
 * by its target. Lexical checks alone miss chains such as `r -> .` plus
 * `e -> r/..`; this does not.
 */
export function resolveWithin(linkPath: string, target: string, links: ReadonlyMap<string, string>): 'inside' | 'escapes' | 'loop' {
  const parent = parentOf(linkPath);
  const resolved: string[] = parent === ROOT_PATH ? [] : parent.split('/');
  const pending: string[] = target.split('/').reverse();
  let hops = 0;
  while (pending.length > 0) {
    const component = pending.pop()!;
    if (component === '' || component === '.') continue;
    if (component === '..') {
      if (resolved.length === 0) return 'escapes';
      resolved.pop();
      continue;
    }
    resolved.push(component);
    const next = links.get(resolved.join('/'));
    if (next === undefined) continue;
    if (++hops > MAX_SYMLINK_HOPS) return 'loop';
    if (next.startsWith('/')) return 'escapes';
    resolved.pop();
    const parts = next.split('/');
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
  }
  return 'inside';
}
