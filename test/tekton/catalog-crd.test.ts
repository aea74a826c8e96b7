import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { formatDiagnostics, validateAgainstCrds, validateTektonDocument } from '../../src/tekton/validate.ts';
import { repoRoot, sharedPath } from '../harness/shared.ts';
import { HARDENED_SECURITY_CONTEXT } from './fixtures.ts';

/**
 * Every YAML document the generator committed under catalog/ must be
 * accepted by the API server (CRD schema), pass the semantic and catalog
 * checks, and every step of every Task must be hardened. The test fails if
 * it finds no Task at all, so it cannot pass on an empty catalog.
 */

const catalogDir = join(repoRoot, 'catalog');
const PINNED_IMAGE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
const TEKTON_KINDS = new Set(['Task', 'TaskRun', 'Pipeline', 'PipelineRun', 'StepAction']);

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

type Container = Record<string, any>;

/** Every hardening rule a catalog step (or sidecar) must meet, as failures. */
function hardeningProblems(container: Container): string[] {
  const problems: string[] = [];
  const sc = container.securityContext ?? {};
  if (typeof container.image !== 'string' || !PINNED_IMAGE.test(container.image)) problems.push('image is not pinned by @sha256:<64 hex>');
  if (sc.runAsNonRoot !== true) problems.push('securityContext.runAsNonRoot is not true');
  if (sc.runAsUser !== 65532) problems.push('securityContext.runAsUser is not 65532');
  if (sc.runAsGroup !== 65532) problems.push('securityContext.runAsGroup is not 65532');
  if (sc.readOnlyRootFilesystem !== true) problems.push('securityContext.readOnlyRootFilesystem is not true');
  if (sc.allowPrivilegeEscalation !== false) problems.push('securityContext.allowPrivilegeEscalation is not false');
  if (sc.privileged === true) problems.push('securityContext.privileged is true');
  const drop = sc.capabilities?.drop;
  if (!Array.isArray(drop) || drop.length !== 1 || drop[0] !== 'ALL') problems.push('securityContext.capabilities.drop is not [ALL]');
  if ((sc.capabilities?.add ?? []).length > 0) problems.push('securityContext.capabilities.add is not empty');
  if (sc.seccompProfile?.type !== 'RuntimeDefault') problems.push('securityContext.seccompProfile.type is not RuntimeDefault');
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory']) {
      const value = container.computeResources?.[kind]?.[resource];
      if (value === undefined || value === '') problems.push(`computeResources.${kind}.${resource} is missing`);
    }
  }
  if (typeof container.script === 'string' && container.script.includes('$(')) problems.push('script contains "$("');
  return problems;
}

/** The catalog's StepActions by name (its newest version), for steps that reference them. */
function catalogStepActions(files: string[]): Map<string, Record<string, any>> {
  const found = new Map<string, Record<string, any>>();
  for (const file of files) {
    for (const parsed of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const doc = parsed.toJS() as Record<string, any> | null;
      if (doc?.kind !== 'StepAction') continue;
      const current = found.get(doc.metadata.name);
      if (!current || current.metadata.labels['app.kubernetes.io/version'] < doc.metadata.labels['app.kubernetes.io/version']) found.set(doc.metadata.name, doc);
    }
  }
  return found;
}

/** Fields Tekton refuses beside `ref` (docs/stepactions.md): they come from the StepAction. */
const STEPACTION_OWNED = ['image', 'command', 'args', 'script', 'env', 'volumeMounts'];

