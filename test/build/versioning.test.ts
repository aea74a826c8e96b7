import t from 'tap';
import { emptyIndex, type CatalogIndex, type VersionRecord } from '../../src/build/catalog-index.ts';
import { defineTask } from '../../src/build/definition.ts';
import { checkVersion, diffInterfaces, taskInterface } from '../../src/build/versioning.ts';
import { CatalogError } from '../../src/errors.ts';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;

function definition(overrides: Partial<Parameters<typeof defineTask>[0]> = {}) {
  return defineTask({
    name: 'demo',
    version: '0.1',
    displayName: 'Demo',
    summary: 'A demo Task.',
    description: 'Used by tests.',
    categories: ['Security'],
    tags: ['demo'],
    params: [
      { name: 'revision', description: 'A git revision', rule: { type: 'git-sha' } },
      { name: 'mode', description: 'A mode', default: 'fast', rule: { type: 'enum', values: ['fast', 'slow'] } },
    ],
    workspaces: [{ name: 'source', description: 'Sources' }],
    results: [{ name: 'digest', description: 'A digest' }],
    steps: [{ name: 'run', program: 'validate-params' }],
    ...overrides,
  });
}

function record(contentDigest: string, status: 'draft' | 'released', def = definition()): VersionRecord {
  return {
    status,
    path: 'task/demo/0.1/demo.yaml',
    contentDigest,
    minPipelinesVersion: '0.57.0',
    images: {},
    bundle: { reference: `r/tasks/demo:0.1@${digestA}`, digest: digestA },
    interface: taskInterface(def),
  };
}

function indexWith(version: string, rec: VersionRecord): CatalogIndex {
  const index = emptyIndex('example.com/catalog');
  index.tasks.demo = { latest: version, versions: { [version]: rec } };
  return index;
}

t.test('a released version may not change content', async (t) => {
  const index = indexWith('0.1', record(digestA, 'released'));
  t.throws(() => checkVersion(index, 'demo', '0.1', record(digestB, 'draft')), { code: 'VERSION_IMMUTABLE' });
  const error = (() => {
    try {
      checkVersion(index, 'demo', '0.1', record(digestB, 'draft'));
    } catch (e) {
      return e as CatalogError;
    }
    return undefined;
  })();
  t.match(error?.hint, /bump the version.*0\.2/, 'the hint says to bump the version');
  t.doesNotThrow(() => checkVersion(index, 'demo', '0.1', record(digestA, 'released')), 'same content is fine');
});

t.test('a draft version may change content', async (t) => {
  const index = indexWith('0.1', record(digestA, 'draft'));
  t.doesNotThrow(() => checkVersion(index, 'demo', '0.1', record(digestB, 'draft')));
});

t.test('breaking interface changes need a major bump', async (t) => {
  const index = indexWith('0.1', record(digestA, 'released'));
  const cases: [string, ReturnType<typeof definition>][] = [
    ['removed param', definition({ version: '0.2', params: [{ name: 'revision', description: 'x', rule: { type: 'git-sha' } }] })],
    [
      'renamed param',
      definition({
        version: '0.2',
        params: [
          { name: 'rev', description: 'x', rule: { type: 'git-sha' } },
          { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
        ],
      }),
    ],
    [
      'changed param type',
      definition({
        version: '0.2',
        params: [
          { name: 'revision', description: 'x', type: 'array', rule: { type: 'git-sha' } },
          { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
        ],
      }),
    ],
    [
      'added required param',
      definition({
        version: '0.2',
        params: [
          { name: 'revision', description: 'x', rule: { type: 'git-sha' } },
          { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
          { name: 'extra', description: 'x', rule: { type: 'bool' } },
        ],
      }),
    ],
    ['removed result', definition({ version: '0.2', results: [] })],
    ['removed workspace', definition({ version: '0.2', workspaces: [] })],
  ];
  for (const [what, def] of cases) {
    const rec = record(digestB, 'draft', def);
    t.throws(() => checkVersion(index, 'demo', '0.2', rec), { code: 'VERSION_BREAKING_CHANGE' }, `${what}: rejected in 0.2`);
    t.doesNotThrow(() => checkVersion(index, 'demo', '1.0', rec), `${what}: allowed in 1.0`);
  }
});

t.test('compatible changes need no major bump, and the diff names them', async (t) => {
  const index = indexWith('0.1', record(digestA, 'released'));
  const def = definition({
    version: '0.2',
    params: [
      { name: 'revision', description: 'x', rule: { type: 'git-sha' } },
      { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast', 'slow'] } },
      { name: 'verbose', description: 'x', default: 'false', rule: { type: 'bool' } },
    ],
    results: [
      { name: 'digest', description: 'x' },
      { name: 'report', description: 'x' },
    ],
  });
  t.doesNotThrow(() => checkVersion(index, 'demo', '0.2', record(digestB, 'draft', def)));
  const changes = diffInterfaces(taskInterface(definition()), taskInterface(def));
  t.same(
    changes.map((c) => `${c.kind}:${c.name}:${c.breaking}`),
    ['param:verbose:false', 'result:report:false'],
  );
});

t.test('the breaking-change error prints the interface diff', async (t) => {
  const index = indexWith('0.1', record(digestA, 'released'));
  const def = definition({ version: '0.2', workspaces: [] });
  try {
    checkVersion(index, 'demo', '0.2', record(digestB, 'draft', def));
    t.fail('expected a breaking change error');
  } catch (error) {
    t.match((error as Error).message, /! workspace source: removed \(breaking\)/);
  }
});

t.test('release marks versions released, and rejects unknown names', async (t) => {
  const { mkdtemp, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeCatalogIndex } = await import('../../src/build/catalog-index.ts');
  const { releaseVersions } = await import('../../src/build/release.ts');
  const dir = await mkdtemp(join(tmpdir(), 'release-'));
  await writeCatalogIndex(join(dir, 'index.json'), indexWith('0.1', record(digestA, 'draft')));
  t.same(await releaseVersions(dir, ['demo']), ['demo@0.1']);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as CatalogIndex;
  t.equal(index.tasks.demo!.versions['0.1']!.status, 'released');
  await t.rejects(releaseVersions(dir, ['nope']), { code: 'USAGE_UNKNOWN_TASK' });
  await t.rejects(releaseVersions(dir, ['demo@9.9']), { code: 'USAGE_UNKNOWN_VERSION' });
});
