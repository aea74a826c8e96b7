import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sha256Digest } from '../oci/digest.ts';
import { OciLayout } from '../oci/layout.ts';
import { Annotation } from '../oci/media-types.ts';
import { parseRegistryPrefix } from '../oci/registry-prefix.ts';
import { sourceDateEpoch as sourceDateEpochFromEnv } from '../oci/tar-layer.ts';
import { buildCatalogBundles, buildTaskBundle } from '../bundle/build.ts';
import { assertValidTektonDocument } from '../tekton/validate.ts';
import { toYaml, toYamlStream } from '../tekton/yaml.ts';
import {
  catalogBundleAnnotations,
  epochFromCreated,
  projectMetadata,
  stepImageAnnotations,
  taskBundleAnnotations,
  type ProjectMetadata,
} from './annotations.ts';
import { artifactHubAnnotations, renderArtifactHubRepo } from './artifact-hub.ts';
import { bundleBytes, bundleStep } from './bundle-step.ts';
import {
  emptyIndex,
  readCatalogIndex,
  renderCatalogIndex,
  versionYamlPath,
  type CatalogBundleRecord,
  type CatalogIndex,
  type VersionRecord,
} from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';
import { bundleRefName, LAYOUT_REGISTRY_ANNOTATION } from './dist-layout.ts';
import { buildStepImage, type Arch, type StepImage } from './image.ts';
import { pullBaseImage } from './image/pull-base.ts';
import { loadTaskDefinitions } from './load-definitions.ts';
import { renderCatalogReadme, renderTaskReadme } from './readme.ts';
import { renderRunTest } from './run-test.ts';
import { resolveCatalogBundles, WHOLE_CATALOG } from './sample-refs.ts';
import { CHANGES_ANNOTATION, changesAnnotation, renderChangelog, versionChanges } from './release-notes.ts';
import { compareVersions, highestVersion } from './semver.ts';
import { publishedCatalogPolicies } from '../signing/policy/catalog-policies.ts';
import { emitTask } from './task-emitter.ts';
import { buildCompositions } from './compositions.ts';
import { assertNotBehindRelease, checkVersion, taskInterface, versionsAbove } from './versioning.ts';

/** Where published images and bundles live unless --registry says otherwise. */
export const DEFAULT_REGISTRY = 'ghcr.io/hardened-tekton/catalog';

export interface BuildOptions {
  repoRoot: string;
  /** Default <repoRoot>/tasks: the Task definitions. */
  tasksDir?: string;
  /** Default <repoRoot>/catalog. */
  catalogDir?: string;
  /** Default <repoRoot>/dist: the OCI layout goes to <distDir>/oci (never committed). */
  distDir?: string;
  /** Default <repoRoot>/.cache: downloads and cached runtime layers. */
  cacheDir?: string;
  /** Registry prefix for image and bundle references; default DEFAULT_REGISTRY or $TEKTON_CATALOG_REGISTRY. */
  registry?: string;
  sourceDateEpoch?: number;
  platforms?: Arch[];
  /**
   * The online runtime option: an upstream base image pinned by digest,
   * `<registry>/<repository>@sha256:…` or `oci:<layout-dir>@sha256:…`,
   * instead of the pinned Debian libraries.
   */
  base?: string;
  /** Pull the base over plain HTTP (loopback registries only). */
  basePlainHttp?: boolean;
  /** docker config.json with credentials for the base image's registry. */
  baseDockerConfig?: string;
  /** Token servers on another domain than the base's registry that may receive those credentials. */
  baseTrustedTokenRealms?: readonly string[];
  /** Compare with the committed catalog instead of writing it; dist/oci is left as it was. */
  check?: boolean;
  log?: (line: string) => void;
}

export interface BuiltVersion {
  name: string;
  version: string;
  status: 'draft' | 'released';
  contentDigest: string;
  /** The bundle reference with its digest, as the index records it. */
  bundle: string;
  images: Record<string, string>;
  /** True for the newest version of a Task, built from its source; false for one rebuilt from its committed YAML. */
  fromSource: boolean;
}

