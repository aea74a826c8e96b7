import { Rule, type FindingList } from './findings.ts';
import { DEFAULT_MANIFEST_NAME, MARKER_NAME, MAX_MARKER_BYTES, RESERVED_DIR } from './marker.ts';
import type { WalkEntry } from './walker.ts';

/**
 * The reserved folder `.tekton-workspace-guard/` holds exactly what the guard
 * writes there: the run marker, plus the manifest when no manifest
 * workspace is bound. Its entries are never sealed or compared (seal
 * rewrites them), so nothing else may live there: a planted file, folder or
 * link, or a marker or manifest of the wrong type, mode, size or link count,
 * is a violation in every mode. The modes allowed are those the guard writes
 * (0644 files, a 0755 folder) plus what Kubernetes adds for an fsGroup
 * (group write, and setgid on the folder).
 */
const FILE_MODE_BITS = 0o664;
const FOLDER_MODE_BITS = 0o2775;
const HINT = 'only workspace-guard writes .tekton-workspace-guard/; start from a fresh workspace or delete that folder before the trusted task that fills it';

export interface ReservedFolderOptions {
  /** True when the manifest lives in the reserved folder (no manifest workspace bound). */
  manifestInside: boolean;
}

export class ReservedFolder {
  private readonly findings: FindingList;
  private readonly options: ReservedFolderOptions;
  private inside = false;

  constructor(findings: FindingList, options: ReservedFolderOptions) {
    this.findings = findings;
    this.options = options;
  }

  /**
   * Checks one entry of the walk, in walk order. Returns true for the
   * reserved folder and everything under it: in preorder its subtree runs
   * until the next top-level entry, so depth and name suffice.
   */
  inspect(entry: WalkEntry): boolean {
    if (entry.depth <= 1) {
      this.inside = entry.depth === 1 && entry.name === RESERVED_DIR;
      if (this.inside && entry.type !== 'dir') this.add(entry, `is a ${entry.type}, not a folder`);
      else if (this.inside && entry.mode & ~FOLDER_MODE_BITS) this.add(entry, `has mode ${entry.mode.toString(8)}; at most ${FOLDER_MODE_BITS.toString(8)} is allowed`);
      return this.inside;
    }
    if (!this.inside) return false;
    if (entry.depth > 2) {
      this.add(entry, `is not something workspace-guard writes (${HINT})`);
      return true;
    }
    if (entry.name === MARKER_NAME) {
      this.checkFile(entry, 'the run marker', MAX_MARKER_BYTES);
    } else if (entry.name === DEFAULT_MANIFEST_NAME) {
      if (this.options.manifestInside) this.checkFile(entry, 'the manifest', Number.MAX_SAFE_INTEGER);
      else this.add(entry, 'is a manifest, but the manifest workspace is bound: the manifest is kept there, and this one vouches for nothing');
    } else {
      this.add(entry, `is not something workspace-guard writes (${HINT})`);
    }
    return true;
  }

  private checkFile(entry: WalkEntry, what: string, maxBytes: number): void {
    if (entry.type !== 'file') this.add(entry, `${what} is a ${entry.type}, not a regular file`);
    else if (entry.mode & ~FILE_MODE_BITS) this.add(entry, `${what} has mode ${entry.mode.toString(8)}; at most ${FILE_MODE_BITS.toString(8)} is allowed`);
    else if (entry.nlink !== 1) this.add(entry, `${what} has ${entry.nlink} hard links; it must have one`);
    else if (entry.size < 1 || entry.size > maxBytes) this.add(entry, `${what} is ${entry.size} bytes long`);
  }

  private add(entry: WalkEntry, detail: string): void {
    this.findings.add({ rule: Rule.reservedFolder, path: entry.path, detail });
  }
}
