import { dirname, join } from 'node:path';
import { CatalogError } from '../errors.ts';
import { resultValueBytes } from '../tekton/termination-message.ts';

export { resultValueBytes } from '../tekton/termination-message.ts';

/** Tekton's default results folder; TEKTON_RESULTS_DIR overrides it for tests and local runs. */
export const DEFAULT_RESULTS_DIR = '/tekton/results';

/**
 * The cap on a result when the Task declares no limits (the program runs
 * outside a catalog Task, e.g. in a unit test): 1024 UTF-8 bytes.
 */
export const MAX_RESULT_BYTES = 1024;

/**
 * Every catalog step gets the bound of each of its Task's results in this
 * variable (`name=bytes,…`, written by the generator from the definition,
 * src/build/task-emitter.ts). The build has proven that all results at
 * these bounds fit Tekton's termination message; checking each value here
 * keeps that proof true at run time.
 */
export const RESULT_LIMITS_ENV = 'TEKTON_CATALOG_RESULT_LIMITS';

/**
 * Results whose bound is 'rest' share one pool (`<bytes>:<name>,<name>…`,
 * written by the generator when a Task has several): each may take all of
 * it, and the values together may not take more.
 */
export const RESULT_SHARED_ENV = 'TEKTON_CATALOG_RESULT_SHARED';

/**
 * Where each result goes, `<name>=<path>,…`: a StepAction writes step
 * results, whose paths Tekton gives only one by one
 * (`$(step.results.<name>.path)`, /tekton/steps/step-<step>/results/<name>).
 * Without it results go to TEKTON_RESULTS_DIR or /tekton/results.
 */
export const RESULT_PATHS_ENV = 'TEKTON_CATALOG_RESULT_PATHS';

const RESULT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

export function resultsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEKTON_RESULTS_DIR ?? DEFAULT_RESULTS_DIR;
}

export function formatSharedResultLimit(shared: { maxBytes: number; names: readonly string[] }): string {
  return `${shared.maxBytes}:${shared.names.join(',')}`;
}

/** The shared pool, or undefined when the variable is not set. A malformed value is an error, never "no pool". */
export function sharedResultLimit(env: NodeJS.ProcessEnv = process.env): { maxBytes: number; names: string[] } | undefined {
  const text = env[RESULT_SHARED_ENV];
  if (text === undefined) return undefined;
  const match = /^([1-9][0-9]{0,5}):([A-Za-z0-9][A-Za-z0-9_.-]*(?:,[A-Za-z0-9][A-Za-z0-9_.-]*)+)$/.exec(text);
  if (!match) {
    throw new CatalogError('RESULT_LIMITS_INVALID', `${RESULT_SHARED_ENV} is malformed`, { hint: 'the catalog generator writes it as bytes:name,name…; do not override it in a step' });
  }
  return { maxBytes: Number(match[1]), names: match[2]!.split(',') };
}

/** The file a result is written to: its path from TEKTON_CATALOG_RESULT_PATHS, else <results dir>/<name>. */
export function resultPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const text = env[RESULT_PATHS_ENV];
  if (text === undefined) return join(resultsDir(env), name);
  for (const pair of text.split(',')) {
    const equals = pair.indexOf('=');
    const path = pair.slice(equals + 1);
    if (equals <= 0 || !path.startsWith('/') || path.split('/').includes('..')) {
      throw new CatalogError('RESULT_LIMITS_INVALID', `${RESULT_PATHS_ENV} is malformed`, { hint: 'the catalog generator writes it as name=$(step.results.name.path),…; do not override it' });
    }
    if (pair.slice(0, equals) === name) return path;
  }
  throw new CatalogError('RESULT_UNDECLARED', `result ${name} is not declared by this step`, { hint: 'declare the result, with its bound, in the Task definition' });
}

export function formatResultLimits(limits: readonly { name: string; maxBytes: number }[]): string {
  return limits.map((limit) => `${limit.name}=${limit.maxBytes}`).join(',');
}

