import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { BuiltCatalog } from './catalog-build.ts';
import type { CatalogTaskSpec } from './catalog-task.ts';
import type { StepActionDocument } from './tekton-stepactions.ts';

/** The newest version of every StepAction a built catalog records, by name: what `kubectl apply` of them would put in a namespace. */
export async function loadCatalogStepActions(built: BuiltCatalog): Promise<Map<string, StepActionDocument>> {
  const out = new Map<string, StepActionDocument>();
  for (const [name, entry] of Object.entries(built.index.stepActions)) {
    const record = entry.versions[entry.latest]!;
    out.set(name, parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as StepActionDocument);
  }
  return out;
}

/** The Task documents of a catalog YAML file (a StepAction sample). */
export async function loadTasks(file: string): Promise<Map<string, CatalogTaskSpec>> {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const tasks = new Map<string, CatalogTaskSpec>();
  for (const doc of parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as { kind?: string; metadata?: { name: string }; spec?: CatalogTaskSpec })) {
    if (doc.kind === 'Task' && doc.metadata && doc.spec) tasks.set(doc.metadata.name, doc.spec);
  }
  return tasks;
}
