import { dirname } from 'node:path';
import type { TektonParam, TektonTaskSpec } from '../../tekton/models.ts';
import type { CatalogTask, TaskCatalog } from './catalog.ts';
import type { AuditDocument } from './documents.ts';

/**
 * Finds the Task a `taskRef` names: a Task in the input (by name; when
 * several share it, the one nearest the referring file, then the highest
 * `app.kubernetes.io/version`), or one of our catalog Tasks (by name, or by
 * a Tekton bundle reference through the catalog index). Remote resolvers
 * (git, hub, http) are not fetched: those references stay unresolved and
 * are not linted.
 */

export type Resolution =
  | { kind: 'embedded' | 'local' | 'catalog'; spec: TektonTaskSpec; label: string; catalogTask?: CatalogTask; document?: AuditDocument }
  | { kind: 'unresolved'; reason: string };

export interface TaskRefLike {
  name?: string | undefined;
  kind?: string | undefined;
  resolver?: string | undefined;
  bundle?: string | undefined;
  params?: TektonParam[] | undefined;
}

function resolverParam(ref: TaskRefLike, name: string): string | undefined {
  const value = ref.params?.find((p) => p.name === name)?.value;
  return typeof value === 'string' ? value : undefined;
}

function versionOf(doc: AuditDocument): number[] {
  const labels = doc.source.value && typeof doc.source.value === 'object' ? (doc.source.value as { metadata?: { labels?: Record<string, unknown> } }).metadata?.labels : undefined;
  const version = labels?.['app.kubernetes.io/version'];
  return typeof version === 'string' ? version.split('.').map((n) => Number.parseInt(n, 10) || 0) : [];
}

function compareNumbers(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function commonPrefix(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i;
}

export class TaskResolver {
  readonly catalog: TaskCatalog;
  readonly #tasks = new Map<string, AuditDocument[]>();
  readonly #pipelines = new Map<string, AuditDocument[]>();
  readonly #stepActions = new Map<string, AuditDocument[]>();

  constructor(documents: readonly AuditDocument[], catalog: TaskCatalog) {
    this.catalog = catalog;
    for (const doc of documents) {
      const map = doc.kind === 'Task' ? this.#tasks : doc.kind === 'Pipeline' ? this.#pipelines : doc.kind === 'StepAction' ? this.#stepActions : undefined;
      if (!map) continue;
      const list = map.get(doc.name) ?? [];
      list.push(doc);
      map.set(doc.name, list);
    }
  }

  /**
   * The candidate nearest `fromFile` (longest shared folder path); among
   * equally near ones (several versions of one Task), the one that declares
   * most of the params the caller passes, then the highest version label.
   */
  #nearest(candidates: AuditDocument[] | undefined, fromFile: string, passed: readonly string[] = []): AuditDocument | undefined {
    if (!candidates || candidates.length === 0) return undefined;
    if (candidates.length === 1) return candidates[0];
    const from = dirname(fromFile);
    const misses = (doc: AuditDocument) => {
      const declared = new Set(doc.kind === 'Task' ? (doc.data.spec.params ?? []).map((p) => p.name) : []);
      return passed.filter((name) => !declared.has(name)).length;
    };
    return [...candidates].sort(
      (a, b) =>
        commonPrefix(dirname(b.source.file.name), from) - commonPrefix(dirname(a.source.file.name), from) ||
        misses(a) - misses(b) ||
        compareNumbers(versionOf(b), versionOf(a)),
    )[0];
  }

  localTask(name: string, fromFile: string, passed: readonly string[] = []): AuditDocument | undefined {
    return this.#nearest(this.#tasks.get(name), fromFile, passed);
  }

  localPipeline(name: string, fromFile: string): AuditDocument | undefined {
    return this.#nearest(this.#pipelines.get(name), fromFile);
  }

  localStepAction(name: string, fromFile: string): AuditDocument | undefined {
    return this.#nearest(this.#stepActions.get(name), fromFile);
  }

  /** `passed`: the names of the params the caller passes, to pick among versions of one Task. */
  resolveTaskRef(ref: TaskRefLike, fromFile: string, passed: readonly string[] = []): Resolution {
    if (ref.kind !== undefined && ref.kind !== 'Task') return { kind: 'unresolved', reason: `kind ${ref.kind} is not linted` };
    const byName = (name: string): Resolution => {
      const local = this.localTask(name, fromFile, passed);
      if (local?.kind === 'Task') return { kind: 'local', spec: local.data.spec, label: `Task ${name} (${local.source.file.name})`, document: local };
      const ours = this.catalog.find(name);
      if (ours) return this.#catalogResolution(ours);
      return { kind: 'unresolved', reason: `no Task named ${name} in the input or the catalog` };
    };
    const bundle = ref.resolver === 'bundles' ? resolverParam(ref, 'bundle') : ref.bundle;
    if (bundle !== undefined) {
      const kind = ref.resolver === 'bundles' ? (resolverParam(ref, 'kind') ?? 'task') : 'task';
      if (kind.toLowerCase() !== 'task') return { kind: 'unresolved', reason: `bundle resource kind ${kind} is not linted` };
      const name = ref.resolver === 'bundles' ? resolverParam(ref, 'name') : ref.name;
      const ours = this.catalog.byBundle(bundle, name);
      return ours ? this.#catalogResolution(ours) : { kind: 'unresolved', reason: 'a bundle that is not one of our catalog Tasks' };
    }
    if (ref.resolver === 'cluster') {
      const name = resolverParam(ref, 'name');
      return name ? byName(name) : { kind: 'unresolved', reason: 'cluster resolver without a name' };
    }
    if (ref.resolver !== undefined) return { kind: 'unresolved', reason: `resolved remotely by the ${ref.resolver} resolver` };
    if (ref.name) return byName(ref.name);
    return { kind: 'unresolved', reason: 'taskRef names no Task' };
  }

  #catalogResolution(task: CatalogTask): Resolution {
    return { kind: 'catalog', spec: task.spec, label: `catalog Task ${task.name} ${task.version}`, catalogTask: task };
  }
}
