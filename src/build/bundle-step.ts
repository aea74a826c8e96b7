import { build, type Metafile, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { bundleViolations, type BundlePart } from './step-bundle-rules.ts';

export interface StepBundleFile {
  /**
   * Path relative to the program's folder (/app in the image): the entry is
   * `<program>.mjs`, parts loaded on demand are `chunks/<name>-<hash>.mjs`.
   */
  path: string;
  contents: Uint8Array;
}

export interface StepBundle {
  program: string;
  /** The entry file, which node runs: `<program>.mjs`. */
  entry: StepBundleFile;
  /** Every file, the entry first, then the chunks by path. No node_modules needed beside them. */
  files: StepBundleFile[];
  /** How the files load each other, and what is in each. */
  parts: BundlePart[];
  /** Repository-relative source files that went into it, sorted. */
  inputs: string[];
  /** esbuild's metafile: what each file holds, byte by byte (for analysis). */
  metafile: Metafile;
}

/**
 * Some dependencies are CommonJS and call require() for Node built-ins (all
 * else is bundled); an ESM bundle has no require, so give it one. Built-ins
 * come straight from process.getBuiltinModule, as require() would give them;
 * anything else goes to a real require, which loads node:module only then.
 */
const REQUIRE_SHIM =
  "const require = (id) => process.getBuiltinModule(id) ?? process.getBuiltinModule('node:module').createRequire(import.meta.url)(id);";

/**
 * How our own modules reach Node built-ins in a step bundle. An ES import of
 * one (`import { readFileSync } from 'node:fs'`) makes node build the
 * module's ES facade, and esbuild's CommonJS interop would copy its exports:
 * both read every export's descriptor, which materialises the lazy ones, so
 * node:fs loads fs/promises, streams, watchers and readline, node:util its
 * stream and worker APIs. That costs more than many a step's own code. So
 * each such import becomes a read of the names it imports from
 * process.getBuiltinModule, the object require() returns:
 * `const { readFileSync } = process.getBuiltinModule('node:fs');`.
 * Dependencies' require() calls read the same object (see REQUIRE_SHIM).
 */
const BUILTIN_IMPORT = /^import\s+(?!type\s)([^'";]+?)\s+from\s+'(node:[a-z_/]+)';?/gm;

export function builtinImportsAsReads(source: string): string {
  return source.replace(BUILTIN_IMPORT, (statement: string, clause: string, id: string) => {
    const get = `process.getBuiltinModule(${JSON.stringify(id)})`;
    const reads: string[] = [];
    const named = /\{([^}]*)\}/.exec(clause);
    const rest = clause.replace(/\{[^}]*\}/, '').replace(/,/g, ' ').trim();
    if (rest.startsWith('* as ')) reads.push(`const ${rest.slice(5).trim()} = ${get};`);
    else if (rest !== '') reads.push(`const ${rest} = ${get};`);
    if (named) {
      const names = named[1]!
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '' && !name.startsWith('type '))
        .map((name) => name.replace(/\s+as\s+/, ': '));
      if (names.length > 0) reads.push(`const { ${names.join(', ')} } = ${get};`);
    }
    // Same number of lines, so esbuild's messages still point at the right line.
    return reads.join(' ') + '\n'.repeat(statement.split('\n').length - 1);
  });
}

const builtinsAsReads: Plugin = {
  name: 'builtin-imports-as-reads',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
      return { contents: builtinImportsAsReads(await readFile(args.path, 'utf8')), loader: 'ts' };
    });
  },
};

const CHUNKS_DIR = 'chunks';

/**
 * Stand-ins for undici modules its dispatchers require for features step
 * programs never use, so they stay out of every step that talks HTTP
 * (src/build/step-bundle-rules.ts checks it):
 * - its fetch and WebIDL modules, required lazily only to send a FormData
 *   body (steps send Buffers): ~150 KiB of web APIs;
 * - its HTTP/2 client, which loads node:http2 (and with it tls, net and http)
 *   at start-up: src/io/http.ts never offers h2 (allowH2: false), so no
 *   connection can use it.
 * Each stand-in throws if it is ever reached: the request fails, it never
 * passes unchecked.
 */
const UNDICI_STAND_INS: { request: RegExp; contents: string }[] = [
  {
    request: /^\.\.\/web\/(fetch\/body(\.js)?|fetch\/formdata(\.js)?|webidl(\/index\.js)?)$/,
    contents: `const refuse = () => { throw new Error('FormData request bodies are not supported in step programs'); };
module.exports = { extractBody: refuse, webidl: { is: { FormData: () => false } } };`,
  },
  {
    request: /^\.\/client-h2(\.js)?$/,
    contents: `module.exports = () => { throw new Error('HTTP/2 is not offered by step programs'); };`,
  },
];
const undiciStandIns: Plugin = {
  name: 'undici-stand-ins',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!/[\\/]node_modules[\\/]undici[\\/]lib[\\/](core|dispatcher)[\\/]/.test(args.importer)) return undefined;
      const index = UNDICI_STAND_INS.findIndex((standIn) => standIn.request.test(args.path));
      return index < 0 ? undefined : { path: `undici-stand-in-${index}`, namespace: 'step-stand-in' };
    });
    build.onLoad({ filter: /.*/, namespace: 'step-stand-in' }, (args) => ({
      contents: UNDICI_STAND_INS[Number(args.path.slice('undici-stand-in-'.length))]!.contents,
      loader: 'js',
    }));
  },
};

