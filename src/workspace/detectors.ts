import type { RE2JS } from 're2js';
import { loadRegexEngine, type RegexEngine } from '../params/regex/linear-pattern.ts';
import { baseName } from './paths.ts';

/**
 * Credential detectors. They see a file's bytes in chunks (the same pass
 * that hashes it) and report what kind of secret sits where: kind, and a
 * line number when cheap to know. They never return the matched text.
 */
export const CredentialKind = {
  privateKey: 'private-key',
  dockerConfigAuths: 'docker-config-auths',
  awsAccessKey: 'aws-access-key',
  awsSecretKey: 'aws-secret-key',
  gcpServiceAccount: 'gcp-service-account-key',
  kubernetesToken: 'kubernetes-service-account-token',
  gitCredentials: 'git-credentials',
  netrcPassword: 'netrc-password',
} as const;
export type CredentialKind = (typeof CredentialKind)[keyof typeof CredentialKind];

export interface CredentialHit {
  kind: CredentialKind;
  /** 1-based line of the first hit, when the file is small enough to count lines. */
  line?: number;
}

/** Lines are counted only this far into a file; beyond it a hit has no line. */
const LINE_COUNT_LIMIT = 4 * 1024 * 1024;
/** Bytes kept from the previous chunk so a pattern split across chunks is still seen. */
const OVERLAP = 4096;
/** Text examined around an anchor: this much before it (look-behinds, a key's prefix)… */
const LOOK_BEHIND = 128;
/** …and this much from it on (the longest match a rule needs). */
const LOOK_AHEAD = 4096;

interface ContentRule {
  kind: CredentialKind;
  /** Cheap literal prefilter: the regex runs only near an anchor. */
  anchors: Buffer[];
  /**
   * RE2 syntax, run by re2js: file contents are the attacker's, and under V8's
   * backtracking engine a megabyte of "eyJ" took minutes (every start position
   * rescans the run). RE2 has no lookaround, so the rules that need a boundary
   * match it and report where the key itself starts (`at`).
   */
  pattern: string;
  /** The capture group where the credential starts, when the pattern matches a boundary before it. */
  at?: number;
  /** Extra check on the matched text (e.g. decode a JWT); the text never leaves. */
  confirm?: (match: string) => boolean;
  /** Only for files whose path satisfies this. */
  appliesTo?: (path: string) => boolean;
}

const isGitCredentialFile = (path: string) =>
  baseName(path) === '.git-credentials' || path === '.git/config' || path.endsWith('/.git/config');
const isNetrc = (path: string) => baseName(path) === '.netrc' || baseName(path) === '_netrc';

/** V8's \\s on latin1 text, written out: RE2's \\s leaves out \\v, U+0085 and U+00A0. */
const SPACE = '[\\t\\n\\v\\f\\r \\x{85}\\x{a0}]';

const CONTENT_RULES: ContentRule[] = [
  {
    kind: CredentialKind.privateKey,
    anchors: [Buffer.from('PRIVATE KEY-----')],
    pattern: '-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----',
  },
  {
    kind: CredentialKind.awsAccessKey,
    anchors: [Buffer.from('AKIA'), Buffer.from('ASIA')],
    pattern: '(?:^|[^A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{16})(?:[^A-Z0-9]|$)',
    at: 1,
  },
  {
    kind: CredentialKind.awsSecretKey,
    anchors: [Buffer.from('ecret_access_key'), Buffer.from('ECRET_ACCESS_KEY'), Buffer.from('ecretAccessKey')],
    pattern: `(?i:secret_?access_?key["']?${SPACE}*[:=]${SPACE}*["']?[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)`,
  },
  {
    kind: CredentialKind.gcpServiceAccount,
    anchors: [Buffer.from('service_account')],
    pattern: `"type"${SPACE}*:${SPACE}*"service_account"`,
  },
  {
    kind: CredentialKind.dockerConfigAuths,
    anchors: [Buffer.from('"auths"')],
    pattern: `"auths"${SPACE}*:${SPACE}*\\{${SPACE}*"`,
  },
  {
    kind: CredentialKind.kubernetesToken,
    anchors: [Buffer.from('eyJ')],
    pattern: 'eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]+',
    confirm: isKubernetesJwt,
  },
  {
    kind: CredentialKind.gitCredentials,
    anchors: [Buffer.from('://')],
    pattern: '(?i)[a-z][a-z0-9+.-]*://[^\\t\\n\\v\\f\\r \\x{85}\\x{a0}:@/]+:[^\\t\\n\\v\\f\\r \\x{85}\\x{a0}@/]+@',
    appliesTo: isGitCredentialFile,
  },
  {
    kind: CredentialKind.netrcPassword,
    anchors: [Buffer.from('password')],
    pattern: `(?:^|${SPACE})(password)${SPACE}+[^\\t\\n\\v\\f\\r \\x{85}\\x{a0}]`,
    at: 1,
    appliesTo: isNetrc,
  },
];

