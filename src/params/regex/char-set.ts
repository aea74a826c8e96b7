/**
 * Sets of code points as sorted, disjoint, inclusive ranges. The regex
 * analysis only asks "can these two matchers accept the same character?",
 * so a set may be an over-approximation: `exact: false` marks one (Unicode
 * property escapes are taken as "any character"), and the complement of an
 * inexact set is "any character" too, never an under-approximation.
 */
export type Range = readonly [number, number];

export interface CharSet {
  readonly ranges: readonly Range[];
  readonly exact: boolean;
}

export const MAX_CODE_POINT = 0x10ffff;

export function fromRanges(ranges: readonly Range[], exact = true): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return { ranges: merged, exact };
}

export function single(codePoint: number): CharSet {
  return fromRanges([[codePoint, codePoint]]);
}

export const ANY: CharSet = { ranges: [[0, MAX_CODE_POINT]], exact: false };

export function union(sets: readonly CharSet[]): CharSet {
  return fromRanges(
    sets.flatMap((s) => s.ranges),
    sets.every((s) => s.exact),
  );
}

export function complement(set: CharSet): CharSet {
  if (!set.exact) return ANY;
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of set.ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return { ranges: out, exact: true };
}

export function intersection(a: CharSet, b: CharSet): CharSet {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.ranges.length && j < b.ranges.length) {
    const [alo, ahi] = a.ranges[i]!;
    const [blo, bhi] = b.ranges[j]!;
    const lo = Math.max(alo, blo);
    const hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
    if (ahi < bhi) i++;
    else j++;
  }
  return { ranges: out, exact: a.exact && b.exact };
}

export function isEmpty(set: CharSet): boolean {
  return set.ranges.length === 0;
}

export function overlaps(a: CharSet, b: CharSet): boolean {
  return !isEmpty(intersection(a, b));
}

const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// ECMAScript WhiteSpace and LineTerminator.
const SPACE: Range[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];

/** \d \D \w \W \s \S as sets (the `u` flag without `i`, so \w is ASCII only). */
export function classEscape(letter: string): CharSet {
  switch (letter) {
    case 'd': return fromRanges(DIGIT);
    case 'D': return complement(fromRanges(DIGIT));
    case 'w': return fromRanges(WORD);
    case 'W': return complement(fromRanges(WORD));
    case 's': return fromRanges(SPACE);
    case 'S': return complement(fromRanges(SPACE));
    default: throw new Error(`not a class escape: \\${letter}`);
  }
}

/** `.` with the `u` flag and without `s`: any code point but line terminators. */
export const DOT: CharSet = complement(fromRanges([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]));