t.test('catalog documents', async (t) => {
  const crdDir = sharedPath(t, 'tekton/crds');
  const files = yamlFiles(catalogDir);
  const stepActions = catalogStepActions(files);
  let tasks = 0;
  let documents = 0;

  for (const file of files) {
    const name = relative(repoRoot, file);
    for (const [i, parsed] of parseAllDocuments(readFileSync(file, 'utf8')).entries()) {
      t.same(parsed.errors.map((e) => e.message), [], `${name} #${i + 1} is well-formed YAML`);
      const doc = parsed.toJS() as Record<string, any> | null;
      if (!doc || typeof doc.apiVersion !== 'string' || !doc.apiVersion.startsWith('tekton.dev/') || !TEKTON_KINDS.has(doc.kind)) continue;
      documents++;
      const what = `${name} #${i + 1} (${doc.kind} ${doc.metadata?.name ?? doc.metadata?.generateName})`;

      const semantic = validateTektonDocument(doc);
      t.same(semantic, [], `${what}: model, references and catalog rules`, { diagnostics: formatDiagnostics(semantic) });
      if (crdDir) {
        const crd = validateAgainstCrds(doc, crdDir);
        t.same(crd, [], `${what}: CRD schema`, { diagnostics: formatDiagnostics(crd) });
      }

      if (doc.kind === 'StepAction') {
        // A StepAction cannot hold computeResources: the hardening check takes the Task's from the composing step below.
        const problems = hardeningProblems({ ...doc.spec, computeResources: { requests: { cpu: '-', memory: '-' }, limits: { cpu: '-', memory: '-' } } });
        t.same(problems, [], `${what} is hardened`);
        t.ok(Array.isArray(doc.spec.command) && String(doc.spec.command[0]).startsWith('/'), `${what} has an explicit command`);
        continue;
      }
      if (doc.kind !== 'Task') continue;
      tasks++;
      const steps: Container[] = doc.spec?.steps ?? [];
      t.ok(steps.length > 0, `${what} has steps`);
      for (const [kind, list] of [['step', steps], ['sidecar', doc.spec?.sidecars ?? []]] as const) {
        for (const [j, container] of (list as Container[]).entries()) {
          if (container.ref) {
            const action = stepActions.get(container.ref.name);
            t.ok(action, `${what} ${kind} ${container.name}: StepAction ${container.ref.name} is in the catalog`);
            t.same(STEPACTION_OWNED.filter((field) => container[field] !== undefined), [], `${what} ${kind} ${container.name} sets none of the fields the StepAction owns`);
            if (action) t.same(hardeningProblems({ ...action.spec, computeResources: container.computeResources }), [], `${what} ${kind} ${container.name} (StepAction ${container.ref.name}) is hardened`);
            continue;
          }
          t.same(hardeningProblems(container), [], `${what} ${kind} ${container.name ?? j} is hardened`);
        }
      }
    }
  }

  t.comment(`validated ${documents} Tekton documents (${tasks} Tasks) under catalog/`);
  t.ok(tasks > 0, 'catalog/ holds at least one Task document (run `npm run build` to generate it)');
});

t.test('the hardening check itself rejects what it must', async (t) => {
  const good: Container = {
    name: 'x',
    image: `r/x@sha256:${'0'.repeat(64)}`,
    securityContext: structuredClone(HARDENED_SECURITY_CONTEXT),
    computeResources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
  };
  t.same(hardeningProblems(good), []);
  const variants: [string, (c: Container) => void][] = [
    ['tag instead of digest', (c) => (c.image = 'r/x:latest')],
    ['short digest', (c) => (c.image = 'r/x@sha256:abc')],
    ['root', (c) => (c.securityContext.runAsUser = 0)],
    ['writable root fs', (c) => (c.securityContext.readOnlyRootFilesystem = false)],
    ['privilege escalation', (c) => delete c.securityContext.allowPrivilegeEscalation],
    ['capabilities kept', (c) => (c.securityContext.capabilities.drop = ['NET_RAW'])],
    ['no seccomp', (c) => delete c.securityContext.seccompProfile],
    ['no memory limit', (c) => delete c.computeResources.limits.memory],
    ['$( in script', (c) => (c.script = '#!/usr/bin/env node\nconsole.log("$(date)")')],
  ];
  for (const [label, breakIt] of variants) {
    const copy = structuredClone(good);
    breakIt(copy);
    t.equal(hardeningProblems(copy).length, 1, label);
  }
});
