import { ROOT_PATH, compareNames, joinRelative } from './paths.ts';

/**
 * The walk and the manifest list a tree in preorder: the root (depth 0,
 * name "."), then each folder's children sorted by name, every folder
 * directly followed by its subtree. An entry is then fully described by its
 * depth and its own name; its path is the names on the way down. Nothing
 * below ever needs to build, compare or store a full path, so a chain of
 * 20,000 nested folders costs the same per entry as a flat folder.
 */

/** Why an entry cannot follow the previous one in preorder, or undefined when it can. */
export class PreorderValidator {
  /** names[i] is the latest entry seen at depth i + 1. */
  private readonly names: string[] = [];
  private lastDepth = -1;
  private lastWasDir = false;

  check(depth: number, name: string, isDir: boolean): string | undefined {
    if (!Number.isSafeInteger(depth) || depth < 0) return 'has an invalid depth';
    if (this.lastDepth === -1) {
      if (depth !== 0 || name !== ROOT_PATH || !isDir) return 'does not start with the root folder';
    } else {
      if (depth === 0) return 'repeats the root folder';
      if (depth > this.lastDepth + 1) return 'skips a level';
      if (depth === this.lastDepth + 1 && !this.lastWasDir) return 'puts a child under something that is not a folder';
      if (depth <= this.lastDepth && compareNames(this.names[depth - 1]!, name) >= 0) return 'is out of order or repeats a name';
    }
    if (depth > 0) {
      this.names.length = depth - 1;
      this.names.push(name);
    }
    this.lastDepth = depth;
    this.lastWasDir = isDir;
    return undefined;
  }
}

/**
 * Rebuilds paths from (depth, name) pairs in preorder. Each path is its
 * parent's plus one name: V8 keeps that as a rope, so a deep path costs
 * O(1) until something reads its characters (a finding, a glob).
 */
export class PreorderPaths {
  private readonly paths: string[] = [];

  /** The entry's path; the caller has validated the order. */
  next(depth: number, name: string): string {
    if (depth === 0) {
      this.paths.length = 0;
      this.paths.push(ROOT_PATH);
      return ROOT_PATH;
    }
    const path = joinRelative(this.paths[depth - 1]!, name);
    this.paths.length = depth;
    this.paths.push(path);
    return path;
  }
}

/**
 * Compares the positions of two preorder streams (the sealed manifest and
 * the live walk) in the shared total order, for a sorted merge. It keeps
 * each stream's names from the root down and the length of their common
 * prefix; moving a stream keeps every name above the new entry, so each
 * comparison is O(1) amortised, however deep the entries are.
 */
export class PreorderMerge {
  private readonly left: string[] = [];
  private readonly right: string[] = [];
  /** Leading names known equal in both stacks. */
  private common = 0;

  setLeft(depth: number, name: string): void {
    place(this.left, depth, name);
    this.common = Math.min(this.common, Math.max(0, depth - 1));
  }

  setRight(depth: number, name: string): void {
    place(this.right, depth, name);
    this.common = Math.min(this.common, Math.max(0, depth - 1));
  }

  /** Negative when the left entry comes first, 0 for the same path, positive otherwise. */
  compare(): number {
    const left = this.left;
    const right = this.right;
    const shorter = Math.min(left.length, right.length);
    while (this.common < shorter && left[this.common] === right[this.common]) this.common++;
    // A folder comes before everything below it.
    if (this.common === shorter) return left.length - right.length;
    return compareNames(left[this.common]!, right[this.common]!);
  }
}

function place(stack: string[], depth: number, name: string): void {
  if (depth === 0) {
    stack.length = 0;
    return;
  }
  if (depth - 1 > stack.length) throw new Error(`preorder stream skipped from depth ${stack.length} to ${depth}`);
  stack.length = depth - 1;
  stack.push(name);
}
