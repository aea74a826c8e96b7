import { CatalogError } from '../errors.ts';
import { assertValidTektonDocument } from '../tekton/validate.ts';
import { toYamlStream } from '../tekton/yaml.ts';
import type { TaskDefinition } from './definition.ts';

/** Kubernetes kinds a tests/run.yaml may create beside its runs: what the runs bind as workspaces. */
const SUPPORTING_KINDS = new Set(['Secret', 'ConfigMap']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The names of catalog Tasks that a TaskRun or PipelineRun (embedded Pipeline) references with taskRef.name. */
export function referencedTaskNames(doc: Record<string, unknown>): string[] {
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const refs: unknown[] = [];
  if (doc.kind === 'TaskRun') refs.push(spec.taskRef);
  if (doc.kind === 'PipelineRun' && isRecord(spec.pipelineSpec)) {
    for (const list of [spec.pipelineSpec.tasks, spec.pipelineSpec.finally]) {
      if (Array.isArray(list)) for (const task of list) if (isRecord(task)) refs.push(task.taskRef);
    }
  }
  return refs.flatMap((ref) => (isRecord(ref) && typeof ref.name === 'string' ? [ref.name] : []));
}

/**
 * Checks a Task's tests/run.yaml and renders it: every Tekton document
 * valid, every run referencing this Task (so it tests what sits beside it),
 * nothing but Secrets and ConfigMaps besides the runs.
 */
export function renderRunTest(definition: TaskDefinition): string | undefined {
  const tests = definition.tests;
  if (tests === undefined) return undefined;
  let runs = 0;
  tests.documents.forEach((doc, i) => {
    const what = `Task ${definition.name} tests/run.yaml document ${i + 1}`;
    if (doc.apiVersion === 'v1' && typeof doc.kind === 'string' && SUPPORTING_KINDS.has(doc.kind)) return;
    if (doc.kind !== 'TaskRun' && doc.kind !== 'PipelineRun') {
      throw new CatalogError('BUILD_RUN_TEST_INVALID', `${what} is a ${String(doc.kind)}; tests/run.yaml holds TaskRuns, PipelineRuns with an embedded pipelineSpec, Secrets and ConfigMaps`);
    }
    assertValidTektonDocument(doc, what);
    const names = referencedTaskNames(doc);
    if (names.length === 0 || names.some((name) => name !== definition.name)) {
      throw new CatalogError('BUILD_RUN_TEST_INVALID', `${what} must run Task ${definition.name} (taskRef.name) and nothing else; it references ${names.join(', ') || 'no Task'}`);
    }
    runs++;
  });
  if (runs === 0) throw new CatalogError('BUILD_RUN_TEST_INVALID', `Task ${definition.name} tests/run.yaml has no TaskRun or PipelineRun`);
  return toYamlStream(tests.documents);
}
