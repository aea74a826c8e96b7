import { stringify } from 'yaml';
import * as z from '../zod.ts';
import { catalogEntryFields, dnsLabel, ParamDefinitionSchema, SampleSchema, type ParamDefinition } from './definition.ts';

/**
 * The typed API of `pipelines/<name>/pipeline.ts`: a reference Pipeline of
 * the catalog, declared as data. Its pipeline tasks are Tekton's, except
 * that a task running one of this catalog's Tasks says so with
 * `taskRef: {catalog: '<task>'}`: the generator replaces it with the bundles
 * resolver reference of that Task's version, pinned by digest, so the
 * Pipeline always names exactly the Task bundles the catalog records.
 */

const text = z.string().check(z.minLength(1));

const PipelineTaskSchema = z.record(z.string(), z.unknown()).check(z.refine((task) => typeof task.name === 'string', 'a pipeline task needs a name'));

export const PipelineDefinitionSchema = z.strictObject({
  ...catalogEntryFields,
  /** The floor the Pipeline itself needs; the build raises it to the highest of the Tasks it runs. */
  minPipelinesVersion: z._default(z.string().check(z.regex(/^\d+\.\d+\.\d+$/)), '0.57.0'),
  /** Every param with the rule validate-params checks it against. */
  params: z._default(z.array(ParamDefinitionSchema), []),
  workspaces: z.array(z.strictObject({ name: dnsLabel, description: text, optional: z._default(z.boolean(), false) })).check(z.minLength(1)),
  results: z._default(z.array(z.strictObject({ name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)), description: text, value: text })), []),
  tasks: z.array(PipelineTaskSchema).check(z.minLength(1)),
  finally: z._default(z.array(PipelineTaskSchema), []),
  /** Which task sees which workspace, as text (rendered in a code block of the README). */
  diagram: text,
  /** Markdown for the README: the contract of the user's Tasks, how to run it. */
  notes: text,
  samples: z._default(z.array(SampleSchema), []),
  /** The kit configuration the committed kit is generated from (src/kit/config/kit-config.ts). */
  kit: z.record(z.string(), z.unknown()),
});

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
