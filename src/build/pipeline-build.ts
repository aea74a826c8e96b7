import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { $ZodError } from 'zod/v4/core';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { HardeningKit } from '../kit/kit.ts';
import { parseKitConfig } from '../kit/config/kit-config.ts';
import type { PipelineDocument } from '../kit/pipeline/pipeline-tasks.ts';
import { renderCommented } from '../kit/render/commented-yaml.ts';
import { sha256Digest } from '../oci/digest.ts';
import { assertValidTektonDocument } from '../tekton/validate.ts';
import { toYaml, toYamlStream } from '../tekton/yaml.ts';
import { pipelineYamlPath, type CatalogIndex, type PipelineEntry, type PipelineVersionRecord, type TaskInterface } from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';
import { PipelineDefinitionSchema, type PipelineDefinition } from './pipeline-definition.ts';
import { renderPipelineChangelog, renderPipelineReadme, renderPipelinesIndex } from './pipeline-readme.ts';
import { versionChanges } from './release-notes.ts';
import { compareVersions, highestVersion } from './semver.ts';
import type { DerivedFiles } from './stepaction-build.ts';
import { listingAnnotations, paramSpecs } from './task-emitter.ts';
import { checkVersionIn, versionsAboveIn } from './versioning.ts';

/**
 * The catalog's reference Pipelines (catalog/pipeline/<name>/<version>/):
 * built from pipelines/<name>/pipeline.ts with every catalog Task pinned to
 * the bundle of its version in the index, each with the kit generated for it
 * (src/kit) in kit/. Recorded in catalog/index.json under `pipelines` and
 * held to the Tasks' rules: the source builds only the newest version; a
 * released version never changes, neither its YAML nor its kit (a different
 * build fails and names the version to bump to); the interface diff decides
 * the bump; every other recorded version stays exactly as committed; and a
 * released Pipeline may only pin released Task versions, whose bundles never
 * change either.
 */

export async function loadPipelineDefinitions(dir: string): Promise<PipelineDefinition[]> {
  if (!existsSync(dir)) return [];
  const folders = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const definitions: PipelineDefinition[] = [];
  for (const folder of folders) {
    const file = join(dir, folder, 'pipeline.ts');
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw invalid(folder, error);
    }
    const parsed = PipelineDefinitionSchema.safeParse(module.default);
    if (!parsed.success) throw invalid(folder, parsed.error);
    if (parsed.data.name !== folder) {
      throw new CatalogError('DEFINITION_NAME_MISMATCH', `pipelines/${folder}/pipeline.ts declares a Pipeline named ${parsed.data.name}`, { hint: `rename the folder or the Pipeline so both are ${folder}` });
    }
    definitions.push(parsed.data);
  }
  return definitions;
}

