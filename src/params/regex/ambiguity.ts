import { CatalogError } from '../../errors.ts';
import { type CharSet, intersection, isEmpty, overlaps } from './char-set.ts';
import type { RegexNode } from './parse.ts';

/**
 * Decides whether a backtracking engine can take super-linear time on a
 * pattern, by looking for the two shapes that cause it (Weber and Seidl's
 * ambiguity criteria) in the pattern's position automaton:
 *
 *  - exponential: some position can loop back to itself along two different
 *    paths reading the same text, as in (a+)+, (a|a)*, (a*b*)*;
 *  - polynomial: two different looping positions p and q such that one text
 *    loops on p, leads from p to q, and loops on q, as in \d+\d+ or .*x.*y.
 *
 * The automaton keeps parallel edges (Glushkov's construction with
 * multiplicities), because a backtracker tries each one: (a*)* has one
 * position but two ways to loop on it. Counted repetition {n,m} with m > 1 is
 * analysed as a loop, and zero-width assertions as nothing; both only add
 * paths, so the verdict errs on the side of rejecting.
 */
export interface AmbiguityVerdict {
  safe: boolean;
  reason?: string;
}

/** Work budget for the product searches; a pattern that needs more is refused, not trusted. */
const MAX_POSITIONS = 512;
const MAX_STEPS = 2_000_000;

interface Fragment {
  nullable: boolean;
  first: number[];
  last: number[];
}

class PositionAutomaton {
  readonly sets: CharSet[] = [];
  /** edges[p] lists successors of p, with repeats for parallel edges. */
  readonly edges: number[][] = [];
  readonly first: number[];

  constructor(root: RegexNode) {
    this.first = this.build(root).first;
  }

  private position(set: CharSet): number {
    if (this.sets.length >= MAX_POSITIONS) {
      throw new CatalogError('CONFIG_RULE_REGEX_TOO_COMPLEX', `the pattern has more than ${MAX_POSITIONS} character positions`, {
        hint: 'split it into simpler rules or use a shorter pattern',
      });
    }
    this.sets.push(set);
    this.edges.push([]);
    return this.sets.length - 1;
  }

  private link(from: number[], to: number[]): void {
    for (const p of from) for (const q of to) this.edges[p]!.push(q);
  }

  private build(node: RegexNode): Fragment {
    switch (node.kind) {
      case 'empty':
        return { nullable: true, first: [], last: [] };
      case 'char': {
        const p = this.position(node.set);
        return { nullable: false, first: [p], last: [p] };
      }
      case 'alt': {
        const parts = node.options.map((option) => this.build(option));
        return {
          nullable: parts.some((part) => part.nullable),
          first: parts.flatMap((part) => part.first),
          last: parts.flatMap((part) => part.last),
        };
      }
      case 'seq': {
        let acc: Fragment = { nullable: true, first: [], last: [] };
        for (const item of node.items) {
          const next = this.build(item);
          this.link(acc.last, next.first);
          acc = {
            nullable: acc.nullable && next.nullable,
            first: acc.nullable ? [...acc.first, ...next.first] : acc.first,
            last: next.nullable ? [...acc.last, ...next.last] : next.last,
          };
        }
        return acc;
      }
      case 'repeat': {
        if (node.max === 0) return { nullable: true, first: [], last: [] };
        const body = this.build(node.body);
        if (node.max > 1) this.link(body.last, body.first);
        return { nullable: node.min === 0 || body.nullable, first: body.first, last: body.last };
      }
    }
  }
}

export function analyseAmbiguity(root: RegexNode): AmbiguityVerdict {
  const automaton = new PositionAutomaton(root);
  const { edges, sets } = automaton;
  const n = sets.length;
  const component = stronglyConnected(n, (p) => edges[p]!);
  const cyclic = new Array<boolean>(n).fill(false);
  for (let p = 0; p < n; p++) {
    for (const q of edges[p]!) if (component[q] === component[p]) cyclic[p] = true;
  }
  const budget = { steps: 0 };

  // Exponential, case 1: a parallel edge inside a loop.
  for (let p = 0; p < n; p++) {
    const seen = new Set<number>();
    for (const q of edges[p]!) {
      if (component[q] !== component[p]) continue;
      if (seen.has(q)) return { safe: false, reason: 'a repetition can match the same text in more than one way (exponential backtracking), e.g. (a*)* or (a+)+' };
      seen.add(q);
    }
  }

  // Exponential, case 2: two different paths from a position back to itself on one text.
  if (hasTwoLoopsOnOneText(n, edges, sets, component, budget)) {
    return { safe: false, reason: 'a repetition can match the same text in more than one way (exponential backtracking), e.g. (a|a)* or (a|ab)*' };
  }

  // Polynomial: p loops, p leads to q, q loops, all on the same text.
  if (hasChainedLoops(n, edges, sets, component, cyclic, budget)) {
    return { safe: false, reason: 'two repetitions can split the same text between them (polynomial backtracking), e.g. \\d+\\d+ or .*x.*' };
  }
  return { safe: true };
}

