// The committed catalog against Artifact Hub's Tekton tracker, rule by rule
// (sources and stored commits in ./artifacthub-rules.ts). Registering
// https://github.com/hardened-tekton/catalog/catalog/task as a "Tekton tasks"
// repository (directory-based versioning) makes the tracker walk
// catalog/task/<name>/<version>/ exactly as below; a version breaking any of
// these rules would be skipped with nothing but a warning in its log.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { CATALOG_MAINTAINER, MIN_PIPELINES_VERSION } from '../../src/build/catalog-metadata.ts';
import { repoRoot } from '../harness/shared.ts';
import { CATEGORY_NAMES, changesProblems, listOfMappingsProblems, mastermindsString, parsesAsReference } from './artifacthub-rules.ts';

const basePath = join(repoRoot, 'catalog', 'task');

type Manifest = { kind?: string; metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { description?: string; steps?: { image?: string }[] } };

/** Everything the tracker would reject in one version folder, as messages (empty: indexed). */
function versionProblems(pkgName: string, folder: string, pkgPath: string): string[] {
  const problems: string[] = [];
  // TEKTON GetManifest: <pkgPath>/<pkgName>.yaml, unmarshalled as a v1 Task.
  let manifest: Manifest;
  try {
    manifest = parse(readFileSync(join(pkgPath, `${pkgName}.yaml`), 'utf8')) as Manifest;
  } catch (error) {
    return [`manifest ${pkgName}.yaml: ${(error as Error).message}`];
  }
  if (manifest.kind !== 'Task') problems.push('manifest is not a Task');
  // TEKTON validateManifest: name, the app.kubernetes.io/version label (semver) and spec.description are required.
  const label = manifest.metadata?.labels?.['app.kubernetes.io/version'] ?? '';
  if (!manifest.metadata?.name) problems.push('name not provided');
  if (label === '') problems.push('version not provided');
  else if (mastermindsString(label) === undefined) problems.push(`invalid version (semver expected): ${label}`);
  if (!manifest.spec?.description) problems.push('description not provided');
  // TEKTON PreparePackage: semver(label).String() must equal semver(folder).String().
  if (mastermindsString(label) !== undefined && mastermindsString(label) !== mastermindsString(folder)) {
    problems.push(`version mismatch (${mastermindsString(label)} != ${mastermindsString(folder)})`);
  }
  // TEKTON PreparePackage + META ValidateContainersImages: every step image (after param defaults) parses as a reference.
  for (const step of manifest.spec?.steps ?? []) {
    if (step.image && !parsesAsReference(step.image)) problems.push(`invalid image reference: ${step.image}`);
  }
  // FILES ReadRegularFile: README.md is read only when it is a regular file (a link is ignored).
  if (!isRegularFile(join(pkgPath, 'README.md'))) problems.push('README.md is missing or not a regular file');
  // GENERIC GetFilesWithSuffix(".yaml", <pkgPath>/samples): every file there must be readable as a regular file, or the version is dropped.
  const samples = join(pkgPath, 'samples');
  for (const entry of readdirSync(samples, { recursive: true, withFileTypes: true })) {
    if (entry.name.endsWith('.yaml') && !entry.isDirectory() && !entry.isFile()) problems.push(`samples/${entry.name} is not a regular file`);
  }
  // TEKTON enrichPackageFromAnnotations: any error drops the version.
  const annotations = manifest.metadata?.annotations ?? {};
  const category = annotations['artifacthub.io/category'];
  if (category !== undefined && !CATEGORY_NAMES.includes(category)) problems.push(`invalid category name: ${category}`);
  if (annotations['artifacthub.io/changes'] !== undefined) problems.push(...changesProblems(annotations['artifacthub.io/changes']).map((p) => `changes: ${p}`));
  if (annotations['artifacthub.io/links'] !== undefined) problems.push(...listOfMappingsProblems(annotations['artifacthub.io/links'], ['name', 'url']).map((p) => `links: ${p}`));
  if (annotations['artifacthub.io/maintainers'] !== undefined) problems.push(...listOfMappingsProblems(annotations['artifacthub.io/maintainers'], ['email']).map((p) => `maintainers: ${p}`));
  return problems;
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** TEKTON processDirBasedCatalog: <base>/<pkg>/<version>/ for every version folder that parses as Masterminds semver. */
function versionFolders(): { pkgName: string; folder: string; pkgPath: string }[] {
  const out: { pkgName: string; folder: string; pkgPath: string }[] = [];
  for (const pkg of readdirSync(basePath, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    for (const version of readdirSync(join(basePath, pkg.name), { withFileTypes: true })) {
      if (!version.isDirectory() || mastermindsString(version.name) === undefined) continue;
      out.push({ pkgName: pkg.name, folder: version.name, pkgPath: join(basePath, pkg.name, version.name) });
    }
  }
  return out;
}

t.test('every Task version in catalog/task is one Artifact Hub indexes, with our metadata', async (t) => {
  const versions = versionFolders();
  t.ok(versions.length >= 6, `${versions.length} Task versions found`);
  for (const { pkgName, folder, pkgPath } of versions) {
    const where = `${pkgName} ${folder}`;
    t.same(versionProblems(pkgName, folder, pkgPath), [], `${where} passes the tracker's checks`);
    const manifest = parse(readFileSync(join(pkgPath, `${pkgName}.yaml`), 'utf8')) as Manifest;
    const annotations = manifest.metadata!.annotations!;
    // Not optional for us: the catalog sets each of them on every Task.
    for (const key of ['category', 'changes', 'license', 'links', 'maintainers', 'provider']) {
      t.ok(annotations[`artifacthub.io/${key}`], `${where} has artifacthub.io/${key}`);
    }
    t.same(parse(annotations['artifacthub.io/maintainers']!), [{ ...CATALOG_MAINTAINER }], `${where}: the catalog's maintainer, with an email`);
    t.equal(annotations['tekton.dev/pipelines.minVersion'], MIN_PIPELINES_VERSION, `${where}: minVersion is the catalog floor`);
    t.equal(manifest.metadata!.name, pkgName, `${where}: the folder is named after the Task (tektoncd/catalog layout)`);
    const samples = readdirSync(join(pkgPath, 'samples')).filter((name) => name.endsWith('.yaml'));
    t.ok(samples.length > 0, `${where}: samples/*.yaml are found as examples (${samples.join(', ')})`);
  }
});

t.test('catalog/task/artifacthub-repo.yml is where the tracker looks, and valid', async (t) => {
  // REPO locateMetadataFile: <clone>/<packages path>/artifacthub-repo(.yml|.yaml) for TektonTask repositories.
  const path = join(basePath, 'artifacthub-repo.yml');
  t.ok(isRegularFile(path), 'artifacthub-repo.yml sits at the packages path');
  const metadata = parse(readFileSync(path, 'utf8')) as { repositoryID?: string; owners?: unknown };
  // REPO GetMetadata: a repositoryID, when present, must be a UUID.
  if (metadata.repositoryID !== undefined) t.match(metadata.repositoryID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  t.same(listOfMappingsProblems(JSON.stringify(metadata.owners), ['name', 'email']), [], 'owners: a list of {name, email} (ownership claims match the email)');
  t.same(metadata.owners, [{ ...CATALOG_MAINTAINER }], 'the owner is the maintainer the Tasks name');
});

t.test('the rules themselves reject what Artifact Hub rejects', async (t) => {
  // Masterminds: lenient parse, compared as String().
  t.equal(mastermindsString('v1.2'), '1.2.0');
  t.equal(mastermindsString('0.1.0'), '0.1.0');
  t.equal(mastermindsString('1.0.0-rc.1+build.5'), '1.0.0-rc.1+build.5');
  for (const bad of ['', '1.2.3.4', 'latest', '1.0.0-01', 'V1.0.0', '1.0.0-', '18446744073709551616.0.0']) t.equal(mastermindsString(bad), undefined, `${JSON.stringify(bad)} is not a version`);
  // go-containerregistry references (weak validation: an empty tag is no tag; a repository needs 2 characters).
  for (const good of ['alpine', 'ghcr.io/a/b:1.0@sha256:' + 'a'.repeat(64), 'localhost:5000/x/y', 'r.example/xy@sha256:' + '0'.repeat(64), 'ghcr.io/a/b:']) t.ok(parsesAsReference(good), `${good} parses`);
  for (const bad of ['https://ghcr.io/a/b', 'ghcr.io/A/b', 'r.example/x', 'ghcr.io/a/b@sha256:abc', '$(params.image)', 'a', 'ghcr.io/a/b:' + 't'.repeat(128)]) t.notOk(parsesAsReference(bad), `${bad} does not parse`);
  // Changes.
  t.same(changesProblems('- kind: added\n  description: x\n'), []);
  t.same(changesProblems('- Added cool feature\n- Fixed minor bug\n'), [], 'a list of strings is accepted');
  t.same(changesProblems('- kind: ADDED\n  description: x\n'), [], 'kinds compare lower-cased');
  t.ok(changesProblems('- kind: new\n  description: x\n').length > 0, 'unknown kind');
  t.ok(changesProblems('- kind: added\n').length > 0, 'no description');
  t.ok(changesProblems('- kind: added\n  description: x\n  links: [{name: a}]\n').length > 0, 'link without url');
  t.ok(changesProblems('kind: added\n').length > 0, 'a mapping, not a list');
  // Links and maintainers.
  t.same(listOfMappingsProblems('- name: a\n  email: a@b\n', ['email']), []);
  t.ok(listOfMappingsProblems('- name: a\n', ['email']).length > 0, 'maintainer without email');
  t.ok(listOfMappingsProblems('name: a\nemail: a@b\n', ['email']).length > 0, 'a mapping, not a list');
  t.ok(listOfMappingsProblems('- https://x\n', ['name', 'url']).length > 0, 'a list of strings');
  // The whole version check, on a copy of a real version with one thing broken at a time.
  const { pkgName, folder, pkgPath } = versionFolders()[0]!;
  const { cp, mkdtemp, rm, writeFile, symlink } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { stringify } = await import('yaml');
  const work = await mkdtemp(join(tmpdir(), 'artifacthub-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const breakages: [string, (m: Manifest & Record<string, any>) => void, RegExp][] = [
    ['Security is not a category name', (m) => (m.metadata!.annotations!['artifacthub.io/category'] = 'Security'), /invalid category/],
    ['maintainer without email', (m) => (m.metadata!.annotations!['artifacthub.io/maintainers'] = '- name: x\n'), /email not provided/],
    ['label differs from folder', (m) => (m.metadata!.labels!['app.kubernetes.io/version'] = '0.2.0'), /version mismatch/],
    ['no description', (m) => delete m.spec!.description, /description not provided/],
    ['image from a param', (m) => (m.spec!.steps![0]!.image = '$(params.image)'), /invalid image reference/],
  ];
  for (const [label, breakIt, expected] of breakages) {
    const dir = join(work, label.replace(/\W+/g, '-'));
    await cp(pkgPath, dir, { recursive: true });
    const manifest = parse(readFileSync(join(dir, `${pkgName}.yaml`), 'utf8')) as Manifest;
    breakIt(manifest as Manifest & Record<string, any>);
    await writeFile(join(dir, `${pkgName}.yaml`), stringify(manifest));
    t.match(versionProblems(pkgName, folder, dir).join('\n'), expected, label);
  }
  const linked = join(work, 'linked-readme');
  await cp(pkgPath, linked, { recursive: true });
  await rm(join(linked, 'README.md'));
  await symlink(join(pkgPath, 'README.md'), join(linked, 'README.md'));
  t.match(versionProblems(pkgName, folder, linked).join('\n'), /README\.md/, 'a linked README is not read');
});
