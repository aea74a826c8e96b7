// Renovate's own extraction (the `renovate` npm package, offline:
// --platform=local --dry-run=extract) over the catalog's READMEs, Task YAML
// and samples: every Task bundle and step image reference the index records
// comes out with a version and a digest, and the catalog bundle's tags are
// not versions to Renovate, so no part is ever offered as an "upgrade" of another.
// The configuration is the README's, and every sample yields a version and a digest.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseCatalogIndex } from '../../src/build/catalog-index.ts';
import { repoRoot } from '../harness/shared.ts';

const RENOVATE = join(repoRoot, 'node_modules', 'renovate', 'dist', 'renovate.js');
/**
 * The configuration a catalog user gives Renovate, read from the README's
 * "Keep references current with Renovate" block, so the documented snippet
 * and the tested one cannot drift apart.
 */
function readmeRenovateConfig(readme: string): Record<string, unknown> {
  const match = /<!-- renovate-config:[^>]*-->\n```json\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no <!-- renovate-config --> JSON block');
  return JSON.parse(match[1]!) as Record<string, unknown>;
}

interface Dep {
  depName: string;
  currentValue?: string;
  currentDigest?: string;
  datasource?: string;
  depType?: string;
}
type Report = { repositories: Record<string, { packageFiles: Record<string, { packageFile: string; deps: Dep[] }[]> }> };

t.test('Renovate extracts a version and a digest for every Task and step image reference', async (t) => {
  t.ok(existsSync(RENOVATE), 'the renovate devDependency is installed (npm ci)');
  if (!existsSync(RENOVATE)) return;
  const work = await mkdtemp(join(tmpdir(), 'renovate-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const repo = join(work, 'repo');
  await cp(join(repoRoot, 'catalog'), join(repo, 'catalog'), { recursive: true });
  await cp(join(repoRoot, 'README.md'), join(repo, 'README.md'));
  const git = (...args: string[]) => promisify(execFile)('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd: repo });
  await git('init', '-q', '.');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'catalog');
  const config = readmeRenovateConfig(await readFile(join(repoRoot, 'README.md'), 'utf8'));
  const configPath = join(work, 'renovate-config.json');
  await writeFile(configPath, JSON.stringify(config));
  const reportPath = join(work, 'report.json');
  await promisify(execFile)(process.execPath, [RENOVATE, '--platform=local', '--dry-run=extract', '--report-type=file', `--report-path=${reportPath}`], {
    cwd: repo,
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      LOG_LEVEL: 'warn',
      RENOVATE_CONFIG_FILE: configPath,
      RENOVATE_BASE_DIR: join(work, 'renovate-base'),
      RENOVATE_ONBOARDING: 'false',
      RENOVATE_REQUIRE_CONFIG: 'ignored',
    },
  });
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
  const files = Object.values(report.repositories)[0]!.packageFiles;
  const deps = Object.values(files).flatMap((list) => list.flatMap((file) => file.deps.map((dep) => ({ ...dep, file: file.packageFile }))));
  const found = (file: RegExp, depName: string, value: string, digest: string) =>
    deps.some((d) => file.test(d.file) && d.depName === depName && d.currentValue === value && d.currentDigest === digest && d.datasource === 'docker');

  const index = parseCatalogIndex(await readFile(join(repoRoot, 'catalog', 'index.json'), 'utf8'), 'index')!;
  let references = 0;
  for (const [name, entry] of Object.entries(index.tasks)) {
    for (const [version, record] of Object.entries(entry.versions)) {
      const bundleRepo = `${index.registry}/tasks/${name}`;
      t.ok(found(/^catalog\/README\.md$/, bundleRepo, version, record.bundle.digest), `catalog README: ${bundleRepo}:${version}@digest`);
      t.ok(found(new RegExp(`^catalog/task/${name}/${version}/README\\.md$`), bundleRepo, version, record.bundle.digest), `the Task README of ${name} ${version}`);
      for (const [program, image] of Object.entries(record.images)) {
        const imageRepo = `${index.registry}/steps/${program}`;
        t.ok(found(/^catalog\/README\.md$/, imageRepo, image.tag, image.index), `catalog README: ${imageRepo}:${image.tag}@digest`);
        t.ok(found(new RegExp(`^catalog/task/${name}/${version}/${name}\\.yaml$`), imageRepo, image.tag, image.index), `the tekton manager reads the step image of ${name} ${version} from its YAML`);
        references++;
      }
      references++;
    }
  }
  t.ok(references >= 8, `${references} Task bundle and step image references checked`);

  // Every reference to this catalog Renovate finds, anywhere (READMEs, CHANGELOGs, Task YAML, samples), is pinned: a version and a digest.
  const catalogDeps = deps.filter((d) => d.depName?.startsWith(`${index.registry}/`));
  t.ok(catalogDeps.length >= references, `${catalogDeps.length} references to the catalog extracted`);
  t.same(catalogDeps.filter((d) => !d.currentValue || !d.currentDigest).map((d) => `${d.file}: ${d.depName}`), [], 'no catalog reference without a version and a digest');
  // Every sample gives Renovate at least one catalog reference with both a version and a digest, so it can move them.
  let samples = 0;
  for (const [name, entry] of Object.entries(index.tasks)) {
    for (const version of Object.keys(entry.versions)) {
      const dir = join('catalog', 'task', name, version, 'samples');
      for (const file of (await readdir(join(repoRoot, dir))).filter((f) => f.endsWith('.yaml'))) {
        const path = `${dir}/${file}`;
        const pinned = catalogDeps.filter((d) => d.file === path && d.currentValue && d.currentDigest);
        samples++;
        t.ok(pinned.length > 0, `${path}: Renovate extracts ${pinned.map((d) => `${d.depName}:${d.currentValue}@digest`).join(', ') || 'nothing'}`);
        t.ok(pinned.some((d) => d.depName === `${index.registry}/tasks/${name}` && d.currentValue === version && d.currentDigest === entry.versions[version]!.bundle.digest), `${path}: its own bundle, version ${version} and the recorded digest`);
      }
    }
  }
  t.ok(samples >= 9, `${samples} sample files checked`);
  const ours = new Set([...Object.keys(index.tasks).map((n) => `${index.registry}/tasks/${n}`), ...Object.values(index.tasks).flatMap((e) => Object.values(e.versions).flatMap((r) => Object.keys(r.images).map((p) => `${index.registry}/steps/${p}`))), `${index.registry}/catalog`]);
  const topReadme = deps.filter((d) => d.file === 'README.md');
  t.same(topReadme.filter((d) => !ours.has(d.depName) || !JSON.stringify(index).includes(d.currentDigest!)), [], 'a pinned reference in the top README is one the index records');

  // The catalog bundle: extracted with its tag and digest, and Renovate's docker versioning does not read its tags as versions.
  const docker = (await import(join(repoRoot, 'node_modules', 'renovate', 'dist', 'modules', 'versioning', 'docker', 'index.js'))) as { api: { isVersion(v: string): boolean; isGreaterThan(a: string, b: string): boolean } };
  for (const bundle of index.catalogBundles) {
    t.ok(found(/^catalog\/README\.md$/, `${index.registry}/catalog`, bundle.tag, bundle.digest), `catalog bundle ${bundle.tag} is extracted with its digest`);
    t.notOk(docker.api.isVersion(bundle.tag), `${bundle.tag} is not a version to Renovate`);
  }
  for (const part of ['latest-part-2', 'latest-part-3']) t.notOk(docker.api.isVersion(part), `${part} is not a version to Renovate`);
  t.ok(docker.api.isVersion('2') && docker.api.isGreaterThan('2', '1'), 'as the old numeric tags were: Renovate would offer catalog:2 as an upgrade of catalog:1');
  for (const version of Object.values(index.tasks).flatMap((e) => Object.keys(e.versions))) t.ok(docker.api.isVersion(version), `${version} is a version to Renovate`);
});