function hasTwoLoopsOnOneText(
  n: number,
  edges: number[][],
  sets: CharSet[],
  component: number[],
  budget: { steps: number },
): boolean {
  // Pairs of positions in the same component, stepping on a shared character.
  const pairId = (a: number, b: number) => a * n + b;
  const successors = (id: number): number[] => {
    const a = Math.floor(id / n);
    const b = id % n;
    const out: number[] = [];
    for (const a2 of edges[a]!) {
      if (component[a2] !== component[a]) continue;
      for (const b2 of edges[b]!) {
        spend(budget);
        if (component[b2] !== component[b] || !overlaps(sets[a2]!, sets[b2]!)) continue;
        out.push(pairId(a2, b2));
      }
    }
    return out;
  };
  // Explore from every diagonal pair; a non-diagonal pair in the same pair
  // component as a diagonal one means two distinct loops on one text.
  const nodes = new Set<number>();
  const stack: number[] = [];
  for (let p = 0; p < n; p++) stack.push(pairId(p, p));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (nodes.has(id)) continue;
    nodes.add(id);
    for (const next of successors(id)) if (!nodes.has(next)) stack.push(next);
  }
  const list = [...nodes];
  const index = new Map(list.map((id, i) => [id, i]));
  const adjacency = list.map((id) => successors(id).map((next) => index.get(next)!));
  const pairComponent = stronglyConnected(list.length, (i) => adjacency[i]!);
  const diagonalComponents = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const id = list[i]!;
    if (Math.floor(id / n) === id % n) diagonalComponents.add(pairComponent[i]!);
  }
  for (let i = 0; i < list.length; i++) {
    const id = list[i]!;
    if (Math.floor(id / n) !== id % n && diagonalComponents.has(pairComponent[i]!)) return true;
  }
  return false;
}

function hasChainedLoops(
  n: number,
  edges: number[][],
  sets: CharSet[],
  component: number[],
  cyclic: boolean[],
  budget: { steps: number },
): boolean {
  const reach = reachability(n, edges);
  for (let p = 0; p < n; p++) {
    if (!cyclic[p]) continue;
    for (let q = 0; q < n; q++) {
      if (q === p || !cyclic[q] || !reach[p]![q]) continue;
      if (tripleReaches(p, q, n, edges, sets, component, reach, budget)) return true;
    }
  }
  return false;
}

/** Is (p, q, q) reachable from (p, p, q), moving all three on one shared character? */
function tripleReaches(
  p: number,
  q: number,
  n: number,
  edges: number[][],
  sets: CharSet[],
  component: number[],
  reach: boolean[][],
  budget: { steps: number },
): boolean {
  const key = (x: number, y: number, z: number) => (x * n + y) * n + z;
  const target = key(p, q, q);
  const seen = new Set<number>();
  const stack: [number, number, number][] = [[p, p, q]];
  while (stack.length > 0) {
    const [x, y, z] = stack.pop()!;
    for (const x2 of edges[x]!) {
      if (component[x2] !== component[p]) continue;
      for (const y2 of edges[y]!) {
        if (y2 !== q && !reach[y2]![q]) continue;
        const xy = intersection(sets[x2]!, sets[y2]!);
        if (isEmpty(xy)) continue;
        for (const z2 of edges[z]!) {
          spend(budget);
          if (component[z2] !== component[q] || !overlaps(xy, sets[z2]!)) continue;
          const id = key(x2, y2, z2);
          if (id === target) return true;
          if (seen.has(id)) continue;
          seen.add(id);
          stack.push([x2, y2, z2]);
        }
      }
    }
  }
  return false;
}

function spend(budget: { steps: number }): void {
  if (++budget.steps > MAX_STEPS) {
    throw new CatalogError('CONFIG_RULE_REGEX_TOO_COMPLEX', 'the pattern is too complex to prove free of catastrophic backtracking', {
      hint: 'use a simpler pattern, fewer alternatives inside repetitions, or another param type',
    });
  }
}

/** reach[a][b]: b can be reached from a in one or more steps. */
function reachability(n: number, edges: number[][]): boolean[][] {
  return Array.from({ length: n }, (_, start) => {
    const seen = new Array<boolean>(n).fill(false);
    const stack = [...edges[start]!];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seen[v]) continue;
      seen[v] = true;
      stack.push(...edges[v]!);
    }
    return seen;
  });
}

/** Tarjan's algorithm, iterative (patterns are attacker-sized, recursion depth is not). */
function stronglyConnected(n: number, successors: (v: number) => readonly number[]): number[] {
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const component = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work.at(-1)!;
      const [v, i] = frame;
      const next = successors(v);
      if (i < next.length) {
        frame[1]++;
        const w = next[i]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component[w] = components;
        } while (w !== v);
        components++;
      }
    }
  }
  return component;
}
