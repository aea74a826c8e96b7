import { join } from 'node:path';
import { CatalogError } from '../errors.ts';

/** Tekton's default results folder; TEKTON_RESULTS_DIR overrides it for tests and local runs. */
export const DEFAULT_RESULTS_DIR = '/tekton/results';

/**
 * Results travel in the termination message (4096 bytes per step, shared
 * with Tekton's own data). Stay well below it; large reports belong in a
 * workspace.
 */
export const MAX_RESULT_BYTES = 1024;

const RESULT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;

export function resultsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEKTON_RESULTS_DIR ?? DEFAULT_RESULTS_DIR;
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
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_RESULT_BYTES) {
    throw new CatalogError(
      'RESULT_TOO_LARGE',
      `result ${name} is ${bytes} bytes; results must stay under ${MAX_RESULT_BYTES} bytes`,
      { hint: 'write large reports to a workspace and return only a digest or path as the result' },
    );
  }
}
