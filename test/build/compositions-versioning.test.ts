// StepActions and reference Pipelines are held to the Tasks' release
// discipline, with real builds of a demo source tree: a StepAction is
// released with its Task version and kept as committed afterwards; a
// Pipeline is released only once the Task versions it pins are; a released
// Pipeline's YAML and kit never change (a different build fails and names
// the bump); the interface diff decides the bump; a committed version that
// no longer matches its record stops the build.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { buildCatalog } from '../../src/build/catalog.ts';
import { parseCatalogIndex, type CatalogIndex } from '../../src/build/catalog-index.ts';
import { releaseVersions } from '../../src/build/release.ts';
import { CatalogError } from '../../src/errors.ts';
import { repoRoot } from '../harness/shared.ts';

const TASK = 'compose-demo';
const url = (path: string) => JSON.stringify(pathToFileURL(join(repoRoot, path)).href);

const work = await mkdtemp(join(tmpdir(), 'compositions-'));
t.teardown(() => rm(work, { recursive: true, force: true }));
// The generated .ts files use ES imports: they need a "type": "module" package around them.
await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
const catalogDir = join(work, 'catalog');
const distDir = join(work, 'dist');
let stages = 0;

interface Source {
  taskVersion: string;
  pipelineVersion: string;
  pipelineSummary?: string;
  namespace?: string;
  requiredParam?: boolean;
}

/** A fresh source tree per stage (module URLs are cached by path): tasks/<TASK>, pipelines/demo. */
async function writeSource(source: Source): Promise<string> {
  const root = join(work, `src-${++stages}`);
  await mkdir(join(root, 'tasks', TASK), { recursive: true });
  await mkdir(join(root, 'pipelines', 'demo'), { recursive: true });
  await writeFile(
    join(root, 'tasks', TASK, 'task.ts'),
    `import { defineTask } from ${url('src/build/definition.ts')};
export default defineTask({
  name: '${TASK}', version: '${source.taskVersion}', displayName: 'Compose demo', summary: 'A Task for the compositions test.',
  description: 'Checks a value.', categories: ['Security'], tags: ['demo'],
  params: [{ name: 'rules', description: 'Rules.', rule: { type: 'text', maxLength: 1000, allowNewlines: true } }],
  results: [{ name: 'VALIDATED', description: 'true when valid', bound: { kind: 'boolean' } }],
  steps: [{ name: 'check', program: 'validate-params', env: [{ name: 'RULES', value: '$(params.rules)' }] }],
});
`,
  );
  await writeFile(
    join(root, 'pipelines', 'demo', 'pipeline.ts'),
    `import { definePipeline } from ${url('src/build/pipeline-definition.ts')};
export default definePipeline({
  name: 'demo', version: '${source.pipelineVersion}', displayName: 'Demo', summary: ${JSON.stringify(source.pipelineSummary ?? 'A demo Pipeline.')},
  description: 'Runs the demo Task.', categories: ['Security'], tags: ['demo'],
  params: [${source.requiredParam ? `{ name: 'extra', description: 'A new required param.', rule: { type: 'dns-label' } }` : ''}],
  workspaces: [{ name: 'source', description: 'The source.' }],
  tasks: [{ name: 'check', taskRef: { catalog: '${TASK}' }, params: [{ name: 'rules', value: 'a: {type: bool}' }] }],
  diagram: 'check', notes: '## Notes\\nNone.',
  kit: { namespace: '${source.namespace ?? 'ci'}', egress: {} },
});
`,
  );
  return root;
}

const build = (root: string, dirs = { catalogDir, distDir }) => buildCatalog({ repoRoot, tasksDir: join(root, 'tasks'), ...dirs, platforms: ['amd64'] });
const readIndex = async (dir = catalogDir): Promise<CatalogIndex> => parseCatalogIndex(await readFile(join(dir, 'index.json'), 'utf8'), 'index')!;
const rejection = async (promise: Promise<unknown>): Promise<CatalogError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CatalogError)) throw new Error(`expected a CatalogError, got ${String(error)}`);
  return error;
};

t.test('drafts: a StepAction per step program, the Pipeline pinned to the Task bundle, a kit beside it', async (t) => {
  await build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.0' }));
  const index = await readIndex();
  t.same(index.stepActions['validate-params']!.versions['0.1.0'], {
    ...index.stepActions['validate-params']!.versions['0.1.0'],
    status: 'draft',
    task: `${TASK}@0.1.0`,
    image: index.tasks[TASK]!.versions['0.1.0']!.images['validate-params']!.reference,
  }, 'the StepAction runs the image of its Task version');
  const pipeline = index.pipelines.demo!.versions['0.1.0']!;
  t.same(pipeline.tasks, [`${TASK}@0.1.0`]);
  t.equal(pipeline.status, 'draft');
  const yaml = await readFile(join(catalogDir, pipeline.path), 'utf8');
  t.ok(yaml.includes(index.tasks[TASK]!.versions['0.1.0']!.bundle.reference), 'the Pipeline names the bundle by digest');
  t.match(await readFile(join(catalogDir, 'pipeline', 'demo', '0.1.0', 'kit', 'namespace', 'serviceaccount-runner.yaml'), 'utf8'), /name: demo-runner/);
});

