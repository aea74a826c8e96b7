// The real audit image, unpacked and run under chroot as uid 65532 with the
// env and args of the generated Task YAML, over a workspace holding a
// Pipeline that misspells a verify-image param and a Task that pastes a
// param into its script.
import t from 'tap';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';
import { FIXTURES } from '../audit/fixtures.ts';

t.test('audit reports findings and writes its reports from its real image', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const built = await builtCatalog();
  const { spec, defaults } = await loadCatalogTask(built, 'audit');
  const step = spec.steps[0]!;
  const image = await unpackImage(built.layoutDir, 'step-audit', 'amd64');
  t.teardown(image.cleanup);

  const source = join(image.rootfs, 'workspace', 'source');
  const report = join(image.rootfs, 'workspace', 'report');
  const results = join(image.rootfs, 'tekton', 'results');
  for (const dir of [join(source, '.tekton'), report, results]) await mkdir(dir, { recursive: true });
  await writeFile(join(source, '.tekton', 'pipeline.yaml'), FIXTURES.TL101!.positive);
  await writeFile(join(source, '.tekton', 'task.yaml'), FIXTURES.TA401!.positive);
  for (const path of [report, results]) await chown(path, 65532, 65532);

  const runAudit = async (params: Record<string, string | string[]>) => {
    const { args, env } = renderStep(step, {
      params: { ...defaults, ...params },
      workspaces: { source: '/workspace/source', report: '/workspace/report' },
      context: { 'task.name': 'audit' },
    });
    return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tekton/results' }, timeoutMs: 60_000 });
  };

  const result = await runAudit({ paths: ['.tekton'] });
  t.equal(result.code, 1, result.stderr);
  t.match(result.stdout, /TL101 +task "verify" passes param "certificate-oidc-isuer".*did you mean "certificate-oidc-issuer"\?/);
  t.match(result.stdout, /TA401/);
  t.equal(await readFile(join(results, 'findings'), 'utf8'), '2');
  const sarif = JSON.parse(await readFile(join(report, 'audit-report.sarif'), 'utf8')) as { runs: { results: { ruleId: string }[] }[] };
  t.same(sarif.runs[0]!.results.map((r) => r.ruleId).sort(), ['TA401', 'TL101']);

  const lint = await runAudit({ paths: ['.tekton'], mode: 'lint', 'fail-on': 'none' });
  t.equal(lint.code, 0, lint.stderr);
  t.notMatch(lint.stdout, /TA401/, 'lint mode runs the lint only');
});
