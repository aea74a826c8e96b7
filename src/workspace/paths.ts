/**
 * Workspace-relative paths as the guard records them: components joined by
 * "/", the workspace root itself is ".". Names are arbitrary bytes on Linux;
 * the guard decodes them as UTF-8 and reports any name that does not
 * round-trip, so a lossy display can never pass a check.
 */
export const ROOT_PATH = '.';

export function joinRelative(parent: string, name: string): string {
  return parent === ROOT_PATH ? name : `${parent}/${name}`;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? ROOT_PATH : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The manifest's total order: component by component, each component by
 * Unicode code point (= UTF-8 byte order), a parent before its children.
 * Treating "/" as lower than every other character gives exactly that, so
 * a walk that visits each folder's sorted names depth-first emits paths in
 * this order and verify can merge two sorted streams.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === ROOT_PATH) return -1;
  if (b === ROOT_PATH) return 1;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return rank(ca) - rank(cb);
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return 0;
}

function rank(codePoint: number): number {
  return codePoint === 0x2f ? -1 : codePoint;
}

/**
 * Compares single names (no "/") in code point order, which for valid UTF-8
 * is the byte order the walker sorts raw names in. UTF-16 units already
 * sort in code point order except surrogates (code points above U+FFFF)
 * against U+E000..U+FFFF, so only the first differing unit is re-ranked.
 */
export function compareNames(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}

function unitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/**
 * Characters that let a name forge or hide output: C0 and C1 controls, DEL,
 * and the Unicode bidi controls that reorder what a reviewer sees.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export function hasControlCharacter(name: string): boolean {
  return CONTROL.test(name);
}

/** Decodes a raw name; `exact` is false when the bytes are not valid UTF-8. */
export function decodeName(raw: Buffer): { name: string; exact: boolean } {
  const name = raw.toString('utf8');
  // Invalid bytes decode to U+FFFD; without one the decoding is exact (the
  // common case, checked without re-encoding). A real U+FFFD in the name
  // takes the full round trip.
  if (!name.includes('\uFFFD')) return { name, exact: true };
  return { name, exact: Buffer.byteLength(name, 'utf8') === raw.length && Buffer.from(name, 'utf8').equals(raw) };
}
