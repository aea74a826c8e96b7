import { join } from 'node:path';
import { stepImageReference } from './catalog.ts';
import type { CatalogIndex } from './catalog-index.ts';
import type { TaskDefinition } from './definition.ts';
import type { StepImage } from './image.ts';
import { buildPipelines, loadPipelineDefinitions } from './pipeline-build.ts';
import { buildStepActions, loadComposedSamples, type DerivedFiles } from './stepaction-build.ts';

/**
 * What the build derives from the Task versions it has just recorded: the
 * StepActions (catalog/stepaction/) and the reference Pipelines with their
 * kits (catalog/pipeline/). Both are recorded in catalog/index.json and held
 * to the same versioning rules as Tasks.
 */
export interface CompositionInput {
  /** The folder holding tasks/, and beside it stepactions/ (composed samples) and pipelines/. */
  sourceDir: string;
  index: CatalogIndex;
  definitions: readonly TaskDefinition[];
  images: ReadonlyMap<string, StepImage>;
  registry: string;
  catalogDir: string;
  log: (line: string) => void;
}

/** A step program's image exactly as the Task YAML names it, with the Entrypoint read back from the image. */
function stepImage(registry: string, program: string, tag: string, image: StepImage) {
  return { reference: stepImageReference(registry, program, tag, image.index.digest), command: image.entrypoint };
}

export async function buildCompositions(input: CompositionInput): Promise<DerivedFiles> {
  const stepActions = await buildStepActions({
    index: input.index,
    definitions: input.definitions,
    resolveImage: (definition, program) => stepImage(input.registry, program, definition.version, input.images.get(program)!),
    catalogDir: input.catalogDir,
    composed: await loadComposedSamples(join(input.sourceDir, 'stepactions')),
  });
  for (const [name, entry] of Object.entries(input.index.stepActions)) input.log(`stepaction ${name} ${entry.latest} (${entry.versions[entry.latest]!.status})`);
  const pipelines = await buildPipelines({
    index: input.index,
    definitions: await loadPipelineDefinitions(join(input.sourceDir, 'pipelines')),
    taskDefinitions: input.definitions,
    catalogDir: input.catalogDir,
  });
  for (const [name, entry] of Object.entries(input.index.pipelines)) input.log(`pipeline ${name} ${entry.latest} (${entry.versions[entry.latest]!.status}): ${entry.versions[entry.latest]!.tasks.join(', ')}`);
  return { files: new Map([...stepActions.files, ...pipelines.files]), keptDirs: [...stepActions.keptDirs, ...pipelines.keptDirs] };
}
