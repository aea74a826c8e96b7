/**
 * What a step bundle may not hold. A step starts on every pipeline run, so
 * its start-up is what users wait for: only what runs gets loaded. Two lists:
 *
 * - NEVER_BUNDLED: modules no step needs at all. undici's index (and with it
 *   fetch, WebSocket, EventSource, the HTTP cache, mock agents and the
 *   experimental Milo parser) where a Dispatcher with `request` does the job
 *   (src/io/http.ts); zod's classic API where zod/mini does (it builds every
 *   method on every schema, and brings every locale).
 * - NOT_AT_START_UP: modules a step may load on demand, from a chunk of its
 *   own, but not at start-up (in the entry file or a chunk it imports
 *   statically): the YAML parser where JSON was given, the RE2 engine where
 *   no regex rule is, tldts where no token realm needs the public suffix list,
 *   and the heavy parts of a step's domain (HTTP, Sigstore, tar), which a
 *   step loads with import() once its arguments and environment are checked.
 *
 * bundleStep refuses a bundle that breaks a rule, so the build fails and
 * names the module and the chain of chunks that loads it.
 */

export interface BundleRule {
  /** Matched against esbuild's input paths (repository-relative, so node_modules/...), and "builtin:<name>" for Node built-ins. */
  pattern: RegExp;
  what: string;
}

export const NEVER_BUNDLED: readonly BundleRule[] = [
  { pattern: /(^|\/)node_modules\/undici\/index(-fetch)?\.js$/, what: "undici's index (import the Agent and request API from src/io/http.ts)" },
  { pattern: /(^|\/)node_modules\/undici\/lib\/web\//, what: "undici's fetch, WebSocket, EventSource and web APIs" },
  { pattern: /(^|\/)node_modules\/undici\/lib\/(cache|mock|milo)\//, what: "undici's HTTP cache, mock agents or Milo parser" },
  { pattern: /(^|\/)node_modules\/undici\/lib\/interceptor\/cache\.js$/, what: "undici's cache interceptor" },
  { pattern: /(^|\/)node_modules\/zod\/(index\.js|v4\/classic\/)/, what: "zod's classic API (use zod/mini)" },
  { pattern: /^builtin:http2$/, what: 'node:http2 (src/io/http.ts speaks HTTP/1.1; undici\'s HTTP/2 client is left out)' },
];

export const NOT_AT_START_UP: readonly BundleRule[] = [
  { pattern: /(^|\/)node_modules\/yaml\//, what: 'the yaml parser' },
  { pattern: /(^|\/)node_modules\/re2js\//, what: 'the RE2 regex engine (re2js)' },
  { pattern: /(^|\/)node_modules\/tldts(-core)?\//, what: 'the public suffix list (tldts)' },
  // A step's domain loads after its arguments and environment were checked: --help and usage errors need none of it.
  { pattern: /(^|\/)node_modules\/undici\//, what: 'the HTTP client (undici)' },
  { pattern: /(^|\/)node_modules\/@sigstore\//, what: 'the Sigstore libraries' },
  { pattern: /(^|\/)node_modules\/tar-stream\//, what: 'the tar reader (tar-stream)' },
  // Its worker threads run the file that holds it: that must be a chunk, never the entry that runs the step.
  { pattern: /^src\/workspace\/inspector\.ts$/, what: "workspace-guard's file inspector (its worker threads would run the step)" },
];

/** One output file of a step bundle and how it is loaded. */
export interface BundlePart {
  /** Path relative to the program's folder in the image, e.g. "verify-image.mjs" or "chunks/index-AB12CD34.mjs". */
  path: string;
  /** The source files whose code is in it (esbuild's input paths). */
  inputs: readonly string[];
  /** Parts it imports with a static import (loaded before it runs). */
  staticImports: readonly string[];
  /** Parts it imports with import() (loaded only when that code runs). */
  dynamicImports: readonly string[];
  /** The module a part loaded with import() stands for, when it is one: its exports are what import() gives. */
  entryPoint?: string;
  exports?: readonly string[];
}

/**
 * The parts loaded at start-up: the entry and, transitively, every part
 * imported statically; each with the chain of parts that loads it.
 */
export function startUpParts(entry: string, parts: readonly BundlePart[]): Map<string, string[]> {
  const byPath = new Map(parts.map((part) => [part.path, part]));
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const next of byPath.get(current)?.staticImports ?? []) {
      if (chains.has(next)) continue;
      chains.set(next, [...chains.get(current)!, next]);
      queue.push(next);
    }
  }
  return chains;
}

/** Every rule a bundle breaks, each in one sentence naming the module and where it is. */
export function bundleViolations(entry: string, parts: readonly BundlePart[]): string[] {
  const violations: string[] = [];
  const startUp = startUpParts(entry, parts);
  for (const part of parts) {
    for (const rule of NEVER_BUNDLED) {
      const input = part.inputs.find((path) => rule.pattern.test(path));
      if (input !== undefined) violations.push(`${part.path} holds ${rule.what}: ${input}`);
    }
    // esbuild gives import() of a CommonJS package, in a split bundle, only its `default` export (node also names
    // the others): code that destructures it breaks only in the bundle. import() a module of ours that imports it.
    const dynamicallyImported = parts.some((other) => other.dynamicImports.includes(part.path));
    if (dynamicallyImported && part.entryPoint !== undefined && !part.entryPoint.endsWith('.ts') && part.exports?.join() === 'default') {
      violations.push(`${part.path} is CommonJS module ${part.entryPoint} loaded with import(), which gives only its default export in a bundle; import() a module of ours that imports it statically`);
    }
    const chain = startUp.get(part.path);
    if (chain === undefined) continue;
    for (const rule of NOT_AT_START_UP) {
      const input = part.inputs.find((path) => rule.pattern.test(path));
      if (input !== undefined) violations.push(`${rule.what} is loaded at start-up (${chain.join(' -> ')}): ${input}; load it with import() where it is needed`);
    }
  }
  return violations;
}
