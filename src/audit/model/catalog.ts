import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compareVersions, readCatalogIndex } from '../../build/catalog-index.ts';
import type { TaskDefinition } from '../../build/definition.ts';
import { emitTask } from '../../build/task-emitter.ts';
import { parseReference } from '../../oci/registry/reference.ts';
import type { ParamRule } from '../../params/rules.ts';
import { TaskSchema, type TektonTaskSpec } from '../../tekton/models.ts';
import { AuditError, AuditErrorCodes } from '../errors.ts';

/**
 * Our own Tasks, as the lint checks Pipelines against them: each version's
 * interface (from the committed Task YAML that `catalog/index.json` lists)
 * and, where the Task definition of that version is at hand, the
 * validate-params rule each param declares.
 */

export interface CatalogTask {
  name: string;
  version: string;
  spec: TektonTaskSpec;
  /** Param name to the rule validate-params enforces; undefined when the definition is not at hand. */
  rules: ReadonlyMap<string, ParamRule> | undefined;
  /** The bundle digest the index records (undefined for a catalog built from definitions alone). */
  bundleDigest: string | undefined;
}

/** A digest no image has: definitions name programs, and the lint never needs the image. */
const NO_DIGEST = `sha256:${'0'.repeat(64)}`;

export class TaskCatalog {
  readonly #byName = new Map<string, CatalogTask[]>();
  readonly #byDigest = new Map<string, CatalogTask>();

  private constructor(tasks: CatalogTask[]) {
    for (const task of tasks) {
      const list = this.#byName.get(task.name) ?? [];
      list.push(task);
      list.sort((a, b) => compareVersions(a.version, b.version));
      this.#byName.set(task.name, list);
      if (task.bundleDigest) this.#byDigest.set(task.bundleDigest, task);
    }
  }

  static empty(): TaskCatalog {
    return new TaskCatalog([]);
  }

  /**
   * Reads `<dir>/index.json` and every Task YAML it lists. Rules come from
   * `definitions` whose name and version match an indexed version.
   */
  static async fromDirectory(dir: string, definitions: readonly TaskDefinition[] = []): Promise<TaskCatalog> {
    let index;
    try {
      index = await readCatalogIndex(join(dir, 'index.json'));
    } catch (cause) {
      throw new AuditError(AuditErrorCodes.catalog, `the catalog index in ${dir} cannot be read`, { cause, hint: (cause as { hint?: string }).hint ?? '' });
    }
    if (!index) throw new AuditError(AuditErrorCodes.catalog, `${dir} has no index.json`, { hint: 'pass the catalog/ folder of this repository with --catalog' });
    const tasks: CatalogTask[] = [];
    for (const [name, entry] of Object.entries(index.tasks)) {
      for (const [version, record] of Object.entries(entry.versions)) {
        const file = join(dir, record.path);
        let parsed;
        try {
          parsed = TaskSchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
        } catch (cause) {
          throw new AuditError(AuditErrorCodes.catalog, `catalog Task ${file} cannot be read`, { cause });
        }
        if (!parsed.success || parsed.data.metadata.name !== name) {
          throw new AuditError(AuditErrorCodes.catalog, `catalog Task ${file} is not the Task ${name} the index lists`, { hint: 'rebuild the catalog with npm run build' });
        }
        const definition = definitions.find((d) => d.name === name && d.version === version);
        tasks.push({ name, version, spec: parsed.data.spec, rules: definition ? rulesOf(definition) : undefined, bundleDigest: record.bundle.digest });
      }
    }
    return new TaskCatalog(tasks);
  }

  /** A catalog from Task definitions alone (the audit step's image carries them, not the index). */
  static fromDefinitions(definitions: readonly TaskDefinition[]): TaskCatalog {
    return new TaskCatalog(
      definitions.map((definition) => {
        const emitted = emitTask(definition, (program) => `ghcr.io/hardened-tekton/catalog/steps/${program}@${NO_DIGEST}`);
        return { name: definition.name, version: definition.version, spec: TaskSchema.parse(emitted).spec, rules: rulesOf(definition), bundleDigest: undefined };
      }),
    );
  }

  /** Adds the param rules of the definitions whose name and version match a catalog Task. */
  attachDefinitions(definitions: readonly TaskDefinition[]): void {
    for (const definition of definitions) {
      const task = this.find(definition.name, definition.version);
      if (task && !task.rules) task.rules = rulesOf(definition);
    }
  }

  get size(): number {
    return [...this.#byName.values()].reduce((n, list) => n + list.length, 0);
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  /** The named Task at `version`, or its latest version. */
  find(name: string, version?: string): CatalogTask | undefined {
    const list = this.#byName.get(name);
    if (!list) return undefined;
    return version === undefined ? list[list.length - 1] : list.find((task) => task.version === version);
  }

  /**
   * The Task a Tekton bundle reference points at, when it is one of ours:
   * by the digest the index records, or by repository `…/tasks/<name>` and
   * version tag (a catalog republished under another registry prefix).
   */
  byBundle(reference: string, resourceName: string | undefined): CatalogTask | undefined {
    let parsed;
    try {
      parsed = parseReference(reference);
    } catch {
      return undefined;
    }
    const byDigest = parsed.digest ? this.#byDigest.get(parsed.digest) : undefined;
    if (byDigest && (resourceName === undefined || resourceName === byDigest.name)) return byDigest;
    const match = /(?:^|\/)tasks\/([a-z0-9][a-z0-9-]*)$/.exec(parsed.repository);
    if (!match || !parsed.tag) return undefined;
    const name = match[1]!;
    if (resourceName !== undefined && resourceName !== name) return undefined;
    return this.find(name, parsed.tag);
  }
}

function rulesOf(definition: TaskDefinition): Map<string, ParamRule> {
  return new Map(definition.params.map((param) => [param.name, param.rule]));
}