/**
 * Bundles steps/<program>/main.ts with esbuild, split into an entry file and
 * chunks: every module reached only through import() lands in a chunk of its
 * own, which node reads only when that import runs. A chunk's name carries
 * the hash of its content, so the output is the same on every machine. Paths
 * are made relative to the repository so the output does not depend on
 * where it was checked out. A bundle that breaks src/build/step-bundle-rules.ts
 * is refused.
 */
export async function bundleStep(repoRoot: string, program: string, options: { minify?: boolean } = {}): Promise<StepBundle> {
  const entry = join(repoRoot, 'steps', program, 'main.ts');
  if (!existsSync(entry)) {
    throw new CatalogError('BUILD_STEP_MISSING', `step program ${program} has no steps/${program}/main.ts`, {
      hint: 'a Task step names a program folder under steps/; create it or fix the name',
    });
  }
  // Never written: write is false. It only anchors the output paths.
  const outdir = join(repoRoot, '.cache', 'step-bundles', program);
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [{ in: relative(repoRoot, entry), out: program }],
    bundle: true,
    splitting: true,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Unminified only to profile (function names and module comments stay); images always get the minified bundle.
    minify: options.minify ?? true,
    legalComments: 'eof',
    // undici's own bundles define it: it leaves out the experimental Milo parser, which only an env var turns on.
    define: { esbuildDetection: '1' },
    // No charset option: esbuild escapes non-ASCII, so V8 keeps the bundle as a one-byte string.
    banner: { js: REQUIRE_SHIM },
    plugins: [builtinsAsReads, undiciStandIns],
    metafile: true,
    write: false,
    logLevel: 'silent',
  }).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    throw new CatalogError('BUILD_BUNDLE_FAILED', `bundling steps/${program} failed: ${message}`);
  });
  const entryPath = `${program}.mjs`;
  const files = result.outputFiles
    .map((file) => ({ path: relative(outdir, file.path).split('\\').join('/'), contents: file.contents }))
    .sort((a, b) => (a.path === entryPath ? -1 : b.path === entryPath ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entryFile = files[0];
  if (entryFile?.path !== entryPath) throw new CatalogError('BUILD_BUNDLE_FAILED', `bundling steps/${program} produced no ${entryPath}`);
  const parts = bundleParts(result.metafile, repoRoot, outdir);
  const violations = bundleViolations(entryPath, parts);
  if (violations.length > 0) {
    throw new CatalogError('BUILD_BUNDLE_DENIED', `steps/${program} loads what a step must not:\n${violations.map((v) => `  ${v}`).join('\n')}`, {
      hint: 'see src/build/step-bundle-rules.ts: import the smaller module, or load it with import() where it is needed',
    });
  }
  return { program, entry: entryFile, files, parts, inputs: Object.keys(result.metafile.inputs).sort(), metafile: result.metafile };
}

/** esbuild's metafile as parts: paths relative to the program's folder, imports split by kind. */
function bundleParts(metafile: Metafile, repoRoot: string, outdir: string): BundlePart[] {
  const local = (path: string) => relative(outdir, join(repoRoot, path)).split('\\').join('/');
  return Object.entries(metafile.outputs)
    .filter(([path]) => path.endsWith('.mjs'))
    .map(([path, output]) => ({
      path: local(path),
      // Node built-ins a dependency requires show as "builtin:<name>" (our own modules read theirs: see builtinsAsReads).
      inputs: [
        // A module that gives no byte (types only, or all of it tree-shaken) is not in the file.
        ...Object.entries(output.inputs)
          .filter(([, input]) => input.bytesInOutput > 0)
          .map(([path]) => path),
        ...output.imports.filter((i) => i.external).map((i) => `builtin:${i.path.replace(/^node:/, '')}`),
      ]
        .filter((path, index, all) => all.indexOf(path) === index)
        .sort(),
      staticImports: output.imports.filter((i) => !i.external && i.kind === 'import-statement').map((i) => local(i.path)),
      dynamicImports: output.imports.filter((i) => !i.external && i.kind === 'dynamic-import').map((i) => local(i.path)),
      ...(output.entryPoint === undefined ? {} : { entryPoint: output.entryPoint, exports: [...output.exports].sort() }),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Writes every file of a bundle under `dir` and returns the path of the entry, which `node` runs. */
export async function writeStepBundle(bundle: StepBundle, dir: string): Promise<string> {
  // The entry last: whoever sees it complete finds every chunk it may load.
  for (const file of [...bundle.files.slice(1), bundle.entry]) await writeFileAtomic(join(dir, file.path), file.contents);
  return join(dir, bundle.entry.path);
}

/** Total size of a bundle's files. */
export function bundleBytes(bundle: StepBundle): number {
  return bundle.files.reduce((sum, file) => sum + file.contents.byteLength, 0);
}
