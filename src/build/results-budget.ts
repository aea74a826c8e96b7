import { CatalogError } from '../errors.ts';
import { MAX_RESULT_BYTES } from '../step/results.ts';
import { podContainerCount, terminationMessageLimit, worstCaseMessageBytes } from '../tekton/termination-message.ts';
import type { ResultBound, TaskDefinition } from './definition.ts';

/** "sha256:" and 64 hex digits. */
export const DIGEST_BYTES = 71;

/** registry/repository@sha256:<64 hex>: a name of at most 255 characters (distribution's limit), docker.io/library/ added for Docker Hub, and the digest. */
export const PINNED_REFERENCE_MAX_BYTES = 255 + 'docker.io/library/'.length + 1 + DIGEST_BYTES;

/** What a result without a declared bound may take: the step programs' limit when no bounds are given. */
export const DEFAULT_RESULT_BOUND_BYTES = MAX_RESULT_BYTES;

/**
 * The most bytes a result can take in the termination message (JSON-escaped),
 * from its declared bound; undefined for a bound of 'rest', which only the
 * whole Task's budget decides.
 */
export function resultMaxBytes(bound: ResultBound | undefined): number | undefined {
  if (bound === undefined) return DEFAULT_RESULT_BOUND_BYTES;
  switch (bound.kind) {
    case 'digest':
      return DIGEST_BYTES;
    case 'boolean':
      return 'false'.length;
    case 'enum':
      return Math.max(...bound.values.map((value) => value.length));
    case 'count':
      return String(bound.max).length;
    case 'json':
    case 'text':
      return bound.maxBytes === 'rest' ? undefined : bound.maxBytes;
  }
}

/** How the README and error messages describe a bound. */
export function describeBound(bound: ResultBound | undefined): string {
  if (bound === undefined) return `no bound declared: at most ${DEFAULT_RESULT_BOUND_BYTES} bytes`;
  switch (bound.kind) {
    case 'digest':
      return bound.orEmpty ? 'a sha256 digest, or empty' : 'a sha256 digest';
    case 'boolean':
      return '"true" or "false"';
    case 'enum':
      return `one of ${bound.values.map((value) => `"${value}"`).join(', ')}`;
    case 'count':
      return `a count up to ${bound.max}`;
    case 'json':
    case 'text':
      return bound.maxBytes === 'rest' ? `${bound.why}; takes what the other results leave of the budget (shared with any other such result)` : bound.why;
  }
}

export interface ResultsBudget {
  /** What Tekton and the kubelet let one step's termination message hold in this Task's pod. */
  limit: number;
  /** Containers the limit was computed for (Tekton's init container, scripts, steps, sidecars, injected ones). */
  containers: number;
  /** The longest message a step of this Task can write: every result at its bound plus Tekton's own entries. */
  worstCase: number;
  /** Each result's bound in bytes, a 'rest' bound resolved. */
  results: { name: string; maxBytes: number }[];
  /**
   * When several results say 'rest', they share what the others leave:
   * each may take all of it, and together they may not take more. The
   * step programs check the sum before writing (src/step/results.ts).
   */
  shared?: { maxBytes: number; names: string[] };
}

/**
 * Adds up the worst case of a Task's termination message from its results'
 * bounds, and resolves 'rest' bounds to what is left (possibly 0 or less,
 * which assertResultsFit refuses). Results with 'rest' share that pool: every
 * one of them is framed in the message, and their values together fit it.
 */
export function resultsBudget(definition: TaskDefinition): ResultsBudget {
  const pod = { steps: definition.steps.length, scripts: definition.steps.some((step) => step.script !== undefined) };
  const limit = terminationMessageLimit(pod);
  const onErrorContinue = definition.steps.some((step) => step.onError === 'continue');
  const rest = new Set(definition.results.filter((result) => resultMaxBytes(result.bound) === undefined).map((result) => result.name));
  const sized = definition.results.map((result) => ({ name: result.name, maxBytes: resultMaxBytes(result.bound) ?? 0 }));
  const withoutRest = worstCaseMessageBytes(sized, { onErrorContinue });
  const pool = limit - withoutRest;
  const results = sized.map((result) => (rest.has(result.name) ? { ...result, maxBytes: pool } : result));
  return {
    limit,
    containers: podContainerCount(pod),
    worstCase: rest.size === 0 ? withoutRest : limit,
    results,
    ...(rest.size > 1 ? { shared: { maxBytes: pool, names: [...rest] } } : {}),
  };
}

/**
 * Fails when a Task's results could ever overflow the termination message:
 * Tekton would then fail the TaskRun after the work was done ("Termination
 * message is above max allowed size 4096"), or the kubelet would truncate
 * the message into invalid JSON.
 */
export function assertResultsFit(definition: TaskDefinition): ResultsBudget {
  const budget = resultsBudget(definition);
  const starved = budget.results.filter((result) => result.maxBytes <= 0);
  if (budget.worstCase > budget.limit || starved.length > 0) {
    const lines = budget.results.map((result) => `${result.name}: up to ${result.maxBytes} bytes`);
    const total = starved.length > 0 ? 'leave no room for' : `can take ${budget.worstCase} bytes of the step's termination message, but only ${budget.limit} fit`;
    throw new CatalogError(
      'BUILD_RESULTS_BUDGET',
      `Task ${definition.name}: its results ${starved.length > 0 ? `${total} ${starved.map((result) => result.name).join(', ')}` : total} ` +
        `(Tekton allows 4096 bytes per container; the kubelet keeps 12288 per pod, shared by ${budget.containers} containers):\n  ${lines.join('\n  ')}`,
      { hint: 'lower the bounds (cap lists in the step program) or move large data to a workspace and return only its digest' },
    );
  }
  return budget;
}
