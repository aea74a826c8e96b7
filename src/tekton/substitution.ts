/**
 * The `$(...)` variable grammar Tekton substitutes into Task and Pipeline
 * fields before a pod starts. Substitution is plain text replacement, so
 * finding every occurrence reliably matters: a reference we miss is a
 * reference nobody checks.
 *
 * Grammar (what Tekton's replacer keys look like):
 *   substitution := "$(" root accessor* ")"
 *   root         := params | results | workspaces | context | tasks | finally
 *                 | steps | step | credentials | inputs | outputs | resources
 *   accessor     := "." name                  e.g. params.x, results.x.path
 *                 | "[" quote text quote "]"  e.g. params['x.y'], params["x"]
 *                 | "[" digits "]"            e.g. params.x[0]
 *                 | "[*]"                     e.g. params.x[*]
 *
 * Anything else after "$(" (e.g. shell's `$(cat f)`) is not a Tekton
 * substitution. Nested forms are found from the inside: in
 * `$(cat $(params.f))` the shell substitution is skipped and the inner
 * Tekton one is reported.
 *
 * `$$(...)` is Kubernetes' escape for its own `$(ENV_VAR)` expansion in
 * command/args, not a Tekton escape: Tekton still replaces the inner
 * `$(params.x)`. Such occurrences are reported with
 * `kubernetesEscaped: true`, never skipped, because skipping them would let
 * a substitution hide behind one extra `$`.
 */

export const SUBSTITUTION_ROOTS = [
  'params',
  'results',
  'workspaces',
  'context',
  'tasks',
  'finally',
  'steps',
  'step',
  'credentials',
  'inputs',
  'outputs',
  'resources',
] as const;

export type SubstitutionRoot = (typeof SUBSTITUTION_ROOTS)[number];

/** One accessor after the root: a name (dotted or bracketed) or an index. */
export type Accessor =
  | { kind: 'name'; value: string; bracketed: boolean }
  | { kind: 'index'; value: number }
  | { kind: 'all' };

export interface Substitution {
  /** The exact text, e.g. `$(params['x'][*])`. */
  raw: string;
  /** The text between `$(` and `)`. */
  expression: string;
  /** Offset of `$` in the searched text, and just past `)`. */
  start: number;
  end: number;
  root: SubstitutionRoot;
  accessors: Accessor[];
  kubernetesEscaped: boolean;
}

const ROOT_SET: ReadonlySet<string> = new Set(SUBSTITUTION_ROOTS);

/**
 * Characters Tekton allows in a dotted name segment. Dots separate segments,
 * so a param whose name holds a dot can only be reached with brackets.
 */
const DOTTED_NAME_CHAR = /[A-Za-z0-9_-]/;
const ROOT_CHAR = /[A-Za-z]/;

/** Parses the expression that starts right after `$(` at `from`; undefined if it is not one. */
function parseAt(text: string, from: number): { root: SubstitutionRoot; accessors: Accessor[]; close: number } | undefined {
  let i = from;
  while (i < text.length && ROOT_CHAR.test(text[i]!)) i++;
  const root = text.slice(from, i);
  if (!ROOT_SET.has(root)) return undefined;
  const accessors: Accessor[] = [];
  while (i < text.length) {
    const ch = text[i];
    if (ch === ')') {
      // `$(credentials.path)` and friends need at least one accessor; a bare
      // root such as `$(params)` is never substituted by Tekton.
      if (accessors.length === 0) return undefined;
      return { root: root as SubstitutionRoot, accessors, close: i };
    }
    if (ch === '.') {
      let j = i + 1;
      while (j < text.length && DOTTED_NAME_CHAR.test(text[j]!)) j++;
      if (j === i + 1) return undefined;
      accessors.push({ kind: 'name', value: text.slice(i + 1, j), bracketed: false });
      i = j;
      continue;
    }
    if (ch === '[') {
      const next = text[i + 1];
      if (next === "'" || next === '"') {
        const closeQuote = text.indexOf(next, i + 2);
        if (closeQuote < 0 || text[closeQuote + 1] !== ']') return undefined;
        const value = text.slice(i + 2, closeQuote);
        // A bracketed name cannot span a `)` or a line: Tekton's patterns stop there too.
        if (value.length === 0 || /[()\n]/.test(value)) return undefined;
        accessors.push({ kind: 'name', value, bracketed: true });
        i = closeQuote + 2;
        continue;
      }
      if (next === '*' && text[i + 2] === ']') {
        accessors.push({ kind: 'all' });
        i += 3;
        continue;
      }
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j]!)) j++;
      if (j === i + 1 || text[j] !== ']') return undefined;
      accessors.push({ kind: 'index', value: Number(text.slice(i + 1, j)) });
      i = j + 1;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** Every Tekton substitution in `text`, in order of appearance. */
