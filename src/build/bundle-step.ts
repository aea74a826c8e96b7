import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CatalogError } from '../errors.ts';

export interface StepBundle {
  program: string;
  /** The single ESM file that runs in the image: no node_modules needed. */
  code: Uint8Array;
  /** Repository-relative source files that went into it, sorted. */
  inputs: string[];
}

/**
 * Some dependencies are CommonJS and call require() for Node built-ins; an
 * ESM bundle has no require, so give it one.
 */
const REQUIRE_SHIM = "import { createRequire as __catalogCreateRequire } from 'node:module';\nconst require = __catalogCreateRequire(import.meta.url);";

/**
 * Bundles steps/<program>/main.ts with esbuild. Paths are made relative to
 * the repository so the output does not depend on where it was checked out.
 */
export async function bundleStep(repoRoot: string, program: string): Promise<StepBundle> {
  const entry = join(repoRoot, 'steps', program, 'main.ts');
  if (!existsSync(entry)) {
    throw new CatalogError('BUILD_STEP_MISSING', `step program ${program} has no steps/${program}/main.ts`, {
      hint: 'a Task step names a program folder under steps/; create it or fix the name',
    });
  }
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [relative(repoRoot, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    legalComments: 'eof',
    // No charset option: esbuild escapes non-ASCII, so V8 keeps the bundle as a one-byte string.
    banner: { js: REQUIRE_SHIM },
    metafile: true,
    write: false,
    logLevel: 'silent',
  }).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    throw new CatalogError('BUILD_BUNDLE_FAILED', `bundling steps/${program} failed: ${message}`);
  });
  const output = result.outputFiles[0];
  if (!output) throw new CatalogError('BUILD_BUNDLE_FAILED', `bundling steps/${program} produced no output`);
  return { program, code: output.contents, inputs: Object.keys(result.metafile.inputs).sort() };
}
