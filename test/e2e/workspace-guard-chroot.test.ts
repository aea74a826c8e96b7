// The real workspace-guard image, unpacked and run under chroot as uid
// 65532 with the env and args of the generated Task YAML: seal, then verify
// clean, then verify after a tamper. There is no /proc in the chroot, so this
// also covers the walker's path-based fallback.
import t from 'tap';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { builtCatalog } from '../harness/catalog-build.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';

interface Step {
  image: string;
  args?: string[];
  env?: { name: string; value: string }[];
}

/** The Tekton substitutions this Task uses: params, workspace paths, context, and [*] array expansion. */
function render(step: Step, values: Record<string, string | string[]>) {
  const lookup = (key: string) => {
    const value = values[key];
    if (typeof value !== 'string') throw new Error(`no string value for ${key}`);
    return value;
  };
  const text = (s: string) => s.replace(/\$\(([a-zA-Z0-9_.-]+)\)/g, (_, key: string) => lookup(key));
  const args = (step.args ?? []).flatMap((arg) => {
    const array = /^\$\(([a-zA-Z0-9_.-]+)\[\*\]\)$/.exec(arg);
    if (!array) return [text(arg)];
    const value = values[array[1]!];
    if (!Array.isArray(value)) throw new Error(`no array value for ${array[1]}`);
    return value;
  });
  return { args, env: Object.fromEntries((step.env ?? []).map((e) => [e.name, text(e.value)])) };
}

t.test('workspace-guard seals and verifies from its real image', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const built = await builtCatalog();
  const entry = built.index.tasks['workspace-guard'];
  if (!entry) {
    t.fail('the built catalog has no workspace-guard Task');
    return;
  }
  const record = entry.versions[entry.latest]!;
  const task = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as {
    spec: { params: { name: string; default?: string | string[] }[]; steps: Step[] };
  };
  const step = task.spec.steps[0]!;
  const image = await unpackImage(built.layoutDir, 'step-workspace-guard', 'amd64');
  t.teardown(image.cleanup);

  const source = join(image.rootfs, 'workspace', 'source');
  const state = join(image.rootfs, 'workspace', 'state');
  const results = join(image.rootfs, 'tekton', 'results');
  for (const dir of [join(source, 'src'), state, results]) await mkdir(dir, { recursive: true });
  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = true;\n');
  for (const path of [source, join(source, 'src'), join(source, 'src', 'main.ts'), state, results]) await chown(path, 65532, 65532);

  const base: Record<string, string | string[]> = Object.fromEntries(
    task.spec.params.filter((p) => p.default !== undefined).map((p) => [`params.${p.name}`, p.default!]),
  );
  Object.assign(base, {
    'params.run-uid': '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f',
    'workspaces.target.path': '/workspace/source',
    'workspaces.manifest.path': '/workspace/state',
    'workspaces.report.path': '',
    'context.task.name': 'workspace-guard',
  });
  const runMode = async (mode: string, extra: Record<string, string | string[]> = {}) => {
    const { args, env } = render(step, { ...base, 'params.mode': mode, ...extra });
    return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tekton/results' }, timeoutMs: 60_000 });
  };

  const seal = await runMode('seal');
  t.equal(seal.code, 0, seal.stderr);
  const digest = await readFile(join(results, 'manifest-digest'), 'utf8');
  t.match(digest, /^sha256:[0-9a-f]{64}$/);

  const clean = await runMode('verify', { 'params.expected-digest': digest });
  t.equal(clean.code, 0, clean.stderr);

  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = false;\n');
  const tampered = await runMode('verify', { 'params.expected-digest': digest });
  t.equal(tampered.code, 1);
  t.match(tampered.stderr, /modified: "src\/main\.ts"/);
  t.match(tampered.stderr, /metrics: tekton_workspace_access_violations_total\{task="workspace-guard",workspace="target"\} 1/);
});