export interface BuildReport {
  registry: string;
  layoutDir: string;
  /** The versions built from source: the newest version of each Task. */
  tasks: BuiltVersion[];
  /** Every version the index lists, each with its bundle in the layout. */
  versions: BuiltVersion[];
  catalogBundles: CatalogBundleRecord[];
  /** Drafts above the source's version that the build removed ("name@version"). */
  withdrawn: string[];
  /** Files whose content changed (or would change, with check). */
  changed: string[];
  /** Files removed (or that would be removed, with check). */
  removed: string[];
}

/** The registry prefix to build for, checked: host[:port]/namespace. */
export function resolveRegistry(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined) return parseRegistryPrefix(explicit).prefix;
  if (env.TEKTON_CATALOG_REGISTRY !== undefined) return parseRegistryPrefix(env.TEKTON_CATALOG_REGISTRY, { flag: 'TEKTON_CATALOG_REGISTRY' }).prefix;
  return DEFAULT_REGISTRY;
}

/** `<prefix>/steps/<program>:<tag>@sha256:…`: catlin, Renovate and people read the tag; the digest pins it. */
export function stepImageReference(registry: string, program: string, tag: string, digest: string): string {
  return `${registry}/steps/${program}:${tag}@${digest}`;
}

export function taskBundleReference(registry: string, task: string, version: string, digest: string): string {
  return `${registry}/tasks/${task}:${version}@${digest}`;
}

export function catalogBundleReference(registry: string, tag: string, digest: string): string {
  return `${registry}/catalog:${tag}@${digest}`;
}

/**
 * The catalog generator. catalog/index.json and the committed
 * catalog/task/<name>/<version>/ folders are the record; a build makes
 * exactly what the index lists:
 * - the newest version of each Task from its source (step images, YAML,
 *   README, samples), checked against the record (a released version may
 *   not change, the interface diff decides the bump);
 * - every other recorded version's bundle from its committed YAML, whose
 *   digest must equal the recorded one;
 * - the catalog bundle of the newest versions.
 * Everything is checked before anything is written. The OCI layout is built
 * afresh in a temporary folder and replaces dist/oci only when the build
 * succeeds, so dist/oci never holds anything the index does not list, and a
 * failed build leaves both catalog/ and dist/oci as they were.
 */
