import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { emptyIndex, parseCatalogIndex, renderCatalogIndex, versionYamlPath, type CatalogIndex, type VersionRecord } from '../../src/build/catalog-index.ts';
import { defineTask } from '../../src/build/definition.ts';
import { releaseVersions } from '../../src/build/release.ts';
import { changesAnnotation, renderChangelog, versionChanges } from '../../src/build/release-notes.ts';
import { bumpKind, compareVersions, isVersion, nextVersion } from '../../src/build/semver.ts';
import { checkVersion, diffInterfaces, taskInterface } from '../../src/build/versioning.ts';
import { renderTaskReadme } from '../../src/build/readme.ts';
import { emitTask, REPLACEMENT_ANNOTATION } from '../../src/build/task-emitter.ts';
import { sha256Digest } from '../../src/oci/digest.ts';
import { CatalogError } from '../../src/errors.ts';
import { parse as parseYaml } from 'yaml';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;

function definition(overrides: Partial<Parameters<typeof defineTask>[0]> = {}) {
  return defineTask({
    name: 'demo',
    version: '0.1.0',
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

function record(contentDigest: string, status: 'draft' | 'released', def = definition(), version = '0.1.0'): VersionRecord {
  return {
    status,
    path: versionYamlPath('demo', version),
    contentDigest,
    minPipelinesVersion: '0.57.0',
    images: {},
    bundle: { reference: `r/tasks/demo:${version}@${digestA}`, digest: digestA, annotations: {} },
    interface: taskInterface(def),
  };
}

function indexWith(version: string, rec: VersionRecord): CatalogIndex {
  const index = emptyIndex('example.com/catalog');
  index.tasks.demo = { latest: version, versions: { [version]: rec } };
  return index;
}

function thrown(fn: () => unknown): CatalogError | undefined {
  try {
    fn();
  } catch (error) {
    return error as CatalogError;
  }
  return undefined;
}

t.test('Task versions are MAJOR.MINOR.PATCH, compared numerically', async (t) => {
  for (const good of ['0.1.0', '1.0.0', '10.20.30', '0.0.1']) t.ok(isVersion(good), good);
  for (const bad of ['0.1', '1', 'v1.0.0', '1.0.0-rc.1', '1.0.0+build', '01.0.0', '1.00.0', '1.0', ' 1.0.0', '1.0.0 ', '1..0', '']) {
    t.notOk(isVersion(bad), JSON.stringify(bad));
    t.throws(() => definition({ version: bad }), /MAJOR\.MINOR\.PATCH/, `a definition refuses ${JSON.stringify(bad)}`);
  }
  const sorted = ['0.10.0', '0.9.0', '1.0.0', '0.9.10', '0.9.2'].sort(compareVersions);
  t.same(sorted, ['0.9.0', '0.9.2', '0.9.10', '0.10.0', '1.0.0']);
  t.equal(nextVersion('0.1.3', 'patch'), '0.1.4');
  t.equal(nextVersion('0.1.3', 'minor'), '0.2.0');
  t.equal(nextVersion('0.1.3', 'major'), '1.0.0');
  t.equal(bumpKind('0.1.0', '0.1.9'), 'patch');
  t.equal(bumpKind('0.1.0', '0.3.0'), 'minor');
  t.equal(bumpKind('0.1.0', '2.0.0'), 'major');
});

t.test('a released version may not change content, and the hint names the version to bump to', async (t) => {
  const index = indexWith('0.1.0', record(digestA, 'released'));
  const same = thrown(() => checkVersion(index, 'demo', '0.1.0', record(digestB, 'draft')));
  t.equal(same?.code, 'VERSION_IMMUTABLE');
  t.match(same?.hint, /bump the version in tasks\/demo\/task\.ts to 0\.1\.1/, 'same interface: a patch');
  const added = definition({ results: [{ name: 'digest', description: 'x' }, { name: 'report', description: 'x' }] });
  t.match(thrown(() => checkVersion(index, 'demo', '0.1.0', record(digestB, 'draft', added)))?.hint, /to 0\.2\.0/, 'an addition: a minor');
  const removed = definition({ results: [] });
  t.match(thrown(() => checkVersion(index, 'demo', '0.1.0', record(digestB, 'draft', removed)))?.hint, /to 1\.0\.0/, 'a breaking change: a major');
  t.doesNotThrow(() => checkVersion(index, 'demo', '0.1.0', record(digestA, 'released')), 'same content is fine');
});

t.test('a draft version may change content', async (t) => {
  const index = indexWith('0.1.0', record(digestA, 'draft'));
  t.doesNotThrow(() => checkVersion(index, 'demo', '0.1.0', record(digestB, 'draft')));
});

t.test('the source may not declare a version below a released one', async (t) => {
  const index = indexWith('0.2.0', record(digestA, 'released', definition(), '0.2.0'));
  const error = thrown(() => checkVersion(index, 'demo', '0.1.5', record(digestB, 'draft')));
  t.equal(error?.code, 'VERSION_BEHIND');
  t.match(error?.message, /declares 0\.1\.5, but demo 0\.2\.0 is already released/);
  t.match(error?.hint, /0\.2\.1/);
});

/** Every interface change kind, each with the smallest bump it needs. */
const interfaceCases: [string, ReturnType<typeof definition>, 'patch' | 'minor' | 'major'][] = [
  ['same interface', definition(), 'patch'],
  ['description only', definition({ description: 'Changed text.' }), 'patch'],
  ['removed param', definition({ params: [{ name: 'revision', description: 'x', rule: { type: 'git-sha' } }] }), 'major'],
  [
    'renamed param',
    definition({
      params: [
        { name: 'rev', description: 'x', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
      ],
    }),
    'major',
  ],
  [
    'changed param type',
    definition({
      params: [
        { name: 'revision', description: 'x', type: 'array', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
      ],
    }),
    'major',
  ],
  [
    'changed param rule',
    definition({
      params: [
        { name: 'revision', description: 'x', rule: { type: 'semver' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
      ],
    }),
    'major',
  ],
  [
    'added required param',
    definition({
      params: [
        { name: 'revision', description: 'x', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
        { name: 'extra', description: 'x', rule: { type: 'bool' } },
      ],
    }),
    'major',
  ],
  [
    'param became required',
    definition({
      params: [
        { name: 'revision', description: 'x', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', rule: { type: 'enum', values: ['fast'] } },
      ],
    }),
    'major',
  ],
  [
    'added optional param',
    definition({
      params: [
        { name: 'revision', description: 'x', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast', 'slow'] } },
        { name: 'verbose', description: 'x', default: 'false', rule: { type: 'bool' } },
      ],
    }),
    'minor',
  ],
  [
    'param became optional',
    definition({
      params: [
        { name: 'revision', description: 'x', default: 'HEAD', rule: { type: 'git-sha' } },
        { name: 'mode', description: 'x', default: 'fast', rule: { type: 'enum', values: ['fast'] } },
      ],
    }),
    'minor',
  ],
  ['removed result', definition({ results: [] }), 'major'],
  ['changed result type', definition({ results: [{ name: 'digest', description: 'x', type: 'array' }] }), 'major'],
  ['added result', definition({ results: [{ name: 'digest', description: 'x' }, { name: 'report', description: 'x' }] }), 'minor'],
  ['removed workspace', definition({ workspaces: [] }), 'major'],
  ['workspace became required', definition({ workspaces: [{ name: 'source', description: 'x' }, { name: 'cache', description: 'x' }] }), 'major'],
  ['added optional workspace', definition({ workspaces: [{ name: 'source', description: 'x' }, { name: 'cache', description: 'x', optional: true }] }), 'minor'],
];

t.test('the interface diff decides patch, minor or major: every change kind against every bump', async (t) => {
  const index = indexWith('0.1.0', record(digestA, 'released'));
  const bumps = { patch: '0.1.1', minor: '0.2.0', major: '1.0.0' } as const;
  const rank = { patch: 0, minor: 1, major: 2 } as const;
  let cases = 0;
  for (const [what, def, needed] of interfaceCases) {
    for (const [bump, version] of Object.entries(bumps) as [keyof typeof bumps, string][]) {
      const rec = record(digestB, 'draft', def, version);
      const error = thrown(() => checkVersion(index, 'demo', version, rec));
      cases++;
      if (rank[bump] >= rank[needed]) t.equal(error, undefined, `${what}: allowed as a ${bump} (${version})`);
      else t.equal(error?.code, needed === 'major' ? 'VERSION_BREAKING_CHANGE' : 'VERSION_PATCH_CHANGES_INTERFACE', `${what}: refused as a ${bump} (${version})`);
    }
  }
  t.equal(cases, interfaceCases.length * 3);
});

t.test('the breaking-change error prints the interface diff', async (t) => {
  const index = indexWith('0.1.0', record(digestA, 'released'));
  const error = thrown(() => checkVersion(index, 'demo', '0.2.0', record(digestB, 'draft', definition({ workspaces: [] }), '0.2.0')));
  t.match(error?.message, /! workspace source: removed \(breaking\)/);
  t.match(error?.hint, /release it as 1\.0\.0/);
  const changes = diffInterfaces(taskInterface(definition()), taskInterface(interfaceCases.find(([w]) => w === 'added result')![1]));
  t.same(changes.map((c) => `${c.kind}:${c.name}:${c.breaking}`), ['result:report:false']);
});

t.test('release notes: the interface diff, as the artifacthub.io/changes annotation and a CHANGELOG', async (t) => {
  const index = indexWith('0.1.0', record(digestA, 'released'));
  const first = versionChanges('demo', undefined, '0.1.0', { interface: taskInterface(definition()) });
  t.same(first, [{ kind: 'added', description: 'First version of demo' }]);
  const next = definition({ version: '0.2.0', results: [{ name: 'digest', description: 'x' }, { name: 'report', description: 'x' }], deprecated: { replacement: 'verify-image', reason: 'merged' } });
  const changes = versionChanges('demo', index.tasks.demo, '0.2.0', { interface: taskInterface(next), deprecated: next.deprecated });
  t.same(changes, [
    { kind: 'added', description: 'Result report added' },
    { kind: 'deprecated', description: 'Deprecated: merged; use verify-image instead' },
  ]);
  // Artifact Hub reads the annotation as a YAML list of {kind, description}.
  t.same(parseYaml(changesAnnotation(changes)), changes);
  const patch = versionChanges('demo', index.tasks.demo, '0.1.1', { interface: taskInterface(definition()) });
  t.same(patch, [{ kind: 'changed', description: 'Same interface as 0.1.0 (a patch: fixes and internal changes only)' }]);

  index.tasks.demo!.versions['0.2.0'] = { ...record(digestB, 'draft', next, '0.2.0'), deprecated: next.deprecated! };
  index.tasks.demo!.latest = '0.2.0';
  const changelog = renderChangelog('demo', index);
  t.match(changelog, /## 0\.2\.0 \(draft, not released yet, minor-level changes\)\n\nBundle: `r\/tasks\/demo:0\.2\.0@sha256:a+`\n\n- \*\*added\*\*: Result report added\n- \*\*deprecated\*\*/);
  t.match(changelog, /## 0\.1\.0 \(released, git tag `demo-v0\.1\.0`\)\n\n.*\n\n- \*\*added\*\*: First version of demo/);
  t.ok(changelog.indexOf('## 0.2.0') < changelog.indexOf('## 0.1.0'), 'newest first');
});

t.test('deprecation: the annotation Tekton tools read, the replacement, and a README notice', async (t) => {
  const deprecated = definition({ deprecated: { replacement: 'verify-image', reason: 'merged into verify-image' } });
  const task = emitTask(deprecated, (program) => `registry.example.com/x/steps/${program}:0.1.0@sha256:${'c'.repeat(64)}`);
  const annotations = task.metadata.annotations as Record<string, string>;
  t.equal(annotations['tekton.dev/deprecated'], 'true');
  t.equal(annotations[REPLACEMENT_ANNOTATION], 'verify-image');
  t.equal((emitTask(definition(), () => `registry.example.com/x/steps/p:0.1.0@sha256:${'c'.repeat(64)}`).metadata.annotations as Record<string, string>)['tekton.dev/deprecated'], undefined, 'only when deprecated');
  const readme = renderTaskReadme(deprecated, record(digestA, 'draft', deprecated));
  t.match(readme, /^# Demo\n\n> \*\*Deprecated\.\*\* merged into verify-image\. Use verify-image instead\./);
  t.throws(() => definition({ deprecated: { replacement: '' } }), /replacement/, 'a deprecation names its replacement');
});

t.test('release marks versions released, writes the release notes, and checks the committed YAML', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'release-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const yaml = 'kind: Task\n';
  await mkdir(join(dir, 'task', 'demo', '0.1.0'), { recursive: true });
  await writeFile(join(dir, versionYamlPath('demo', '0.1.0')), yaml);
  await writeFile(join(dir, 'index.json'), renderCatalogIndex(indexWith('0.1.0', record(sha256Digest(yaml), 'draft'))));
  const released = await releaseVersions(dir, ['demo']);
  t.same(released.map((r) => [r.name, r.version, r.changed, r.tag]), [['demo', '0.1.0', true, 'demo-v0.1.0']]);
  const index = parseCatalogIndex(await readFile(join(dir, 'index.json'), 'utf8'), 'index')!;
  t.equal(index.tasks.demo!.versions['0.1.0']!.status, 'released');
  t.match(await readFile(join(dir, 'task', 'demo', 'CHANGELOG.md'), 'utf8'), /## 0\.1\.0 \(released, git tag `demo-v0\.1\.0`\)/);
  t.match(await readFile(join(dir, 'README.md'), 'utf8'), /\| demo \| 0\.1\.0 \| released \|/);
  t.same((await releaseVersions(dir, ['demo@0.1.0'])).map((r) => r.changed), [false], 'releasing twice changes nothing');
  await t.rejects(releaseVersions(dir, ['nope']), { code: 'USAGE_UNKNOWN_TASK' });
  await t.rejects(releaseVersions(dir, ['demo@9.9.9']), { code: 'USAGE_UNKNOWN_VERSION' });
  await t.rejects(releaseVersions(dir, ['demo@0.1']), { code: 'USAGE_UNKNOWN_VERSION' });
  await writeFile(join(dir, versionYamlPath('demo', '0.1.0')), 'kind: Task # edited\n');
  await t.rejects(releaseVersions(dir, ['demo']), { code: 'CATALOG_RECORD_MISMATCH' }, 'a version whose committed YAML differs from the record is not released');
});

t.test('the index refuses paths outside the layout, a wrong latest, and old formats', async (t) => {
  const good = indexWith('0.1.0', record(digestA, 'draft'));
  t.ok(parseCatalogIndex(renderCatalogIndex(good), 'index'));
  const escaping = structuredClone(good);
  escaping.tasks.demo!.versions['0.1.0']!.path = '../../etc/passwd';
  t.throws(() => parseCatalogIndex(JSON.stringify(escaping), 'index'), { code: 'CATALOG_INDEX_INVALID' });
  const wrongLatest = structuredClone(good);
  wrongLatest.tasks.demo!.versions['0.2.0'] = record(digestB, 'draft', definition(), '0.2.0');
  t.throws(() => parseCatalogIndex(JSON.stringify(wrongLatest), 'index'), /latest \(0\.1\.0\) is not its highest/);
  const legacy = { schemaVersion: 1, registry: 'r/x', tasks: { demo: { latest: '0.1', versions: { '0.1': { status: 'draft' } } } }, catalogBundles: [] };
  let dropped: string[] = [];
  t.equal(parseCatalogIndex(JSON.stringify(legacy), 'index', { onLegacyDrafts: (v) => (dropped = v) }), undefined, 'a schema 1 index of drafts starts afresh');
  t.same(dropped, ['demo@0.1']);
  const legacyReleased = structuredClone(legacy);
  legacyReleased.tasks.demo.versions['0.1'].status = 'released';
  t.throws(() => parseCatalogIndex(JSON.stringify(legacyReleased), 'index', { onLegacyDrafts: () => {} }), { code: 'CATALOG_INDEX_INVALID' }, 'but not one that released anything');
});
