import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CatalogError } from '../errors.ts';
import { sha256Digest } from '../oci/digest.ts';
import { assertValidTektonDocument } from '../tekton/validate.ts';
import { toYaml, toYamlStream } from '../tekton/yaml.ts';
import { stepActionYamlPath, type CatalogIndex, type StepActionVersionRecord } from './catalog-index.ts';
import { SampleSchema, type TaskDefinition } from './definition.ts';
import { highestVersion } from './semver.ts';
import { renderStepActionReadme, renderStepActionsIndex } from './stepaction-readme.ts';
import { emitStepAction, STEPACTION_MIN_PIPELINES_VERSION, stepActionTask } from './stepactions.ts';
import type { ResolvedStepImage } from './task-emitter.ts';

/**
 * The StepActions of a build: one per step program of the newest version of
 * each Task, built from that Task's definition and image, and every other
 * recorded StepAction version kept exactly as committed. Records live in
 * catalog/index.json under `stepActions`, with the same discipline as Task
 * versions: a released version never changes (a different build of it fails
 * and names the Task version to bump), a recorded version's committed YAML
 * must have its recorded digest, and a StepAction version goes when its Task
 * version goes.
 */

/** A sample of Tasks composed from several StepActions (catalog/stepaction/samples/). */
export type ComposedSample = ReturnType<typeof SampleSchema.parse>;

export function defineComposedSample(input: Parameters<typeof SampleSchema.parse>[0]): ComposedSample {
  return SampleSchema.parse(input);
}

/** Every stepactions/*.ts default export: the composed samples. */
export async function loadComposedSamples(dir: string): Promise<ComposedSample[]> {
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((file) => file.endsWith('.ts')).sort();
  const samples: ComposedSample[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { default?: unknown };
    const parsed = SampleSchema.safeParse(module.default);
    if (!parsed.success) {
      throw new CatalogError('DEFINITION_INVALID', `stepactions/${file} is not a valid sample: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`, {
        hint: 'export default defineComposedSample({file, description, documents})',
      });
    }
    samples.push(parsed.data);
  }
  return samples;
}

export interface DerivedFiles {
  /** Files to write, relative to the catalog folder. */
  files: Map<string, string>;
  /** Folders of recorded versions kept exactly as committed. */
  keptDirs: string[];
}

export interface StepActionBuildInput {
  index: CatalogIndex;
  /** The Task definitions built from source (the newest version of each). */
  definitions: readonly TaskDefinition[];
  /** The image a Task's step program runs, as its Task YAML has it. */
  resolveImage: (definition: TaskDefinition, program: string) => ResolvedStepImage;
  catalogDir: string;
  composed: readonly ComposedSample[];
}

const SAMPLE_FILE = 'task.yaml';

export async function buildStepActions(input: StepActionBuildInput): Promise<DerivedFiles> {
  const { index } = input;
  const files = new Map<string, string>();
  const built = new Set<string>();
  for (const definition of input.definitions) {
    for (const step of definition.steps) {
      if (built.has(step.program)) continue;
      built.add(step.program);
      const emitted = emitStepAction(definition, step, input.resolveImage(definition, step.program));
      const { name, version } = emitted;
      assertValidTektonDocument(emitted.document, `StepAction ${name} ${version}`);
      const yaml = toYaml(emitted.document);
      const entry = (index.stepActions[name] ??= { latest: version, versions: {} });
      const existing = entry.versions[version];
      const contentDigest = sha256Digest(yaml);
      if (existing?.status === 'released' && existing.contentDigest !== contentDigest) {
        throw new CatalogError(
          'VERSION_IMMUTABLE',
          `StepAction ${name} ${version} is released (content ${existing.contentDigest}) and the build produced different content (${contentDigest})`,
          { hint: `it is released with Task ${definition.name} ${version}: bump the version in tasks/${definition.name}/task.ts; released versions never change` },
        );
      }
      const record: StepActionVersionRecord = {
        status: existing?.status ?? 'draft',
        path: stepActionYamlPath(name, version),
        contentDigest,
        minPipelinesVersion: STEPACTION_MIN_PIPELINES_VERSION,
        task: `${definition.name}@${version}`,
        image: input.resolveImage(definition, step.program).reference,
      };
      entry.versions[version] = record;
      const sample = stepActionTask(definition, step);
      assertValidTektonDocument(sample, `StepAction ${name} sample ${SAMPLE_FILE}`);
      const dir = `stepaction/${name}/${version}`;
      files.set(`${dir}/${name}.yaml`, yaml);
      files.set(`${dir}/README.md`, renderStepActionReadme(definition, step, emitted, record, SAMPLE_FILE));
      files.set(`${dir}/samples/${SAMPLE_FILE}`, toYamlStream([sample]));
    }
  }

  // Every other recorded version: kept while its Task version is recorded, and only as committed.
  const keptDirs: string[] = [];
  for (const [name, entry] of Object.entries(index.stepActions)) {
    for (const [version, record] of Object.entries(entry.versions)) {
      if (files.has(record.path)) continue;
      const [task, taskVersion] = record.task.split('@') as [string, string];
      if (index.tasks[task]?.versions[taskVersion] === undefined) {
        delete entry.versions[version];
        continue;
      }
      const yaml = await readFile(join(input.catalogDir, record.path), 'utf8').catch(() => undefined);
      if (yaml === undefined || sha256Digest(yaml) !== record.contentDigest) {
        throw new CatalogError('CATALOG_RECORD_MISMATCH', `StepAction ${name} ${version} (${record.status}): ${record.path} is missing or differs from the content digest catalog/index.json records`, {
          hint: 'restore catalog/ from git; only the build writes it, and a recorded version never changes',
        });
      }
      keptDirs.push(`stepaction/${name}/${version}`);
    }
    const latest = highestVersion(Object.keys(entry.versions));
    if (latest === undefined) delete index.stepActions[name];
    else entry.latest = latest;
  }

  for (const sample of input.composed) {
    sample.documents.forEach((doc, i) => assertValidTektonDocument(doc, `StepAction sample ${sample.file} document ${i + 1}`));
    files.set(`stepaction/samples/${sample.file}`, toYamlStream(sample.documents));
  }
  files.set('stepaction/README.md', renderStepActionsIndex(index.stepActions, input.composed));
  return { files, keptDirs };
}