export async function buildCatalog(options: BuildOptions): Promise<BuildReport> {
  const log = options.log ?? (() => {});
  const repoRoot = options.repoRoot;
  const catalogDir = options.catalogDir ?? join(repoRoot, 'catalog');
  const distDir = options.distDir ?? join(repoRoot, 'dist');
  const cacheDir = options.cacheDir ?? join(repoRoot, '.cache');
  const registry = resolveRegistry(options.registry);
  const epoch = options.sourceDateEpoch ?? sourceDateEpochFromEnv();
  const layoutDir = join(distDir, 'oci');
  const project = projectMetadata();

  const definitions = await loadTaskDefinitions(options.tasksDir ?? join(repoRoot, 'tasks'));
  const committed = await readCatalogIndex(join(catalogDir, 'index.json'), {
    onLegacyDrafts: (versions) => log(`catalog/index.json is a schema 1 index of drafts only (${versions.join(', ')}): starting the record afresh`),
  });
  const index: CatalogIndex = structuredClone(committed ?? emptyIndex(registry));
  const current = new Map(definitions.map((d) => [d.name, d]));
  const isFromSource = (name: string, version: string) => current.get(name)?.version === version;

  // 1. Which versions exist: the source's version of each Task plus what the index records.
  for (const name of Object.keys(index.tasks)) {
    if (!current.has(name)) {
      throw new CatalogError('BUILD_TASK_REMOVED', `Task ${name} is recorded in catalog/index.json, but tasks/${name}/task.ts is gone`, {
        hint: `pipelines may pin its versions: restore tasks/${name}/task.ts and deprecate it instead (set \`deprecated\` and release a patch version)`,
      });
    }
  }
  const withdrawn: string[] = [];
  for (const definition of definitions) {
    assertNotBehindRelease(index, definition.name, definition.version, taskInterface(definition));
    const entry = index.tasks[definition.name];
    for (const version of versionsAbove(index, definition.name, definition.version).drafts) {
      delete entry!.versions[version];
      withdrawn.push(`${definition.name}@${version}`);
      log(`withdrawn draft ${definition.name} ${version}: tasks/${definition.name}/task.ts declares ${definition.version}, and the source only builds the newest version`);
    }
    if (entry !== undefined) {
      const highest = highestVersion(Object.keys(entry.versions));
      if (highest === undefined) delete index.tasks[definition.name];
      else entry.latest = highest;
    }
  }
  checkRegistry(committed, index, registry, isFromSource, catalogDir, distDir);
  index.registry = registry;

  // 2. Every released version, and every version not built from source, must be its committed YAML, unchanged.
  const recordedYaml = new Map<string, string>();
  for (const [name, entry] of Object.entries(index.tasks)) {
    for (const [version, record] of Object.entries(entry.versions)) {
      if (isFromSource(name, version) && record.status !== 'released') continue;
      recordedYaml.set(`${name}@${version}`, await readRecordedYaml(catalogDir, name, version, record));
    }
  }

  await cleanStaleLayouts(distDir);
  const buildDir = join(distDir, `oci.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const layout = await OciLayout.create(buildDir);
    await layout.annotate({ [LAYOUT_REGISTRY_ANNOTATION]: registry });
    const base = options.base === undefined || options.base.startsWith('oci:')
      ? options.base
      : await pullBaseImage(options.base, {
          cacheDir,
          platforms: options.platforms ?? ['amd64', 'arm64'],
          ...(options.basePlainHttp ? { plainHttp: true } : {}),
          ...(options.baseDockerConfig ? { dockerConfigPath: options.baseDockerConfig } : {}),
          ...(options.baseTrustedTokenRealms ? { trustedTokenRealms: options.baseTrustedTokenRealms, trustedTokenRealmsSetting: '--base-trusted-token-realm' } : {}),
        });
    const images = await buildImages(repoRoot, definitions, { layout, cacheDir, epoch, platforms: options.platforms, base, project, log });

    // 3. The newest version of each Task, from source, checked against the record before any bundle is built.
    const emitted = new Map<string, { definition: TaskDefinition; yaml: string; record: Omit<VersionRecord, 'bundle'> }>();
    for (const definition of definitions) {
      const { name, version } = definition;
      const taskDoc = emitTask(definition, (program) => {
        const image = images.get(program)!;
        return { reference: stepImageReference(registry, program, version, image.index.digest), command: image.entrypoint };
      });
      // Artifact Hub's metadata is the build's, not the Task's: emitTask stays free of project files (the audit step runs it).
      Object.assign(taskDoc.metadata.annotations, artifactHubAnnotations({ name, version, category: definition.artifactHubCategory }, project));
      (taskDoc.metadata.annotations as Record<string, string>)[CHANGES_ANNOTATION] = changesAnnotation(
        versionChanges(name, index.tasks[name], version, { interface: taskInterface(definition), deprecated: definition.deprecated }),
      );
      assertValidTektonDocument(taskDoc, `Task ${name} ${version}`);
      const yaml = toYaml(taskDoc);
      const record: Omit<VersionRecord, 'bundle'> = {
        status: 'draft',
        path: versionYamlPath(name, version),
        contentDigest: sha256Digest(yaml),
        minPipelinesVersion: definition.minPipelinesVersion,
        images: Object.fromEntries(
          [...new Set(definition.steps.map((step) => step.program))].sort().map((program) => {
            const image = images.get(program)!;
            return [
              program,
              {
                reference: stepImageReference(registry, program, version, image.index.digest),
                tag: version,
                index: image.index.digest,
                platforms: Object.fromEntries(
                  image.platforms.map((p) => [
                    p.arch,
                    { manifest: p.manifest.digest, compressedSize: p.compressedSize, uncompressedSize: p.uncompressedSize },
                  ]),
                ),
              },
            ];
          }),
        ),
        interface: taskInterface(definition),
        ...(definition.deprecated === undefined ? {} : { deprecated: definition.deprecated }),
      };
      checkVersion(index, name, version, record);
      for (const sample of definition.samples) {
        sample.documents.forEach((doc, i) => assertValidTektonDocument(doc, `Task ${name} sample ${sample.file} document ${i + 1}`));
      }
      emitted.set(name, { definition, yaml, record });
    }

    // 4. Bundles: every version the index lists, and only those. A draft built from source gets a new bundle;
    // every other version (released, or not the source's) is rebuilt from its committed YAML and recorded
    // annotations, and must come out with the recorded digest.
    for (const { definition, yaml, record } of emitted.values()) {
      const { name, version } = definition;
      const entry = (index.tasks[name] ??= { latest: version, versions: {} });
      // checkVersion proved a released version's content is what was released: its record stays, its bundle is verified below.
      if (entry.versions[version]?.status === 'released') continue;
      const annotations = taskBundleAnnotations(definition, project, epoch);
      const bundle = await buildTaskBundle(layout, [{ apiVersion: 'tekton.dev/v1', kind: 'task', name, yaml }], {
        refName: bundleRefName(name, version),
        sourceDateEpoch: epoch,
        annotations,
      });
      entry.versions[version] = { ...record, bundle: { reference: taskBundleReference(registry, name, version, bundle.digest), digest: bundle.digest, annotations } };
      entry.latest = highestVersion(Object.keys(entry.versions))!;
    }
    for (const [key, yaml] of recordedYaml) {
      const [name, version] = key.split('@') as [string, string];
      const record = index.tasks[name]!.versions[version]!;
      const where = `Task ${name} ${version} (${record.status})`;
      const bundle = await buildTaskBundle(layout, [{ apiVersion: 'tekton.dev/v1', kind: 'task', name, yaml }], {
        refName: bundleRefName(name, version),
        sourceDateEpoch: epochFromCreated(record.bundle.annotations[Annotation.created], `${where} bundle`),
        annotations: record.bundle.annotations,
      });
      if (bundle.digest !== record.bundle.digest) {
        throw new CatalogError(
          'VERSION_BUNDLE_MISMATCH',
          `${where}: its bundle rebuilt from ${record.path} has digest ${bundle.digest}, but catalog/index.json records ${record.bundle.digest}`,
          { hint: 'the record and the committed files disagree: restore catalog/ from git; a recorded version is never rebuilt differently' },
        );
      }
    }
    const versions: BuiltVersion[] = [];
    for (const name of Object.keys(index.tasks).sort()) {
      const entry = index.tasks[name]!;
      for (const version of Object.keys(entry.versions).sort(compareVersions)) {
        const record = entry.versions[version]!;
        const fromSource = isFromSource(name, version);
        versions.push({
          name,
          version,
          status: record.status,
          contentDigest: record.contentDigest,
          bundle: record.bundle.reference,
          images: Object.fromEntries(Object.entries(record.images).map(([program, image]) => [program, image.reference])),
          fromSource,
        });
        log(`task ${name} ${version} (${record.status}, ${fromSource ? 'from source' : 'from its committed YAML'}): ${record.bundle.digest}`);
      }
    }

    const latest = Object.keys(index.tasks)
      .sort()
      .map((name) => {
        const version = index.tasks[name]!.latest;
        return { apiVersion: 'tekton.dev/v1', kind: 'task', name, version, yaml: recordedYaml.get(`${name}@${version}`) ?? emitted.get(name)!.yaml };
      });
    const catalogBundles = await buildCatalogBundles(layout, latest, {
      sourceDateEpoch: epoch,
      annotations: (group) => catalogBundleAnnotations(group, project, epoch),
    });
    index.catalogBundles = catalogBundles.map((bundle) => ({
      reference: catalogBundleReference(registry, bundle.tag, bundle.descriptor.digest),
      tag: bundle.tag,
      digest: bundle.descriptor.digest,
      tasks: bundle.tasks,
    }));

    // 5. The files: drafts built from source are rendered; every other recorded version's folder stays as committed.
    const files = new Map<string, string>();
    for (const { definition, yaml } of emitted.values()) {
      const { name, version } = definition;
      if (recordedYaml.has(`${name}@${version}`)) continue;
      const versionDir = join('task', name, version);
      files.set(join(versionDir, `${name}.yaml`), yaml);
      files.set(join(versionDir, 'README.md'), renderTaskReadme(definition, index.tasks[name]!.versions[version]!));
      for (const sample of definition.samples) {
        const documents = resolveCatalogBundles(sample.documents, (task) => pinnedBundleOf(index, task, `Task ${name} sample ${sample.file}`));
        documents.forEach((doc, i) => assertValidTektonDocument(doc, `Task ${name} sample ${sample.file} document ${i + 1}`));
        files.set(join(versionDir, 'samples', sample.file), toYamlStream(documents));
      }
      const runTest = renderRunTest(definition);
      if (runTest !== undefined) files.set(join(versionDir, 'tests', 'run.yaml'), runTest);
    }
    for (const name of Object.keys(index.tasks)) files.set(join('task', name, 'CHANGELOG.md'), renderChangelog(name, index));
    // StepActions and reference Pipelines are derived from the Task versions just recorded (src/build/compositions.ts).
    const derived = await buildCompositions({ sourceDir: dirname(options.tasksDir ?? join(repoRoot, 'tasks')), index, definitions, images, registry, catalogDir, log });
    for (const [path, content] of derived.files) files.set(path, content);
    files.set('README.md', renderCatalogReadme(index));
    files.set(join('task', 'artifacthub-repo.yml'), renderArtifactHubRepo(project));
    files.set('index.json', renderCatalogIndex(index));
    for (const [path, content] of publishedCatalogPolicies(registry)) files.set(path, content);
    const keptDirs = [...recordedYaml.keys()].map((key) => join('task', ...key.split('@'))).concat(derived.keptDirs);

    const report: BuildReport = {
      registry,
      layoutDir,
      tasks: versions.filter((v) => v.fromSource),
      versions,
      catalogBundles: index.catalogBundles,
      withdrawn,
      changed: [],
      removed: [],
    };
    await syncCatalog(catalogDir, files, keptDirs, report, options.check ?? false);
    if (options.check) {
      await rm(buildDir, { recursive: true, force: true });
    } else {
      await replaceLayout(buildDir, layoutDir);
    }
    return report;
  } catch (error) {
    await rm(buildDir, { recursive: true, force: true });
    throw error;
  }
}

/** The pinned bundle reference of a catalog Task's newest recorded version (or of the catalog bundle), for a sample's `catalogTaskRef`. */
function pinnedBundleOf(index: CatalogIndex, task: string, where: string): string {
  if (task === WHOLE_CATALOG) return index.catalogBundles[0]!.reference;
  const entry = index.tasks[task];
  const record = entry?.versions[entry.latest];
  if (record === undefined) {
    throw new CatalogError('BUILD_SAMPLE_UNKNOWN_TASK', `${where} references catalog Task ${task}, which the catalog does not hold`, {
      hint: `catalogTaskRef() names a Task of this catalog (tasks/<name>/task.ts); use taskRef: {name: ...} for other Tasks`,
    });
  }
  return record.bundle.reference;
}

/**
 * The catalog is built for one registry prefix: every Task names its step
 * images there. Switching the prefix rewrites every version, which is only
 * allowed while every recorded version is a draft built from source.
 */
function checkRegistry(
  committed: CatalogIndex | undefined,
  index: CatalogIndex,
  registry: string,
  isFromSource: (name: string, version: string) => boolean,
  catalogDir: string,
  distDir: string,
): void {
  if (committed === undefined || committed.registry === registry) return;
  const bound: string[] = [];
  for (const [name, entry] of Object.entries(index.tasks)) {
    for (const [version, record] of Object.entries(entry.versions)) {
      if (record.status === 'released' || !isFromSource(name, version)) bound.push(`${name} ${version} (${record.status})`);
    }
  }
  if (bound.length === 0) return;
  const folder = join(relative(process.cwd(), distDir) || '.', registry.replace(/[/:]/g, '-'));
  throw new CatalogError(
    'CONFIG_REGISTRY_CHANGED',
    `${join(catalogDir, 'index.json')} records registry ${committed.registry}, and these versions reference their step images there and cannot change: ${bound.join(', ')}`,
    {
      hint: `build the catalog for ${registry} in folders of its own: npm run build -- --registry ${registry} --catalog ${join(folder, 'catalog')} --dist ${folder}, then npm run publish -- --catalog ${join(folder, 'catalog')} --dist ${folder}`,
    },
  );
}

async function readRecordedYaml(catalogDir: string, name: string, version: string, record: VersionRecord): Promise<string> {
  const path = join(catalogDir, record.path);
  let yaml: string;
  try {
    yaml = await readFile(path, 'utf8');
  } catch {
    throw new CatalogError('CATALOG_RECORD_MISSING', `Task ${name} ${version} (${record.status}) is in catalog/index.json, but ${record.path} is missing`, {
      hint: 'restore catalog/ from git: a recorded version is rebuilt from its committed YAML',
    });
  }
  const digest = sha256Digest(yaml);
  if (digest !== record.contentDigest) {
    throw new CatalogError(
      'CATALOG_RECORD_MISMATCH',
      `Task ${name} ${version} (${record.status}): ${record.path} has content digest ${digest}, but catalog/index.json records ${record.contentDigest}`,
      { hint: 'restore catalog/ from git; only the build writes it, and a recorded version never changes' },
    );
  }
  return yaml;
}

/** Each program's image is tagged with the version of the one Task that runs it. */
function programOwners(definitions: TaskDefinition[]): Map<string, TaskDefinition> {
  const owners = new Map<string, TaskDefinition>();
  for (const definition of definitions) {
    for (const step of definition.steps) {
      const owner = owners.get(step.program);
      if (owner !== undefined && owner.name !== definition.name) {
        throw new CatalogError('BUILD_PROGRAM_SHARED', `step program ${step.program} is used by Tasks ${owner.name} and ${definition.name}`, {
          hint: 'a step image is versioned with the Task it belongs to; give each Task its own program folder under steps/',
        });
      }
      owners.set(step.program, definition);
    }
  }
  return owners;
}

async function buildImages(
  repoRoot: string,
  definitions: TaskDefinition[],
  context: {
    layout: OciLayout;
    cacheDir: string;
    epoch: number;
    platforms: Arch[] | undefined;
    base: string | undefined;
    project: ProjectMetadata;
    log: (line: string) => void;
  },
): Promise<Map<string, StepImage>> {
  const owners = programOwners(definitions);
  const images = new Map<string, StepImage>();
  for (const program of [...owners.keys()].sort()) {
    const bundle = await bundleStep(repoRoot, program);
    const image = await buildStepImage({
      layout: context.layout,
      program,
      bundle: bundle.files,
      cacheDir: context.cacheDir,
      sourceDateEpoch: context.epoch,
      ...(context.platforms ? { platforms: context.platforms } : {}),
      ...(context.base ? { base: context.base } : {}),
      annotations: stepImageAnnotations(program, owners.get(program)!, context.project),
      log: context.log,
    });
    context.log(`image ${program}: ${image.index.digest} (${bundleBytes(bundle)} byte bundle in ${bundle.files.length} file(s))`);
    images.set(program, image);
  }
  return images;
}

/**
 * Writes planned files that differ and removes every other file under the
 * catalog folder: all of it is generated, except the folders of recorded
 * versions that were not built from source, which stay exactly as committed.
 */
async function syncCatalog(catalogDir: string, files: Map<string, string>, keptDirs: string[], report: BuildReport, check: boolean): Promise<void> {
  for (const [path, content] of files) {
    const current = await readFile(join(catalogDir, path), 'utf8').catch(() => undefined);
    if (current !== content) report.changed.push(path);
  }
  for (const path of await listFiles(catalogDir)) {
    if (files.has(path) || keptDirs.some((dir) => path.startsWith(`${dir}/`))) continue;
    report.removed.push(path);
  }
  if (check) return;
  for (const path of report.changed) await writeFileAtomic(join(catalogDir, path), files.get(path)!);
  for (const path of report.removed) await rm(join(catalogDir, path), { force: true });
  await removeEmptyFolders(catalogDir);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() || entry.isSymbolicLink())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function removeEmptyFolders(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return false;
  let empty = true;
  for (const entry of entries) {
    if (entry.isDirectory() && (await removeEmptyFolders(join(dir, entry.name)))) {
      await rm(join(dir, entry.name), { recursive: true, force: true });
      continue;
    }
    empty = false;
  }
  return empty;
}

/** Swaps the freshly built layout in: the old one is renamed away first, so dist/oci is always one whole build. */
async function replaceLayout(built: string, target: string): Promise<void> {
  const old = `${target}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  await rename(target, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(built, target);
  await rm(old, { recursive: true, force: true });
}

/** Temporary layouts left by builds that were killed (their process is gone). */
async function cleanStaleLayouts(distDir: string): Promise<void> {
  const names = await readdir(distDir).catch(() => [] as string[]);
  for (const name of names) {
    const match = /^oci\.(?:new|old)-(\d+)-[0-9a-f]+$/.exec(name);
    if (match && !processAlive(Number(match[1]))) await rm(join(distDir, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