export function findSubstitutions(text: string): Substitution[] {
  const found: Substitution[] = [];
  let at = text.indexOf('$(');
  while (at >= 0) {
    const parsed = parseAt(text, at + 2);
    if (parsed) {
      const end = parsed.close + 1;
      found.push({
        raw: text.slice(at, end),
        expression: text.slice(at + 2, parsed.close),
        start: at,
        end,
        root: parsed.root,
        accessors: parsed.accessors,
        kubernetesEscaped: at > 0 && text[at - 1] === '$',
      });
      at = text.indexOf('$(', end);
    } else {
      // Not Tekton's (e.g. a shell `$(cmd ...)`): look inside it for nested ones.
      at = text.indexOf('$(', at + 2);
    }
  }
  return found;
}

/** True when Tekton would substitute something in `text`. */
export function containsSubstitution(text: string): boolean {
  return findSubstitutions(text).length > 0;
}

/** True for any `$(`, Tekton's or the shell's: the strict rule for our own scripts. */
export function containsDollarParen(text: string): boolean {
  return text.includes('$(');
}

/**
 * What a substitution refers to, in terms the reference checks use.
 * Unknown shapes under a known root come back as `other`, so a caller can
 * report them instead of silently accepting them.
 */
export type Reference =
  | { kind: 'param'; name: string; selector: 'none' | 'all' | 'index' | 'key' }
  | { kind: 'result'; name: string }
  | { kind: 'workspace'; name: string; property: string }
  | { kind: 'task-result'; task: string; result: string; selector: 'none' | 'all' | 'index' | 'key' }
  | { kind: 'task-status'; task: string; property: 'status' | 'reason' }
  | { kind: 'aggregate-status' }
  | { kind: 'step-exit-code'; step: string }
  | { kind: 'step-result'; step: string; result: string }
  | { kind: 'own-step-result'; name: string }
  | { kind: 'context'; path: string }
  | { kind: 'credentials' }
  | { kind: 'legacy'; root: 'inputs' | 'outputs' | 'resources' }
  | { kind: 'other' };

const WORKSPACE_PROPERTIES = new Set(['path', 'bound', 'claim', 'volume']);

function nameAt(accessors: Accessor[], index: number): string | undefined {
  const accessor = accessors[index];
  return accessor?.kind === 'name' ? accessor.value : undefined;
}

function selectorOf(accessors: Accessor[]): 'none' | 'all' | 'index' | 'key' | undefined {
  if (accessors.length === 0) return 'none';
  if (accessors.length > 1) return undefined;
  const only = accessors[0]!;
  if (only.kind === 'all') return 'all';
  if (only.kind === 'index') return 'index';
  return only.bracketed ? undefined : 'key';
}

/** Classifies a substitution. */
export function classify(substitution: Substitution): Reference {
  const a = substitution.accessors;
  switch (substitution.root) {
    case 'params': {
      const name = nameAt(a, 0);
      const selector = selectorOf(a.slice(1));
      return name !== undefined && selector ? { kind: 'param', name, selector } : { kind: 'other' };
    }
    case 'results': {
      const name = nameAt(a, 0);
      return name !== undefined && a.length === 2 && nameAt(a, 1) === 'path' ? { kind: 'result', name } : { kind: 'other' };
    }
    case 'workspaces': {
      const name = nameAt(a, 0);
      const property = nameAt(a, 1);
      return name !== undefined && property !== undefined && a.length === 2 && WORKSPACE_PROPERTIES.has(property)
        ? { kind: 'workspace', name, property }
        : { kind: 'other' };
    }
    case 'tasks': {
      if (a.length === 1 && nameAt(a, 0) === 'status') return { kind: 'aggregate-status' };
      const task = nameAt(a, 0);
      if (task === undefined) return { kind: 'other' };
      const second = nameAt(a, 1);
      if ((second === 'status' || second === 'reason') && a.length === 2) return { kind: 'task-status', task, property: second };
      const result = nameAt(a, 2);
      const selector = selectorOf(a.slice(3));
      if (second === 'results' && result !== undefined && selector) return { kind: 'task-result', task, result, selector };
      return { kind: 'other' };
    }
    case 'steps': {
      const step = nameAt(a, 0);
      if (step === undefined) return { kind: 'other' };
      if (a.length === 3 && nameAt(a, 1) === 'exitCode' && nameAt(a, 2) === 'path') return { kind: 'step-exit-code', step };
      const result = nameAt(a, 2);
      if (nameAt(a, 1) === 'results' && result !== undefined && selectorOf(a.slice(3))) return { kind: 'step-result', step, result };
      return { kind: 'other' };
    }
    case 'step': {
      const name = nameAt(a, 1);
      return nameAt(a, 0) === 'results' && name !== undefined && a.length === 3 && nameAt(a, 2) === 'path'
        ? { kind: 'own-step-result', name }
        : { kind: 'other' };
    }
    case 'context':
      return { kind: 'context', path: a.map((x) => (x.kind === 'name' ? x.value : '?')).join('.') };
    case 'credentials':
      return a.length === 1 && nameAt(a, 0) === 'path' ? { kind: 'credentials' } : { kind: 'other' };
    case 'inputs':
    case 'outputs':
    case 'resources':
      return { kind: 'legacy', root: substitution.root };
    case 'finally':
      return { kind: 'other' };
  }
}
