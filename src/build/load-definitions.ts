import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { $ZodError } from 'zod/v4/core';
import { CatalogError } from '../errors.ts';
import { TaskDefinitionSchema, type TaskDefinition } from './definition.ts';

/**
 * Imports every tasks/<name>/task.ts and checks its default export. The
 * folder name must equal the Task name, so a Task is always found where its
 * name says. A tasks/<name>/tests/run.ts, when present, is the Task's
 * tests/run.yaml (TEP-0003).
 */
export async function loadTaskDefinitions(tasksDir: string): Promise<TaskDefinition[]> {
  const entries = await readdir(tasksDir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const definitions: TaskDefinition[] = [];
  for (const folder of names) {
    const file = join(tasksDir, folder, 'task.ts');
    let module: { default?: unknown };
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw definitionError(folder, error);
    }
    const runTest = join(tasksDir, folder, 'tests', 'run.ts');
    let tests: unknown;
    if (existsSync(runTest)) {
      try {
        tests = ((await import(pathToFileURL(runTest).href)) as { default?: unknown }).default;
      } catch (error) {
        throw definitionError(folder, error);
      }
    }
    const parsed = TaskDefinitionSchema.safeParse(tests === undefined ? module.default : { ...(module.default as object), tests });
    if (!parsed.success) throw definitionError(folder, parsed.error);
    if (parsed.data.name !== folder) {
      throw new CatalogError('DEFINITION_NAME_MISMATCH', `tasks/${folder}/task.ts declares a Task named ${parsed.data.name}`, {
        hint: `rename the folder or the Task so both are ${folder}`,
      });
    }
    definitions.push(parsed.data);
  }
  if (definitions.length === 0) {
    throw new CatalogError('DEFINITION_NONE', `no Task definitions found under ${tasksDir}`);
  }
  return definitions;
}

function definitionError(folder: string, error: unknown): CatalogError {
  // Also a classic ZodError: it is a $ZodError too.
  if (error instanceof $ZodError) {
    const issues = error.issues.map((issue) => `  ${issue.path.join('.') || '(definition)'}: ${issue.message}`).join('\n');
    return new CatalogError('DEFINITION_INVALID', `tasks/${folder}/task.ts is not a valid Task definition:\n${issues}`, {
      hint: 'see src/build/definition.ts for the fields and rules',
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CatalogError('DEFINITION_LOAD_FAILED', `tasks/${folder}/task.ts could not be loaded: ${message}`, { cause: error });
}