function invalid(folder: string, error: unknown): CatalogError {
  if (error instanceof $ZodError) {
    const issues = error.issues.map((issue) => `  ${issue.path.join('.') || '(definition)'}: ${issue.message}`).join('\n');
    return new CatalogError('DEFINITION_INVALID', `pipelines/${folder}/pipeline.ts is not a valid Pipeline definition:\n${issues}`, { hint: 'see src/build/pipeline-definition.ts' });
  }
  return new CatalogError('DEFINITION_LOAD_FAILED', `pipelines/${folder}/pipeline.ts could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export function pipelineInterface(definition: PipelineDefinition): TaskInterface {
  return {
    params: definition.params.map((param) => ({ name: param.name, type: param.type, rule: param.rule.type, required: param.default === undefined })),
    results: definition.results.map((result) => ({ name: result.name, type: 'string' })),
    workspaces: definition.workspaces.map((workspace) => ({ name: workspace.name, optional: workspace.optional })),
  };
}

/** The catalog Task a `taskRef: {catalog}` names, as the index records its newest version. */
export interface PinnedTask {
  name: string;
  version: string;
  bundle: string;
  minPipelinesVersion: string;
  status: 'draft' | 'released';
}

function maxVersion(versions: string[]): string {
  return [...versions].sort(compareVersions).at(-1)!;
}

/** The Pipeline document: catalog Task references pinned by bundle digest. */
export function emitPipeline(definition: PipelineDefinition, pin: (task: string) => PinnedTask): { document: Record<string, unknown>; tasks: PinnedTask[] } {
  const used = new Map<string, PinnedTask>();
  const resolve = (task: Record<string, unknown>) => {
    const ref = task.taskRef as { catalog?: unknown } | undefined;
    if (ref === undefined || ref.catalog === undefined) return task;
    if (typeof ref.catalog !== 'string' || Object.keys(ref).length !== 1) {
      throw new CatalogError('DEFINITION_INVALID', `pipelines/${definition.name}: pipeline task ${quoteUntrusted(String(task.name))}: taskRef {catalog} takes one Task name and nothing else`);
    }
    const pinned = pin(ref.catalog);
    used.set(pinned.name, pinned);
    return {
      ...task,
      taskRef: {
        resolver: 'bundles',
        params: [
          { name: 'bundle', value: pinned.bundle },
          { name: 'name', value: pinned.name },
          { name: 'kind', value: 'task' },
        ],
      },
    };
  };
  const tasks = definition.tasks.map(resolve);
  const finallyTasks = definition.finally.map(resolve);
  const pinned = [...used.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const minPipelinesVersion = maxVersion([definition.minPipelinesVersion, ...pinned.map((task) => task.minPipelinesVersion)]);
  const document = {
    apiVersion: 'tekton.dev/v1',
    kind: 'Pipeline',
    metadata: {
      name: definition.name,
      labels: { 'app.kubernetes.io/version': definition.version },
      annotations: listingAnnotations(definition, minPipelinesVersion),
    },
    spec: {
      description: `${definition.summary}\n\n${definition.description.trim()}\n`,
      ...(definition.params.length > 0 ? { params: paramSpecs(definition.params) } : {}),
      workspaces: definition.workspaces.map((workspace) => ({ name: workspace.name, description: workspace.description, ...(workspace.optional ? { optional: true } : {}) })),
      ...(definition.results.length > 0 ? { results: definition.results.map((result) => ({ name: result.name, description: result.description, value: result.value })) } : {}),
      tasks,
      ...(finallyTasks.length > 0 ? { finally: finallyTasks } : {}),
    },
  };
  return { document, tasks: pinned };
}

/** sha256 over the kit's files: each name, NUL, content, NUL, sorted by name. */
export function kitDigest(files: ReadonlyMap<string, string>): string {
  return sha256Digest([...files.keys()].sort().map((name) => `${name}\0${files.get(name)}\0`).join(''));
}

async function readTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), await readFile(path, 'utf8'));
  }
  return files;
}

/** kit.yaml of a reference Pipeline, rendered from its definition with what each section is for. */
export function renderKitConfig(definition: PipelineDefinition): string {
  const sections: [string, string][] = [
    ['namespace', 'The namespace the Pipeline runs in: its service accounts, Role and egress policy go there.'],
    ['params', 'Values of Pipeline params that name the Secrets tasks read (the Role names exactly these).'],
    ['egress', 'Where the TaskRun pods may connect. NetworkPolicies see addresses, not names: give the CIDRs your registries, proxies and git servers resolve to, and the namespace and pod labels of the in-cluster collectors (the Pushgateway of pushgateway-url).'],
    ['chains', 'How Tekton Chains signs: keyless (Fulcio), key (signing-secrets) or kms.'],
    ['observability', 'Where Tekton and Chains are installed, and where the PrometheusRule goes.'],
  ];
  return renderCommented(definition.kit, {
    header: `The kit configuration of the ${definition.name} reference Pipeline: an example to copy.\nEvery field: src/kit/config/kit-config.ts; generate with \`tekton-catalog kit generate\`.`,
    at: sections.filter(([key]) => key in definition.kit).map(([key, comment]) => ({ path: [key], comment })),
  });
}

export interface PipelineBuildInput {
  index: CatalogIndex;
  definitions: readonly PipelineDefinition[];
  /** The Task definitions built from source: their kubernetesAccess decides the RBAC. */
  taskDefinitions: readonly TaskDefinition[];
  catalogDir: string;
}

