import { z } from 'zod';

/**
 * The rule spec: what type each param must have. Task definitions declare
 * one per param; validate-params reads the same shape from its `rules` param.
 * Every type rejects NUL, other control characters and newlines unless the
 * rule says otherwise (`allowNewlines`, on free text only).
 */
const common = {
  /** An empty value passes (for optional params whose default is ""). */
  optional: z.boolean().optional(),
};

export const ParamRuleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('git-sha'), ...common }).strict(),
  z.object({ type: z.literal('image-tag'), ...common }).strict(),
  z.object({ type: z.literal('image-reference'), requireDigest: z.boolean().optional(), ...common }).strict(),
  z.object({ type: z.literal('semver'), ...common }).strict(),
  z.object({ type: z.literal('dns-label'), ...common }).strict(),
  z.object({ type: z.literal('k8s-name'), ...common }).strict(),
  z.object({ type: z.literal('relative-path'), ...common }).strict(),
  z
    .object({ type: z.literal('https-url'), allowedHosts: z.array(z.string().min(1)).optional(), ...common })
    .strict(),
  z.object({ type: z.literal('enum'), values: z.array(z.string()).min(1), ...common }).strict(),
  z
    .object({ type: z.literal('integer'), min: z.number().int().optional(), max: z.number().int().optional(), ...common })
    .strict(),
  z.object({ type: z.literal('bool'), ...common }).strict(),
  z
    .object({
      type: z.literal('regex'),
      pattern: z.string().min(1).max(1024),
      maxLength: z.number().int().positive().max(65536),
      ...common,
    })
    .strict(),
  z
    .object({
      type: z.literal('text'),
      maxLength: z.number().int().positive().max(65536),
      allowNewlines: z.boolean().optional(),
      ...common,
    })
    .strict(),
]);

export type ParamRule = z.infer<typeof ParamRuleSchema>;
export type ParamType = ParamRule['type'];

/** A rule set: param name to rule. */
export const RuleSetSchema = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_.-]*$/), ParamRuleSchema);
export type RuleSet = z.infer<typeof RuleSetSchema>;