/** The declared limits, or undefined when the variable is not set. A malformed value is an error, never "no limits". */
export function declaredResultLimits(env: NodeJS.ProcessEnv = process.env): Map<string, number> | undefined {
  const text = env[RESULT_LIMITS_ENV];
  if (text === undefined) return undefined;
  const limits = new Map<string, number>();
  for (const pair of text.split(',')) {
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=([1-9][0-9]{0,5})$/.exec(pair);
    if (!match) {
      throw new CatalogError('RESULT_LIMITS_INVALID', `${RESULT_LIMITS_ENV} is malformed`, {
        hint: 'the catalog generator writes it as name=bytes,…; do not override it in a step',
      });
    }
    limits.set(match[1]!, Number(match[2]));
  }
  return limits;
}

/** The most bytes (as the termination message counts them) the result `name` may hold here. */
export function resultLimit(name: string, env: NodeJS.ProcessEnv = process.env): number {
  const limits = declaredResultLimits(env);
  if (limits === undefined) return MAX_RESULT_BYTES;
  const limit = limits.get(name);
  if (limit === undefined) {
    throw new CatalogError('RESULT_UNDECLARED', `result ${name} is not declared by this Task`, {
      hint: 'declare the result, with its bound, in the Task definition',
    });
  }
  return limit;
}

/** Writes one Tekton result atomically (temp file, then rename). */
export async function writeResult(name: string, value: string, dir?: string): Promise<void> {
  writeResultSync(name, value, dir);
}

/**
 * Results are a few hundred bytes, so they are written synchronously: the
 * first async file operation would start libuv's thread pool, which costs a
 * short step more than the writes themselves.
 */
export function writeResultSync(name: string, value: string, dir?: string): void {
  const target = dir === undefined ? resultPath(name) : join(dir, name);
  checkResult(name, value, dir);
  // Not `import ... from 'node:fs'`: an ES import of node:fs builds its export
  // facade, which reads every lazy export and so loads fs/promises, streams,
  // watchers and readline, about 15 internal modules a short step never uses.
  const { mkdirSync, renameSync, writeFileSync } = process.getBuiltinModule('node:fs');
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.tmp-${process.pid}`;
  writeFileSync(temp, value, { mode: 0o644 });
  renameSync(temp, target);
}

function checkResult(name: string, value: string, dir: string | undefined): void {
  if (!RESULT_NAME.test(name)) {
    throw new CatalogError('RESULT_NAME_INVALID', `result name ${JSON.stringify(name)} is not a valid Tekton result name`);
  }
  const limits = declaredResultLimits();
  if (limits === undefined) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_RESULT_BYTES) {
      throw new CatalogError('RESULT_TOO_LARGE', `result ${name} is ${bytes} bytes; results must stay under ${MAX_RESULT_BYTES} bytes`, {
        hint: 'write large reports to a workspace and return only a digest or path as the result',
      });
    }
    return;
  }
  const limit = resultLimit(name);
  const bytes = resultValueBytes(value);
  if (bytes > limit) {
    throw new CatalogError(
      'RESULT_TOO_LARGE',
      `result ${name} would take ${bytes} bytes of Tekton's termination message; this Task allows it ${limit}`,
      { hint: 'write large reports to a workspace and return only a digest or path as the result' },
    );
  }
  const shared = sharedResultLimit();
  if (shared === undefined || !shared.names.includes(name)) return;
  // The others of the pool already on disk count with this value: together they may not take more than the pool.
  const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
  let total = bytes;
  for (const other of shared.names) {
    if (other === name) continue;
    const path = dir === undefined ? resultPath(other) : join(dir, other);
    if (existsSync(path)) total += resultValueBytes(readFileSync(path));
  }
  if (total > shared.maxBytes) {
    throw new CatalogError(
      'RESULT_TOO_LARGE',
      `results ${shared.names.join(', ')} would take ${total} bytes of Tekton's termination message together; this Task allows them ${shared.maxBytes}`,
      { hint: 'write large reports to a workspace and return only a digest or path as the result' },
    );
  }
}