export async function buildPipelines(input: PipelineBuildInput): Promise<DerivedFiles> {
  const { index } = input;
  const files = new Map<string, string>();
  const keptDirs: string[] = [];
  const kit = new HardeningKit(input.taskDefinitions);
  const pin = (name: string): PinnedTask => {
    const entry = index.tasks[name];
    if (!entry) throw new CatalogError('DEFINITION_INVALID', `a reference Pipeline runs catalog Task ${quoteUntrusted(name)}, which catalog/index.json does not record`, { hint: 'name a Task under tasks/' });
    const record = entry.versions[entry.latest]!;
    return { name, version: entry.latest, bundle: record.bundle.reference, minPipelinesVersion: record.minPipelinesVersion, status: record.status };
  };
  const fromSource = new Set<string>();
  for (const definition of input.definitions) {
    const { name, version } = definition;
    const source = { kind: 'Pipeline' as const, name, file: `pipelines/${name}/pipeline.ts` };
    const entry = (index.pipelines[name] ??= { latest: version, versions: {} });
    for (const above of versionsAboveIn(entry, version).drafts) delete entry.versions[above];
    const { document, tasks } = emitPipeline(definition, pin);
    assertValidTektonDocument(document, `Pipeline ${name} ${version}`);
    for (const sample of definition.samples) sample.documents.forEach((doc, i) => assertValidTektonDocument(doc, `Pipeline ${name} sample ${sample.file} document ${i + 1}`));
    const yaml = toYaml(document);
    const config = parseKitConfig(definition.kit, `pipelines/${name}/pipeline.ts kit`);
    const kitOutput = kit.generate(document as unknown as PipelineDocument, config, { pipeline: `Pipeline ${name} ${version}`, configText: renderKitConfig(definition) });
    const interfaceNow = pipelineInterface(definition);
    const record: PipelineVersionRecord = {
      status: entry.versions[version]?.status ?? 'draft',
      path: pipelineYamlPath(name, version),
      contentDigest: sha256Digest(yaml),
      minPipelinesVersion: (document.metadata as { annotations: Record<string, string> }).annotations['tekton.dev/pipelines.minVersion']!,
      tasks: tasks.map((task) => `${task.name}@${task.version}`),
      interface: interfaceNow,
      kitDigest: kitDigest(kitOutput.files),
    };
    checkVersionIn(entry, source, version, record);
    const existing = entry.versions[version];
    if (existing?.status === 'released') {
      if (existing.kitDigest !== record.kitDigest) {
        throw new CatalogError('VERSION_IMMUTABLE', `Pipeline ${name} ${version} is released and its kit came out different (${record.kitDigest}, recorded ${existing.kitDigest})`, {
          hint: `bump the version in pipelines/${name}/pipeline.ts; a released version's kit never changes`,
        });
      }
      const drafts = tasks.filter((task) => task.status !== 'released');
      if (drafts.length > 0) throw releasedOnDrafts(name, version, drafts);
    }
    entry.versions[version] = record;
    fromSource.add(`${name}@${version}`);
    const dir = `pipeline/${name}/${version}`;
    files.set(`${dir}/${name}.yaml`, yaml);
    for (const sample of definition.samples) files.set(`${dir}/samples/${sample.file}`, toYamlStream(sample.documents));
    for (const [path, content] of kitOutput.files) files.set(`${dir}/kit/${path}`, content);
    files.set(`${dir}/README.md`, renderPipelineReadme(definition, record, [...kitOutput.files.keys()].sort()));
  }
  // Every other recorded version stays exactly as committed: its YAML and its kit.
  for (const [name, entry] of Object.entries(index.pipelines)) {
    if (!input.definitions.some((definition) => definition.name === name)) {
      throw new CatalogError('BUILD_PIPELINE_REMOVED', `Pipeline ${name} is recorded in catalog/index.json, but pipelines/${name}/pipeline.ts is gone`, { hint: `restore pipelines/${name}/pipeline.ts: people may run its versions` });
    }
    for (const [version, record] of Object.entries(entry.versions)) {
      if (fromSource.has(`${name}@${version}`)) continue;
      const yaml = await readFile(join(input.catalogDir, record.path), 'utf8').catch(() => undefined);
      const kitFiles = await readTree(join(input.catalogDir, 'pipeline', name, version, 'kit'));
      if (yaml === undefined || sha256Digest(yaml) !== record.contentDigest || kitDigest(kitFiles) !== record.kitDigest) {
        throw new CatalogError('CATALOG_RECORD_MISMATCH', `Pipeline ${name} ${version} (${record.status}): ${record.path} or its kit is missing or differs from the digests catalog/index.json records`, {
          hint: 'restore catalog/ from git; only the build writes it, and a recorded version never changes',
        });
      }
      keptDirs.push(`pipeline/${name}/${version}`);
    }
    entry.latest = highestVersion(Object.keys(entry.versions))!;
    files.set(`pipeline/${name}/CHANGELOG.md`, pipelineChangelog(name, entry));
  }
  if (Object.keys(index.pipelines).length > 0) files.set('pipeline/README.md', renderPipelinesIndex(index.pipelines));
  return { files, keptDirs };
}

export function pipelineChangelog(name: string, entry: PipelineEntry): string {
  return renderPipelineChangelog(name, entry, (version) => versionChanges(name, entry as never, version, { interface: entry.versions[version]!.interface }));
}

function releasedOnDrafts(name: string, version: string, drafts: { name: string; version: string }[]): CatalogError {
  return new CatalogError('VERSION_RELEASE_ON_DRAFT', `Pipeline ${name} ${version} would pin draft Task versions ${drafts.map((task) => `${task.name} ${task.version}`).join(', ')}, whose bundles may still change`, {
    hint: `release those Task versions first: npm run release -- ${drafts.map((task) => `${task.name}@${task.version}`).join(' ')}`,
  });
}

/** Release: a Pipeline version pins Task bundles, so every Task version it runs must be released first. */
export function assertPinsReleased(index: CatalogIndex, name: string, version: string): void {
  const record = index.pipelines[name]!.versions[version]!;
  const drafts = record.tasks
    .map((pinned) => {
      const [task, taskVersion] = pinned.split('@') as [string, string];
      return { name: task, version: taskVersion, status: index.tasks[task]?.versions[taskVersion]?.status };
    })
    .filter((task) => task.status !== 'released');
  if (drafts.length > 0) throw releasedOnDrafts(name, version, drafts);
}
