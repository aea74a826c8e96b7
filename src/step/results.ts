import { join } from 'node:path';
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

const RESULT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

export function resultsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEKTON_RESULTS_DIR ?? DEFAULT_RESULTS_DIR;
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
export async function writeResult(name: string, value: string, dir = resultsDir()): Promise<void> {
  writeResultSync(name, value, dir);
}

/**
 * Results are a few hundred bytes, so they are written synchronously: the
 * first async file operation would start libuv's thread pool, which costs a
 * short step more than the writes themselves.
 */
export function writeResultSync(name: string, value: string, dir = resultsDir()): void {
  checkResult(name, value);
  // Not `import ... from 'node:fs'`: an ES import of node:fs builds its export
  // facade, which reads every lazy export and so loads fs/promises, streams,
  // watchers and readline, about 15 internal modules a short step never uses.
  const { mkdirSync, renameSync, writeFileSync } = process.getBuiltinModule('node:fs');
  mkdirSync(dir, { recursive: true });
  const target = join(dir, name);
  const temp = `${target}.tmp-${process.pid}`;
  writeFileSync(temp, value, { mode: 0o644 });
  renameSync(temp, target);
}

function checkResult(name: string, value: string): void {
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
}
