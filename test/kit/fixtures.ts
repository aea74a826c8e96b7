import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadTaskDefinitions } from '../../src/build/load-definitions.ts';
import type { TaskDefinition } from '../../src/build/definition.ts';
import { parseKitConfig, type KitConfig, type KitConfigInput } from '../../src/kit/config/kit-config.ts';
import type { PipelineDocument } from '../../src/kit/pipeline/pipeline-tasks.ts';
import { repoRoot } from '../harness/shared.ts';

/** The committed reference Pipeline version (the newest the index records) and its folder. */
export async function referencePipeline(): Promise<{ dir: string; pipeline: PipelineDocument; version: string }> {
  const index = JSON.parse(await readFile(join(repoRoot, 'catalog', 'index.json'), 'utf8')) as { pipelines: Record<string, { latest: string; versions: Record<string, { path: string }> }> };
  const entry = index.pipelines['secure-build']!;
  const record = entry.versions[entry.latest]!;
  const pipeline = parse(await readFile(join(repoRoot, 'catalog', record.path), 'utf8')) as PipelineDocument;
  return { dir: join(repoRoot, 'catalog', 'pipeline', 'secure-build', entry.latest), pipeline, version: entry.latest };
}

let definitions: TaskDefinition[] | undefined;
export async function taskDefinitions(): Promise<TaskDefinition[]> {
  definitions ??= await loadTaskDefinitions(join(repoRoot, 'tasks'));
  return definitions;
}

export const BASE_CONFIG: KitConfigInput = {
  namespace: 'ci',
  params: { 'registry-secret-name': 'registry-push-creds' },
  egress: {
    registries: [{ name: 'registry', cidrs: ['10.0.50.0/24'] }],
    kubernetesApi: { cidrs: ['10.0.0.1/32'], port: 6443 },
  },
};

export function config(overrides: Partial<KitConfigInput> = {}): KitConfig {
  return parseKitConfig({ ...structuredClone(BASE_CONFIG), ...overrides }, 'test config');
}

/** A Pipeline running inject-credentials with the given params (and a user task), as documents come from YAML. */
export function injectPipeline(injectParams: { name: string; value: unknown }[], pipelineParams: PipelineDocument['spec']['params'] = []): PipelineDocument {
  return {
    metadata: { name: 'demo' },
    spec: {
      params: pipelineParams,
      tasks: [
        { name: 'build', taskRef: { name: 'user-build' } },
        {
          name: 'inject',
          taskRef: { resolver: 'bundles', params: [{ name: 'bundle', value: `ghcr.io/hardened-tekton/catalog/tasks/inject-credentials:0.1.0@sha256:${'a'.repeat(64)}` }, { name: 'name', value: 'inject-credentials' }, { name: 'kind', value: 'task' }] },
          params: injectParams,
        },
      ],
    },
  };
}
