import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sha256Digest } from '../oci/digest.ts';
import { OciLayout } from '../oci/layout.ts';
import { sourceDateEpoch as sourceDateEpochFromEnv } from '../oci/tar-layer.ts';
import { buildCatalogBundles, buildTaskBundle } from '../bundle/build.ts';
import { assertValidTektonDocument } from '../tekton/validate.ts';
import { toYaml, toYamlStream } from '../tekton/yaml.ts';
import { bundleStep } from './bundle-step.ts';
import {
  emptyIndex,
  readCatalogIndex,
  renderCatalogIndex,
  compareVersions,
  type CatalogIndex,
  type VersionRecord,
} from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';
import { buildStepImage, type Arch, type StepImage } from './image.ts';
import { pullBaseImage } from './image/pull-base.ts';
import { loadTaskDefinitions } from './load-definitions.ts';
import { renderCatalogReadme, renderTaskReadme } from './readme.ts';
import { publishedCatalogPolicies } from '../signing/policy/catalog-policies.ts';
import { emitTask } from './task-emitter.ts';
import { checkVersion, taskInterface } from './versioning.ts';

/** Where published images and bundles live unless --registry says otherwise. */
export const DEFAULT_REGISTRY = 'ghcr.io/hardened-tekton/catalog';

export interface BuildOptions {
  repoRoot: string;
  /** Default <repoRoot>/catalog. */
  catalogDir?: string;
  /** Default <repoRoot>/dist: bundles and the OCI layout go here (never committed). */
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
  /** Compare with the committed catalog instead of writing it. */
  check?: boolean;
  log?: (line: string) => void;
}

export interface BuildReport {
  registry: string;
  layoutDir: string;
  tasks: { name: string; version: string; contentDigest: string; bundle: string; images: Record<string, string> }[];
  catalogBundles: { reference: string; digest: string; tasks: string[] }[];
  /** Files whose content changed (or would change, with check). */
  changed: string[];
  /** Files removed (or that would be removed, with check). */
  removed: string[];
}

const REGISTRY_PREFIX = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/;

export function resolveRegistry(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const registry = explicit ?? env.TEKTON_CATALOG_REGISTRY ?? DEFAULT_REGISTRY;
  if (!REGISTRY_PREFIX.test(registry)) {
    throw new CatalogError('CONFIG_REGISTRY', `registry prefix ${JSON.stringify(registry)} is not of the form host[:port]/namespace`, {
      hint: 'use lower-case letters, digits, ".", "-", "_" and "/", e.g. ghcr.io/my-org/tekton',
    });
  }
  return registry;
}

export function stepImageReference(registry: string, program: string, digest: string): string {
  return `${registry}/steps/${program}@${digest}`;
}

export function taskBundleReference(registry: string, task: string, version: string, digest: string): string {
  return `${registry}/tasks/${task}:${version}@${digest}`;
}

