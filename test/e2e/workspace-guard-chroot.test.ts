// The real workspace-guard image, unpacked and run under chroot as uid
// 65532 with the env and args of the generated Task YAML: seal, then verify
// clean, then verify after a tamper. There is no /proc in the chroot, so this
// also covers the walker's path-based fallback.
import t from 'tap';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';

t.test('workspace-guard seals and verifies from its real image', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const built = await builtCatalog();
  const { spec, defaults } = await loadCatalogTask(built, 'workspace-guard');
  const step = spec.steps[0]!;
  const image = await unpackImage(built.layoutDir, 'step-workspace-guard', 'amd64');
  t.teardown(image.cleanup);

  const source = join(image.rootfs, 'workspace', 'source');
  const state = join(image.rootfs, 'workspace', 'state');
  const results = join(image.rootfs, 'tekton', 'results');
  for (const dir of [join(source, 'src'), state, results]) await mkdir(dir, { recursive: true });
  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = true;\n');
  for (const path of [source, join(source, 'src'), join(source, 'src', 'main.ts'), state, results]) await chown(path, 65532, 65532);

  const runMode = async (mode: string, extra: Record<string, string | string[]> = {}) => {
    const { args, env } = renderStep(step, {
      params: { ...defaults, 'run-uid': '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', mode, ...extra },
      workspaces: { target: '/workspace/source', manifest: '/workspace/state', report: '' },
      context: { 'task.name': 'workspace-guard' },
    });
    return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tekton/results' }, timeoutMs: 60_000 });
  };

  const seal = await runMode('seal');
  t.equal(seal.code, 0, seal.stderr);
  const digest = await readFile(join(results, 'manifest-digest'), 'utf8');
  t.match(digest, /^sha256:[0-9a-f]{64}$/);

  const clean = await runMode('verify', { 'expected-digest': digest });
  t.equal(clean.code, 0, clean.stderr);

  await writeFile(join(source, 'src', 'main.ts'), 'export const trusted = false;\n');
  const tampered = await runMode('verify', { 'expected-digest': digest });
  t.equal(tampered.code, 1);
  t.match(tampered.stderr, /modified: "src\/main\.ts"/);
  t.match(tampered.stderr, /metrics: tekton_workspace_access_violations_total\{task="workspace-guard",workspace="target"\} 1/);
});