t.test('a Pipeline is released only after the Task versions it pins; a StepAction with its Task', async (t) => {
  const early = await rejection(releaseVersions(catalogDir, ['demo']));
  t.equal(early.code, 'VERSION_RELEASE_ON_DRAFT');
  t.match(early.hint, new RegExp(`npm run release -- ${TASK}@0\\.1\\.0`));
  const released = await releaseVersions(catalogDir, [TASK, 'demo']);
  t.same(released.map((r) => `${r.name}@${r.version} ${r.tag}`), [`${TASK}@0.1.0 ${TASK}-v0.1.0`, 'demo@0.1.0 demo-v0.1.0'], 'in one command, the Task first');
  const index = await readIndex();
  t.equal(index.stepActions['validate-params']!.versions['0.1.0']!.status, 'released', "the StepAction is released with its Task's version");
  t.match(await readFile(join(catalogDir, 'pipeline', 'demo', 'CHANGELOG.md'), 'utf8'), /## 0\.1\.0 \(released, git tag `demo-v0\.1\.0`\)/);
  const report = await build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.0' }));
  t.same(report.changed, [], 'rebuilding the released versions changes nothing');
});

t.test('a released Pipeline never changes: not its YAML, not its kit', async (t) => {
  const before = await readFile(join(catalogDir, 'index.json'), 'utf8');
  const yaml = await rejection(build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.0', pipelineSummary: 'Changed.' })));
  t.equal(yaml.code, 'VERSION_IMMUTABLE');
  t.match(yaml.message, /Pipeline demo 0\.1\.0 is released/);
  t.match(yaml.hint, /bump the version in pipelines\/demo\/pipeline\.ts to 0\.1\.1/);
  const kit = await rejection(build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.0', namespace: 'other' })));
  t.equal(kit.code, 'VERSION_IMMUTABLE');
  t.match(kit.message, /its kit came out different/);
  t.equal(await readFile(join(catalogDir, 'index.json'), 'utf8'), before, 'a refused build writes nothing');
});

t.test('bumps: the interface decides, the released version stays as committed', async (t) => {
  const breaking = await rejection(build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.1', requiredParam: true })));
  t.equal(breaking.code, 'VERSION_BREAKING_CHANGE', 'a new required param needs a major version');
  t.match(breaking.message, /Pipeline demo 0\.1\.1 breaks the interface of 0\.1\.0/);
  const kit010 = await readFile(join(catalogDir, 'pipeline', 'demo', '0.1.0', 'kit', 'all.yaml'), 'utf8');
  await build(await writeSource({ taskVersion: '0.1.0', pipelineVersion: '0.1.1', namespace: 'other' }));
  const index = await readIndex();
  t.same(Object.keys(index.pipelines.demo!.versions), ['0.1.0', '0.1.1']);
  t.equal(await readFile(join(catalogDir, 'pipeline', 'demo', '0.1.0', 'kit', 'all.yaml'), 'utf8'), kit010, 'the released kit is kept byte for byte');
  t.match(await readFile(join(catalogDir, 'pipeline', 'demo', '0.1.1', 'kit', 'all.yaml'), 'utf8'), /namespace: other/);
});

t.test('a new Task version: the old StepAction and Pipeline stay as committed; edited records stop the build', async (t) => {
  await build(await writeSource({ taskVersion: '0.1.1', pipelineVersion: '0.1.1', namespace: 'other' }));
  const index = await readIndex();
  t.same(Object.keys(index.stepActions['validate-params']!.versions), ['0.1.0', '0.1.1'], 'a StepAction version per Task version');
  t.same(index.pipelines.demo!.versions['0.1.1']!.tasks, [`${TASK}@0.1.1`], 'the draft Pipeline follows the newest Task version');
  t.same(index.pipelines.demo!.versions['0.1.0']!.tasks, [`${TASK}@0.1.0`], 'the released one still pins the released Task');

  const source = await writeSource({ taskVersion: '0.1.1', pipelineVersion: '0.1.1', namespace: 'other' });
  for (const [label, file, code] of [
    ['a released kit edited by hand', join('pipeline', 'demo', '0.1.0', 'kit', 'namespace', 'networkpolicy.yaml'), 'CATALOG_RECORD_MISMATCH'],
    ['a released StepAction edited by hand', join('stepaction', 'validate-params', '0.1.0', 'validate-params.yaml'), 'CATALOG_RECORD_MISMATCH'],
  ] as const) {
    const copy = join(work, `tampered-${label.replace(/\W+/g, '-')}`);
    await cp(catalogDir, join(copy, 'catalog'), { recursive: true });
    await writeFile(join(copy, 'catalog', file), `${await readFile(join(catalogDir, file), 'utf8')}# edited\n`);
    const error = await rejection(build(source, { catalogDir: join(copy, 'catalog'), distDir: join(copy, 'dist') }));
    t.equal(error.code, code, label);
  }
});
