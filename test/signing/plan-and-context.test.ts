import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCatalogIndex } from '../../src/build/catalog-index.ts';
import { LOCAL_BUILDER_ID, normaliseRepositoryUrl, resolveBuildContext } from '../../src/signing/attestations/build-context.ts';
import { provenancePredicate, provenanceSource } from '../../src/signing/attestations/provenance.ts';
import { planSigning } from '../../src/signing/plan.ts';
import { repoRoot } from '../harness/shared.ts';

t.test('the plan is exactly the digests the committed index records, once each, images first', async (t) => {
  const index = (await readCatalogIndex(join(repoRoot, 'catalog', 'index.json')))!;
  const plan = planSigning(index);
  const images = new Map<string, number>();
  const bundles = new Set<string>();
  for (const entry of Object.values(index.tasks)) {
    for (const version of Object.values(entry.versions)) {
      for (const image of Object.values(version.images)) images.set(image.index, Object.keys(image.platforms).length);
      bundles.add(version.bundle.digest);
    }
  }
  const expected = [...images.values()].reduce((sum, platforms) => sum + 1 + platforms, 0) + bundles.size + index.catalogBundles.length;
  t.equal(plan.length, expected, `${expected} digests: each image index and platform manifest, each Task bundle, each catalog bundle`);
  t.equal(new Set(plan.map((target) => target.reference)).size, plan.length, 'no digest twice');
  const kinds = plan.map((target) => target.kind);
  t.same(kinds, [...kinds].sort((a, b) => ['step-image', 'step-image-platform', 'task-bundle', 'catalog-bundle'].indexOf(a) - ['step-image', 'step-image-platform', 'task-bundle', 'catalog-bundle'].indexOf(b)), 'images before what refers to them');
  for (const target of plan) t.match(target.reference, new RegExp(`^${index.registry.split('/')[0]}/.+@${target.digest}$`), `${target.label}: signed where the index says, by digest`);
});

t.test('repository URLs normalise to plain https; anything else is refused', async (t) => {
  const cases: [string, string][] = [
    ['https://github.com/org/repo', 'https://github.com/org/repo'],
    ['https://github.com/org/repo.git', 'https://github.com/org/repo'],
    ['git@github.com:org/repo.git', 'https://github.com/org/repo'],
    ['git+https://github.com/org/repo/', 'https://github.com/org/repo'],
    ['ssh://git@github.com/org/repo.git', 'https://github.com/org/repo'],
  ];
  for (const [input, expected] of cases) t.equal(normaliseRepositoryUrl(input), expected, input);
  for (const bad of ['http://github.com/org/repo', 'https://user:token@github.com/org/repo', 'https://github.com/org/repo?x=1', 'not a url']) {
    t.throws(() => normaliseRepositoryUrl(bad), { code: 'SIGN_SOURCE_UNKNOWN' }, `${bad} is refused`);
  }
});

t.test('the build context: GitHub Actions environment, else git, and a dirty tree is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'context-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'src/build/runtime'), { recursive: true });
  await cp(join(repoRoot, 'src/build/runtime/runtime.lock.json'), join(dir, 'src/build/runtime/runtime.lock.json'));
  await cp(join(repoRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'hardened-tekton-catalog', version: '9.9.9' }));

  const github = await resolveBuildContext(dir, { registry: 'ghcr.io/org/tekton' }, {
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'org/catalog',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW_REF: 'org/catalog/.github/workflows/release.yml@refs/heads/main',
    GITHUB_RUN_ID: '42',
    GITHUB_RUN_ATTEMPT: '2',
  });
  t.equal(github.sourceRepository, 'https://github.com/org/catalog');
  t.equal(github.sourceCommit, 'a'.repeat(40));
  t.equal(github.builderId, 'https://github.com/org/catalog/.github/workflows/release.yml@refs/heads/main', 'the builder is the workflow, as the certificate names it');
  t.equal(github.invocationId, 'https://github.com/org/catalog/actions/runs/42/attempts/2');
  t.equal(github.builderVersion['hardened-tekton-catalog'], '9.9.9');
  t.equal(github.buildCommand, 'npm ci && npm run build -- --registry ghcr.io/org/tekton');
  t.same(github.lockFiles.map((file) => file.path), ['src/build/runtime/runtime.lock.json', 'package-lock.json']);
  const predicate = provenancePredicate(github, { label: 'x' });
  t.same(provenanceSource(predicate), { repository: 'https://github.com/org/catalog', commit: 'a'.repeat(40) }, 'what verify-catalog reads back');
  const forged = structuredClone(predicate) as { buildDefinition: { resolvedDependencies: { digest: Record<string, string> }[] } };
  forged.buildDefinition.resolvedDependencies[0]!.digest.gitCommit = 'b'.repeat(40);
  t.equal(provenanceSource(forged), undefined, 'a provenance whose source commit is not among its resolved dependencies names no source');

  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.test', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('remote', 'add', 'origin', 'git@github.com:org/catalog.git');
  git('add', '.');
  git('commit', '-qm', 'x');
  const local = await resolveBuildContext(dir, { registry: 'r' }, {});
  t.equal(local.sourceCommit, git('rev-parse', 'HEAD'), 'the commit from git');
  t.equal(local.sourceRepository, 'https://github.com/org/catalog', 'the repository from the origin remote');
  t.equal(local.builderId, LOCAL_BUILDER_ID);
  await writeFile(join(dir, 'package-lock.json'), `${await readFile(join(dir, 'package-lock.json'), 'utf8')}\n`);
  await t.rejects(resolveBuildContext(dir, { registry: 'r' }, {}), { code: 'SIGN_SOURCE_DIRTY' }, 'uncommitted changes: no commit describes the build');
  t.ok(await resolveBuildContext(dir, { registry: 'r', allowDirty: true }, {}), '--allow-dirty accepts it');
  await t.rejects(resolveBuildContext(dir, { registry: 'r', sourceCommit: 'HEAD' }, {}), { code: 'SIGN_SOURCE_UNKNOWN' }, 'a commit must be a full SHA');
});
