import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { checkScriptSubstitutions } from '../../src/tekton/references.ts';
import { DiagnosticCodes, validateAgainstCrds, validateTektonDocument, type Diagnostic } from '../../src/tekton/validate.ts';
import { sharedPath } from '../harness/shared.ts';

/**
 * Both validator layers over every Task, Pipeline and StepAction that
 * tektoncd/catalog ships: real YAML written by other people must never
 * crash the validator, and what the API server accepts must pass the CRD
 * layer.
 */

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const AUDITED_KINDS = new Set(['Task', 'Pipeline', 'StepAction']);

function tally(counts: Map<string, number>, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
}

t.test('tektoncd/catalog corpus', async (t) => {
  const corpus = sharedPath(t, 'corpus/tektoncd-catalog');
  const crdDir = sharedPath(t, 'tekton/crds');
  if (!corpus || !crdDir) return;

  const perKind = new Map<string, number>();
  const semanticCodes = new Map<string, number>();
  const crdCodes = new Map<string, number>();
  const crdFailures: string[] = [];
  let documents = 0;
  let semanticClean = 0;
  let scriptFindings = 0;

  for (const file of yamlFiles(corpus)) {
    const name = relative(corpus, file);
    for (const parsed of parseAllDocuments(readFileSync(file, 'utf8'))) {
      t.same(parsed.errors, [], `${name} parses as YAML`);
      const doc = parsed.toJS() as { apiVersion?: unknown; kind?: unknown } | null;
      if (!doc || typeof doc.kind !== 'string' || !AUDITED_KINDS.has(doc.kind)) continue;
      if (typeof doc.apiVersion !== 'string' || !doc.apiVersion.startsWith('tekton.dev/')) continue;
      documents++;
      perKind.set(doc.kind, (perKind.get(doc.kind) ?? 0) + 1);

      // Third-party YAML: Tekton's rules only; the catalog's script rule is a finding.
      const semantic = validateTektonDocument(doc, { catalogRules: false });
      tally(semanticCodes, semantic);
      if (semantic.length === 0) semanticClean++;
      for (const d of semantic) t.type(d.message, 'string');
      scriptFindings += checkScriptSubstitutions(doc).length;

      const crd = validateAgainstCrds(doc, crdDir);
      tally(crdCodes, crd);
      if (crd.length > 0) crdFailures.push(`${name} ${doc.kind}: ${crd.slice(0, 3).map((d) => `${d.code} ${d.path}`).join('; ')}`);
    }
  }

  t.comment(`documents: ${documents} ${JSON.stringify(Object.fromEntries(perKind))}`);
  t.comment(`semantic layer: ${semanticClean} clean; findings ${JSON.stringify(Object.fromEntries(semanticCodes))}`);
  t.comment(`catalog script rule: ${scriptFindings} scripts with $(...) substitutions`);
  t.comment(`CRD layer: ${documents - crdFailures.length} of ${documents} pass; ${JSON.stringify(Object.fromEntries(crdCodes))}`);
  for (const failure of crdFailures) t.comment(`CRD: ${failure}`);

  t.ok(documents >= 300, `parsed at least 300 Tekton documents (got ${documents})`);
  t.ok((perKind.get('Task') ?? 0) >= 280, 'at least 280 Tasks');
  t.ok((perKind.get('Pipeline') ?? 0) >= 3, 'at least 3 Pipelines');
  t.ok((perKind.get('StepAction') ?? 0) >= 3, 'at least 3 StepActions');

  // The catalog is applied to real clusters: nearly all of it is valid for the API server.
  t.ok(crdFailures.length <= documents * 0.05, `at least 95% pass the CRD layer (${crdFailures.length} fail)`);
  // Most of it is also referentially sound; what is not is a real finding, not a crash.
  t.ok(semanticClean >= documents * 0.75, `at least 75% have no semantic finding (${semanticClean} of ${documents})`);
  // Known real-world problems are found: old PipelineResources syntax and $(params) in scripts.
  t.ok((semanticCodes.get(DiagnosticCodes.referenceLegacy) ?? 0) > 0, 'finds $(inputs.*)/$(resources.*) references');
  t.ok(scriptFindings >= 50, `finds $(...) substitutions in scripts (${scriptFindings})`);
  const modelInvalid = semanticCodes.get(DiagnosticCodes.modelInvalid) ?? 0;
  t.ok(modelInvalid <= 10, `the model accepts real-world YAML apart from a few genuine type errors (${modelInvalid})`);
});
