import { stringify } from 'yaml';
import { z } from 'zod';
import { ParamDefinitionSchema, SampleSchema, versionString, type ParamDefinition } from './definition.ts';

/**
 * The typed API of `pipelines/<name>/pipeline.ts`: a reference Pipeline of
 * the catalog, declared as data. Its pipeline tasks are Tekton's, except
 * that a task running one of this catalog's Tasks says so with
 * `taskRef: {catalog: '<task>'}`: the generator replaces it with the bundles
 * resolver reference of that Task's version, pinned by digest, so the
 * Pipeline always names exactly the Task bundles the catalog records.
 */

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label').max(63);

const PipelineTaskSchema = z.record(z.string(), z.unknown()).refine((task) => typeof task.name === 'string', 'a pipeline task needs a name');

export const PipelineDefinitionSchema = z
  .object({
    name: dnsLabel,
    version: versionString,
    displayName: z.string().min(1),
    summary: z.string().min(1).max(120).refine((s) => !s.includes('\n'), 'must be one line'),
    description: z.string().min(1),
    categories: z.array(z.string().min(1)).min(1),
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/)).min(1),
    /** The floor the Pipeline itself needs; the build raises it to the highest of the Tasks it runs. */
    minPipelinesVersion: z.string().regex(/^\d+\.\d+\.\d+$/).default('0.57.0'),
    /** Every param with the rule validate-params checks it against. */
    params: z.array(ParamDefinitionSchema).default([]),
    workspaces: z.array(z.object({ name: dnsLabel, description: z.string().min(1), optional: z.boolean().default(false) }).strict()).min(1),
    results: z.array(z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/), description: z.string().min(1), value: z.string().min(1) }).strict()).default([]),
    tasks: z.array(PipelineTaskSchema).min(1),
    finally: z.array(PipelineTaskSchema).default([]),
    /** Which task sees which workspace, as text (rendered in a code block of the README). */
    diagram: z.string().min(1),
    /** Markdown for the README: the contract of the user's Tasks, how to run it. */
    notes: z.string().min(1),
    samples: z.array(SampleSchema).default([]),
    /** The kit configuration the committed kit is generated from (src/kit/config/kit-config.ts). */
    kit: z.record(z.string(), z.unknown()),
  })
  .strict();

export type PipelineDefinitionInput = z.input<typeof PipelineDefinitionSchema>;
export type PipelineDefinition = z.output<typeof PipelineDefinitionSchema>;

export function definePipeline(input: PipelineDefinitionInput): PipelineDefinition {
  return PipelineDefinitionSchema.parse(input);
}

/**
 * The params of a validate-params pipeline task that checks every param of
 * the Pipeline against its declared rule: `rules` from the definitions,
 * `values` as NAME=$(params.NAME), and the one array param (if any) through
 * `elements-name`/`elements`.
 */
export function validateAllParams(params: readonly ParamDefinition[]): { name: string; value: string | string[] }[] {
  const arrays = params.filter((param) => param.type === 'array');
  if (arrays.length > 1) throw new Error(`validate-params checks one array param per task; the Pipeline has ${arrays.map((p) => p.name).join(', ')}`);
  const rules = Object.fromEntries(params.map((param) => [param.name, param.rule]));
  return [
    { name: 'rules', value: stringify(rules, { lineWidth: 0 }) },
    { name: 'values', value: params.filter((param) => param.type !== 'array').map((param) => `${param.name}=$(params.${param.name})`) },
    ...(arrays.length === 1
      ? [
          { name: 'elements-name', value: arrays[0]!.name },
          { name: 'elements', value: `$(params.${arrays[0]!.name}[*])` },
        ]
      : []),
  ];
}