/**
 * The catalog generator: bundles every step program, builds its image,
 * emits each Task version with pinned digests, validates it, builds its
 * Tekton bundle and records everything in catalog/index.json. All checks run
 * before the first file is written, so a failed build leaves the catalog as
 * it was.
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

  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  const committedIndex = await readCatalogIndex(join(catalogDir, 'index.json'));
  const index: CatalogIndex = structuredClone(committedIndex ?? emptyIndex(registry));
  index.registry = registry;

  const layout = await OciLayout.create(layoutDir);
  const base = options.base === undefined || options.base.startsWith('oci:')
    ? options.base
    : await pullBaseImage(options.base, {
        cacheDir,
        platforms: options.platforms ?? ['amd64', 'arm64'],
        ...(options.basePlainHttp ? { plainHttp: true } : {}),
        ...(options.baseDockerConfig ? { dockerConfigPath: options.baseDockerConfig } : {}),
      });
  const images = await buildImages(repoRoot, definitions, { layout, cacheDir, epoch, platforms: options.platforms, base, log });

  const files = new Map<string, string>();
  const report: BuildReport = { registry, layoutDir, tasks: [], catalogBundles: [], changed: [], removed: [] };
  const latestTasks: { name: string; yaml: string }[] = [];

  for (const definition of definitions) {
    const { name, version } = definition;
    const taskDoc = emitTask(definition, (program) => stepImageReference(registry, program, images.get(program)!.index.digest));
    assertValidTektonDocument(taskDoc, `Task ${name} ${version}`);
    const taskYaml = toYaml(taskDoc);
    const versionDir = join('task', name, version);

    const bundle = await buildTaskBundle(layout, [{ apiVersion: taskDoc.apiVersion, kind: 'task', name, yaml: taskYaml }], {
      refName: `bundle-${name}-${version}`,
      sourceDateEpoch: epoch,
    });
    const record: VersionRecord = {
      status: committedIndex?.tasks[name]?.versions[version]?.status ?? 'draft',
      path: join(versionDir, `${name}.yaml`),
      contentDigest: sha256Digest(taskYaml),
      minPipelinesVersion: definition.minPipelinesVersion,
      images: Object.fromEntries(
        [...new Set(definition.steps.map((step) => step.program))].sort().map((program) => {
          const image = images.get(program)!;
          return [
            program,
            {
              reference: stepImageReference(registry, program, image.index.digest),
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
      bundle: { reference: taskBundleReference(registry, name, version, bundle.digest), digest: bundle.digest },
      interface: taskInterface(definition),
    };
    checkVersion(committedIndex, name, version, record);

    const entry = (index.tasks[name] ??= { latest: version, versions: {} });
    entry.versions[version] = record;
    entry.latest = Object.keys(entry.versions).sort(compareVersions).at(-1)!;

    files.set(join(versionDir, `${name}.yaml`), taskYaml);
    files.set(join(versionDir, 'README.md'), renderTaskReadme(definition, record));
    for (const sample of definition.samples) {
      sample.documents.forEach((doc, i) => assertValidTektonDocument(doc, `Task ${name} sample ${sample.file} document ${i + 1}`));
      files.set(join(versionDir, 'samples', sample.file), toYamlStream(sample.documents));
    }
    latestTasks.push({ name, yaml: taskYaml });
    report.tasks.push({
      name,
      version,
      contentDigest: record.contentDigest,
      bundle: record.bundle.reference,
      images: Object.fromEntries(Object.entries(record.images).map(([program, image]) => [program, image.reference])),
    });
    log(`task ${name} ${version}: ${record.contentDigest}`);
  }

  const catalogBundles = await buildCatalogBundles(
    layout,
    latestTasks.map((task) => ({ apiVersion: 'tekton.dev/v1', kind: 'task', name: task.name, yaml: task.yaml })),
    { refNamePrefix: 'catalog', sourceDateEpoch: epoch },
  );
  index.catalogBundles = catalogBundles.map((bundle, i) => ({
    reference: `${registry}/catalog:${i + 1}@${bundle.descriptor.digest}`,
    digest: bundle.descriptor.digest,
    tasks: bundle.names,
  }));
  report.catalogBundles = index.catalogBundles;

  files.set(
    'README.md',
    renderCatalogReadme(
      Object.keys(index.tasks)
        .sort()
        .map((name) => {
          const entry = index.tasks[name]!;
          const definition = definitions.find((d) => d.name === name);
          return {
            name,
            latest: entry.latest,
            versions: Object.keys(entry.versions).sort(compareVersions),
            summary: definition?.summary ?? '',
          };
        }),
    ),
  );
  files.set('index.json', renderCatalogIndex(index));
  for (const [path, content] of publishedCatalogPolicies(registry)) files.set(path, content);

  await syncCatalog(catalogDir, definitions, files, report, options.check ?? false);
  return report;
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
    log: (line: string) => void;
  },
): Promise<Map<string, StepImage>> {
  const programs = [...new Set(definitions.flatMap((d) => d.steps.map((s) => s.program)))].sort();
  const images = new Map<string, StepImage>();
  for (const program of programs) {
    const bundle = await bundleStep(repoRoot, program);
    const image = await buildStepImage({
      layout: context.layout,
      program,
      bundle: bundle.code,
      cacheDir: context.cacheDir,
      sourceDateEpoch: context.epoch,
      ...(context.platforms ? { platforms: context.platforms } : {}),
      ...(context.base ? { base: context.base } : {}),
      log: context.log,
    });
    context.log(`image ${program}: ${image.index.digest} (${bundle.code.byteLength} byte bundle)`);
    images.set(program, image);
  }
  return images;
}

/**
 * Writes planned files that differ and removes generated files that are no
 * longer planned, but only inside the versions this build produced: older
 * versions are immutable records and stay as committed.
 */
async function syncCatalog(
  catalogDir: string,
  definitions: TaskDefinition[],
  files: Map<string, string>,
  report: BuildReport,
  check: boolean,
): Promise<void> {
  for (const [path, content] of files) {
    const current = await readFile(join(catalogDir, path), 'utf8').catch(() => undefined);
    if (current !== content) report.changed.push(path);
  }
  for (const definition of definitions) {
    const versionDir = join('task', definition.name, definition.version);
    for (const path of await listFiles(join(catalogDir, versionDir))) {
      const relativePath = join(versionDir, path);
      if (!files.has(relativePath)) report.removed.push(relativePath);
    }
  }
  if (check) return;
  for (const path of report.changed) await writeFileAtomic(join(catalogDir, path), files.get(path)!);
  for (const path of report.removed) await rm(join(catalogDir, path), { force: true });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}