/** A JWT whose payload carries Kubernetes service account claims. */
function isKubernetesJwt(token: string): boolean {
  const payload = token.split('.')[1];
  if (!payload) return false;
  let text: string;
  try {
    text = Buffer.from(payload, 'base64url').toString('utf8');
  } catch {
    return false;
  }
  return text.includes('kubernetes.io') || text.includes('kubernetes/serviceaccount');
}

/** Credentials recognised by name alone (the file is non-empty). `name` is the path's last component. */
export function credentialKindByName(path: string, name = baseName(path)): CredentialKind | undefined {
  if (name === '.git-credentials') return CredentialKind.gitCredentials;
  if (name === 'token' && /(^|\/)serviceaccount\//.test(path)) return CredentialKind.kubernetesToken;
  return undefined;
}

/**
 * Scans one file's bytes, chunk by chunk. Regexes run only on a window
 * around a literal anchor, so clean data costs a few memchr-speed searches.
 * A chunk is never copied: anchors near its start are searched again in a
 * small seam (the previous chunk's last bytes plus this chunk's first), the
 * rest in the chunk itself. One scanner can be reused for the next file
 * with `reset`, so hashing many small files allocates nothing per file.
 */
export class CredentialScanner {
  private rules: ContentRule[] = [];
  private readonly hits = new Map<CredentialKind, CredentialHit>();
  private readonly tail = Buffer.allocUnsafe(OVERLAP);
  private tailLength = 0;
  private consumed = 0;
  private lines = 1;
  private countedTo = 0;

  /** `path` is workspace-relative; rules look only at its last two components. */
  constructor(path: string) {
    this.reset(path);
  }

  reset(path: string): void {
    this.rules = CONTENT_RULES.filter((rule) => !rule.appliesTo || rule.appliesTo(path));
    this.hits.clear();
    this.tailLength = 0;
    this.consumed = 0;
    this.lines = 1;
    this.countedTo = 0;
  }

  push(chunk: Buffer): void {
    if (this.rules.length === this.hits.size) return;
    const chunkOffset = this.consumed;
    if (this.tailLength === 0) {
      this.scan(chunk, chunkOffset, 0, chunk.length);
    } else {
      const seam = Buffer.concat([this.tail.subarray(0, this.tailLength), chunk.subarray(0, LOOK_BEHIND + LOOK_AHEAD)]);
      this.scan(seam, chunkOffset - this.tailLength, 0, this.tailLength + LOOK_BEHIND);
      this.scan(chunk, chunkOffset, LOOK_BEHIND, chunk.length);
    }
    this.consumed += chunk.length;
    this.keepTail(chunk);
    this.countLinesTo(chunk, chunkOffset, this.consumed);
  }

  results(): CredentialHit[] {
    return [...this.hits.values()].sort((a, b) => (a.kind < b.kind ? -1 : 1));
  }

  /** Looks for each rule's anchors starting in [from, to) of `bytes`, which begins at file offset `offset`. */
  private scan(bytes: Buffer, offset: number, from: number, to: number): void {
    for (const rule of this.rules) {
      if (this.hits.has(rule.kind)) continue;
      const at = findRule(rule, bytes, from, to);
      if (at === undefined) continue;
      const hit: CredentialHit = { kind: rule.kind };
      const absolute = offset + at;
      if (absolute < LINE_COUNT_LIMIT) hit.line = this.lineAt(bytes, offset, absolute);
      this.hits.set(rule.kind, hit);
    }
  }

  /** Keeps the last OVERLAP bytes of everything pushed so far. */
  private keepTail(chunk: Buffer): void {
    if (chunk.length >= OVERLAP) {
      chunk.copy(this.tail, 0, chunk.length - OVERLAP);
      this.tailLength = OVERLAP;
      return;
    }
    const keepOld = Math.min(this.tailLength, OVERLAP - chunk.length);
    this.tail.copyWithin(0, this.tailLength - keepOld, this.tailLength);
    chunk.copy(this.tail, keepOld);
    this.tailLength = keepOld + chunk.length;
  }

  /** Advances the newline count to `upTo` (file offset) within the first LINE_COUNT_LIMIT bytes. */
  private countLinesTo(window: Buffer, windowOffset: number, upTo: number): void {
    const limit = Math.min(upTo, LINE_COUNT_LIMIT);
    while (this.countedTo < limit) {
      const index = window.indexOf(10, this.countedTo - windowOffset);
      if (index === -1 || windowOffset + index >= limit) {
        this.countedTo = limit;
        break;
      }
      this.lines++;
      this.countedTo = windowOffset + index + 1;
    }
  }

  private lineAt(window: Buffer, windowOffset: number, absolute: number): number {
    if (absolute < this.countedTo) {
      // The hit starts in the overlap kept from the previous chunk: count back.
      let line = this.lines;
      for (let i = absolute - windowOffset; i < this.countedTo - windowOffset; i++) if (window[i] === 10) line--;
      return line;
    }
    let line = this.lines;
    let position = this.countedTo;
    while (position < absolute) {
      const index = window.indexOf(10, position - windowOffset);
      if (index === -1 || windowOffset + index >= absolute) break;
      line++;
      position = windowOffset + index + 1;
    }
    return line;
  }
}

/** The rules compiled for re2js, once per thread (loadDetectors). */
let compiled: Map<ContentRule, RE2JS> | undefined;

/**
 * Loads the RE2 engine and compiles the rules. Every thread that scans
 * (the main thread and each hashing worker) awaits it before its first file:
 * scanning itself is synchronous, in the hashing pass.
 */
export async function loadDetectors(): Promise<void> {
  if (compiled !== undefined) return;
  const re2: RegexEngine = await loadRegexEngine();
  compiled = new Map(CONTENT_RULES.map((rule) => [rule, re2.RE2JS.compile(rule.pattern)]));
}

function program(rule: ContentRule): RE2JS {
  const found = compiled?.get(rule);
  if (found === undefined) throw new Error('credential detectors used before loadDetectors()');
  return found;
}

/**
 * The first confirmed match of `rule` near an anchor starting in [from, to).
 * The windows around the anchors ([anchor - LOOK_BEHIND, anchor + LOOK_AHEAD))
 * are merged where they overlap and each merged region is searched once, so
 * a file made of anchors costs one linear pass, not one pass per anchor.
 */
function findRule(rule: ContentRule, bytes: Buffer, from: number, to: number): number | undefined {
  const anchors: number[] = [];
  for (const anchor of rule.anchors) {
    for (let index = bytes.indexOf(anchor, from); index !== -1 && index < to; index = bytes.indexOf(anchor, index + 1)) anchors.push(index);
  }
  if (anchors.length === 0) return undefined;
  anchors.sort((a, b) => a - b);
  const re2 = program(rule);
  let i = 0;
  while (i < anchors.length) {
    const start = Math.max(0, anchors[i]! - LOOK_BEHIND);
    let end = Math.min(bytes.length, anchors[i]! + LOOK_AHEAD);
    while (i + 1 < anchors.length && anchors[i + 1]! - LOOK_BEHIND <= end) end = Math.min(bytes.length, anchors[++i]! + LOOK_AHEAD);
    i++;
    // latin1: one character per byte, so offsets in the text are offsets in the bytes.
    const matcher = re2.matcher(bytes.toString('latin1', start, end));
    while (matcher.find()) {
      const group = rule.at ?? 0;
      if (!rule.confirm || rule.confirm(matcher.group(group)!)) return start + matcher.start(group);
    }
  }
  return undefined;
}
