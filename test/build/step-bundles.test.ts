import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { builtinImportsAsReads, bundleStep, writeStepBundle, type StepBundle } from '../../src/build/bundle-step.ts';
import { NEVER_BUNDLED, NOT_AT_START_UP, bundleViolations, startUpParts, type BundlePart } from '../../src/build/step-bundle-rules.ts';
import { repoRoot } from '../harness/shared.ts';

// Every step program, as the image ships it: an entry file and the chunks it loads with import().
const PROGRAMS = readdirSync(join(repoRoot, 'steps')).sort();
const bundles = new Map<string, StepBundle>();
for (const program of PROGRAMS) bundles.set(program, await bundleStep(repoRoot, program));

const work = mkdtempSync(join(tmpdir(), 'step-bundles-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

const startUpInputs = (bundle: StepBundle) => {
  const startUp = startUpParts(bundle.entry.path, bundle.parts);
  return bundle.parts.filter((part) => startUp.has(part.path)).flatMap((part) => part.inputs);
};

t.test('the six step programs are bundled', async (t) => {
  t.same(PROGRAMS, ['audit', 'inject-credentials', 'validate-params', 'verify-catalog', 'verify-image', 'workspace-guard']);
});

t.test('no step bundle holds a module of the deny list, and none loads a lazy one at start-up', async (t) => {
  for (const [program, bundle] of bundles) {
    const all = bundle.parts.flatMap((part) => part.inputs);
    for (const rule of NEVER_BUNDLED) t.notOk(all.some((input) => rule.pattern.test(input)), `${program}: no ${rule.what}`);
    const startUp = startUpInputs(bundle);
    for (const rule of NOT_AT_START_UP) t.notOk(startUp.some((input) => rule.pattern.test(input)), `${program}: ${rule.what} not at start-up`);
    t.same(bundleViolations(bundle.entry.path, bundle.parts), [], `${program}: bundleViolations agrees`);
  }
});

t.test('what each step loads at start-up, and what only on demand', async (t) => {
  const has = (inputs: string[], fragment: string) => inputs.some((input) => input.includes(fragment));
  const vp = bundles.get('validate-params')!;
  t.notOk(has(startUpInputs(vp), 'node_modules/zod/'), 'validate-params checks rules without zod');
  const all = (bundle: StepBundle) => bundle.parts.flatMap((part) => part.inputs);
  t.ok(has(all(vp), 'node_modules/yaml/') && has(all(vp), 'node_modules/re2js/'), 'validate-params still carries yaml and re2js, in chunks');
  const vi = bundles.get('verify-image')!;
  t.ok(has(all(vi), 'node_modules/undici/lib/dispatcher/agent.js'), "verify-image uses undici's Agent");
  t.ok(has(all(vi), 'node_modules/tldts'), 'and the public suffix list, on demand');
  t.ok(has(all(vi), 'step-stand-in:'), "with stand-ins for undici's FormData and HTTP/2 modules");
  t.notOk(vi.parts.some((part) => part.inputs.includes('builtin:http2')), 'node:http2 is never loaded');
  for (const [program, bundle] of bundles) {
    t.notOk(bundle.parts.some((part) => part.inputs.some((input) => /node_modules\/zod\/v4\/locales\/(?!en\.js)/.test(input))), `${program}: zod's other locales are left out`);
  }
});

t.test('our modules read Node built-ins from process.getBuiltinModule, never through an ES import', async (t) => {
  t.equal(
    builtinImportsAsReads("import { readFileSync, type Stats, constants as c } from 'node:fs';"),
    'const { readFileSync, constants: c } = process.getBuiltinModule("node:fs");',
    'named imports, type-only names dropped, renames kept',
  );
  t.equal(builtinImportsAsReads("import * as zlib from 'node:zlib';"), 'const zlib = process.getBuiltinModule("node:zlib");', 'a namespace');
  t.equal(builtinImportsAsReads("import events, { once } from 'node:events';"), 'const events = process.getBuiltinModule("node:events"); const { once } = process.getBuiltinModule("node:events");', 'default and named');
  t.equal(builtinImportsAsReads("import {\n  join,\n  dirname,\n} from 'node:path';\nx();"), 'const { join, dirname } = process.getBuiltinModule("node:path");\n\n\n\nx();', 'over several lines, keeping the line count');
  for (const untouched of ["import type { Stats } from 'node:fs';", "import { parse } from 'yaml';", "const s = `import { x } from 'node:fs'`;"]) {
    t.equal(builtinImportsAsReads(untouched), untouched, `left alone: ${untouched}`);
  }
  for (const [program, bundle] of bundles) {
    const esImports = bundle.files.filter((file) => /(^|[;\n])import[^;]*from\s*["']node:/.test(Buffer.from(file.contents).toString('utf8')));
    t.same(esImports.map((file) => file.path), [], `${program}: no file imports a built-in as an ES module`);
  }
});

t.test('chunk names come from their content: two bundlings give the same files', async (t) => {
  for (const program of ['validate-params', 'verify-image']) {
    const again = await bundleStep(repoRoot, program);
    const first = bundles.get(program)!;
    t.same(
      again.files.map((file) => [file.path, Buffer.from(file.contents).toString('base64')]),
      first.files.map((file) => [file.path, Buffer.from(file.contents).toString('base64')]),
      `${program}: same names, same bytes`,
    );
    t.ok(first.files.slice(1).every((file) => /^chunks\/[a-z0-9-]+-[A-Z0-9]{8}\.mjs$/.test(file.path)), `${program}: chunks are chunks/<name>-<hash>.mjs`);
  }
});

/** Writes a bundle with only the files loaded at start-up: a file read later is missing and the run fails. */
function startUpOnly(program: string): string {
  const bundle = bundles.get(program)!;
  const startUp = startUpParts(bundle.entry.path, bundle.parts);
  const dir = join(work, `${program}-start-up-only`);
  for (const file of bundle.files.filter((file) => startUp.has(file.path))) {
    mkdirSync(join(dir, file.path, '..'), { recursive: true });
    writeFileSync(join(dir, file.path), file.contents);
  }
  return join(dir, bundle.entry.path);
}

t.test('lazy parts are not read at start-up: steps run without them', async (t) => {
  for (const program of PROGRAMS) {
    const run = spawnSync(process.execPath, [startUpOnly(program), '--help'], { encoding: 'utf8', env: {}, timeout: 30_000 });
    t.equal(run.status, 0, `${program} --help: ${run.stderr}`);
    t.match(run.stdout, program === 'validate-params' ? /Usage: validate-params/ : new RegExp(`${program}`), `${program} printed its help`);
  }
  const rules = JSON.stringify({ 'git-revision': { type: 'git-sha' }, tag: { type: 'image-tag' }, replicas: { type: 'integer', min: 1, max: 3 } });
  const results = join(work, 'results');
  const run = spawnSync(process.execPath, [startUpOnly('validate-params'), `git-revision=${'a'.repeat(40)}`, 'tag=v1', 'replicas=2'], {
    encoding: 'utf8',
    env: { RULES: rules, TEKTON_RESULTS_DIR: results },
    timeout: 30_000,
  });
  t.equal(run.status, 0, `validate-params with JSON rules and no regex rule runs from the start-up files alone: ${run.stderr}`);
  const yamlRun = spawnSync(process.execPath, [startUpOnly('validate-params'), `git-revision=${'a'.repeat(40)}`], {
    encoding: 'utf8',
    env: { RULES: 'git-revision: {type: git-sha}', TEKTON_RESULTS_DIR: results },
    timeout: 30_000,
  });
  t.not(yamlRun.status, 0, 'a YAML rule set needs the yaml chunk, which is not there: the check can fail');
  const full = await writeStepBundle(bundles.get('validate-params')!, join(work, 'validate-params-full'));
  const fullRun = spawnSync(process.execPath, [full, `git-revision=${'a'.repeat(40)}`], { encoding: 'utf8', env: { RULES: 'git-revision: {type: git-sha}', TEKTON_RESULTS_DIR: results }, timeout: 30_000 });
  t.equal(fullRun.status, 0, `with every chunk it reads YAML: ${fullRun.stderr}`);
});

// A part for the rule checks below; paths as bundleStep gives them.
const part = (path: string, inputs: string[], imports: { staticImports?: string[]; dynamicImports?: string[] } = {}, extra: Partial<BundlePart> = {}): BundlePart => ({
  path,
  inputs,
  staticImports: imports.staticImports ?? [],
  dynamicImports: imports.dynamicImports ?? [],
  ...extra,
});

t.test('bundleViolations: each rule fails the bundle that breaks it, and only that one', async (t) => {
  const ok = [
    part('x.mjs', ['steps/x/main.ts', 'src/io/http.ts'], { staticImports: ['chunks/chunk-A.mjs'], dynamicImports: ['chunks/lazy-B.mjs'] }),
    part('chunks/chunk-A.mjs', ['src/step/run.ts']),
    part('chunks/lazy-B.mjs', ['node_modules/yaml/dist/index.js', 'node_modules/undici/lib/dispatcher/agent.js'], {}, { entryPoint: 'src/params/rule-source-yaml.ts', exports: ['parseYamlRules'] }),
  ];
  t.same(bundleViolations('x.mjs', ok), [], 'yaml and undici in a chunk loaded with import() are fine');

  // Each in a chunk loaded only with import(): refused all the same.
  const denied: [string, string, RegExp][] = [
    ['undici index', 'node_modules/undici/index.js', /undici's index/],
    ['undici fetch', 'node_modules/undici/lib/web/fetch/index.js', /fetch, WebSocket/],
    ['undici websocket', 'node_modules/undici/lib/web/websocket/websocket.js', /fetch, WebSocket/],
    ['undici eventsource', 'node_modules/undici/lib/web/eventsource/eventsource.js', /fetch, WebSocket/],
    ['undici cache', 'node_modules/undici/lib/cache/memory-cache-store.js', /cache, mock agents or Milo/],
    ['undici cache interceptor', 'node_modules/undici/lib/interceptor/cache.js', /cache interceptor/],
    ['undici milo', 'node_modules/undici/lib/milo/simd.js', /cache, mock agents or Milo/],
    ['zod classic', 'node_modules/zod/v4/classic/schemas.js', /classic API/],
    ['zod index', 'node_modules/zod/index.js', /classic API/],
    ['node:http2', 'builtin:http2', /node:http2/],
  ];
  for (const [what, input, message] of denied) {
    const found = bundleViolations('x.mjs', [part('x.mjs', [], { dynamicImports: ['chunks/lazy.mjs'] }), part('chunks/lazy.mjs', [input])]);
    t.equal(found.length, 1, `${what}: one violation`);
    t.match(found[0], message, `${what}: named`);
  }

  const startUp = bundleViolations('x.mjs', [
    part('x.mjs', ['steps/x/main.ts'], { staticImports: ['chunks/chunk-A.mjs'] }),
    part('chunks/chunk-A.mjs', ['node_modules/yaml/dist/index.js', 'node_modules/re2js/build/index.js', 'node_modules/tldts/dist/es6/index.js']),
  ]);
  t.equal(startUp.length, 3, 'yaml, re2js and tldts reached through a static import are loaded at start-up');
  t.ok(startUp.every((v) => v.includes('x.mjs -> chunks/chunk-A.mjs')), 'each names the chain of imports');
  for (const lazy of ['node_modules/undici/lib/dispatcher/client.js', 'node_modules/@sigstore/core/dist/index.js', 'node_modules/tar-stream/index.js']) {
    t.equal(bundleViolations('x.mjs', [part('x.mjs', [lazy])]).length, 1, `${lazy} at start-up is refused`);
  }

  const cjs = bundleViolations('x.mjs', [
    part('x.mjs', [], { dynamicImports: ['chunks/dist-C.mjs'] }),
    part('chunks/dist-C.mjs', ['node_modules/yaml/dist/index.js'], {}, { entryPoint: 'node_modules/yaml/dist/index.js', exports: ['default'] }),
  ]);
  t.equal(cjs.length, 1, 'import() straight of a CommonJS package is refused');
  t.match(cjs[0], /only its default export/);
});

t.test('bundleStep refuses a program that breaks the rules, naming every module', async (t) => {
  // A scratch repository: its own steps/, the real node_modules.
  const repo = mkdtempSync(join(tmpdir(), 'step-bundles-repo-'));
  t.teardown(() => rmSync(repo, { recursive: true, force: true }));
  symlinkSync(join(repoRoot, 'node_modules'), join(repo, 'node_modules'));
  const program = (name: string, source: string) => {
    mkdirSync(join(repo, 'steps', name), { recursive: true });
    writeFileSync(join(repo, 'steps', name, 'main.ts'), source);
  };
  program('index-imports', "import { request } from 'undici';\nimport { z } from 'zod';\nimport { parse } from 'yaml';\nconsole.log(typeof request, typeof z, typeof parse);\n");
  const refused = await bundleStep(repo, 'index-imports').then(
    () => undefined,
    (error: Error & { code?: string }) => error,
  );
  t.equal(refused?.code, 'BUILD_BUNDLE_DENIED', 'refused');
  t.match(refused?.message, /undici's index/, "names undici's index");
  t.match(refused?.message, /classic API/, "names zod's classic API");
  t.match(refused?.message, /the yaml parser is loaded at start-up/, 'names the yaml parser at start-up');
  program('cjs-import', "const { parse } = await import('yaml');\nconsole.log(typeof parse);\n");
  await t.rejects(bundleStep(repo, 'cjs-import'), { code: 'BUILD_BUNDLE_DENIED', message: /only its default export/ });
  program('clean', `const { createAgent } = await import(${JSON.stringify(join(repoRoot, 'src/io/http.ts'))});\nconsole.log(typeof createAgent);\n`);
  const clean = await bundleStep(repo, 'clean');
  t.ok(clean.files.length > 1, 'the HTTP client through src/io/http.ts, with import(), passes and lands in a chunk');
});
