import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { VersionRecord } from '../../src/build/catalog-index.ts';
import type { BuiltCatalog } from './catalog-build.ts';

export interface CatalogStep {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value: string }[];
}

export interface CatalogTask {
  record: VersionRecord;
  spec: { params?: { name: string; default?: string | string[] }[]; steps: CatalogStep[] };
  /** Param defaults, as Tekton fills them in for params a run leaves out. */
  defaults: Record<string, string | string[]>;
}

/** The latest version of a Task from a built catalog, parsed from its YAML. */
export async function loadCatalogTask(built: BuiltCatalog, name: string): Promise<CatalogTask> {
  const entry = built.index.tasks[name];
  if (!entry) throw new Error(`the built catalog has no ${name} Task`);
  const record = entry.versions[entry.latest]!;
  const document = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as { spec: CatalogTask['spec'] };
  const defaults = Object.fromEntries(
    (document.spec.params ?? []).filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]),
  );
  return { record, spec: document.spec, defaults };
}

export interface StepVariables {
  params: Record<string, string | string[]>;
  workspaces?: Record<string, string>;
  context?: Record<string, string>;
}

/**
 * Tekton's variable substitution, as far as catalog steps use it: string
 * params, workspace paths and context values replaced in place, and an
 * array param written as a whole `args` element (`$(params.x[*])`) expanded
 * into several elements. An unknown reference throws, so a test can never
 * run a step with a placeholder left in.
 */
export function renderStep(step: CatalogStep, variables: StepVariables): { args: string[]; env: Record<string, string> } {
  const lookup = (reference: string): string => {
    const param = /^params\.([a-zA-Z0-9_-]+)$/.exec(reference);
    const workspace = /^workspaces\.([a-z0-9-]+)\.path$/.exec(reference);
    const context = /^context\.([a-zA-Z.]+)$/.exec(reference);
    const value = param
      ? variables.params[param[1]!]
      : workspace
        ? variables.workspaces?.[workspace[1]!]
        : context
          ? variables.context?.[context[1]!]
          : undefined;
    if (typeof value !== 'string') throw new Error(`no string value for $(${reference})`);
    return value;
  };
  const text = (value: string) => value.replace(/\$\(([a-zA-Z0-9_.-]+)\)/g, (_, reference: string) => lookup(reference));
  const args = (step.args ?? []).flatMap((arg) => {
    const array = /^\$\(params\.([a-zA-Z0-9_-]+)\[\*\]\)$/.exec(arg);
    if (!array) return [text(arg)];
    const value = variables.params[array[1]!];
    if (!Array.isArray(value)) throw new Error(`no array value for ${arg}`);
    return value;
  });
  return { args, env: Object.fromEntries((step.env ?? []).map(({ name, value }) => [name, text(value)])) };
}
