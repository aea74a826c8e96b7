import * as z from 'zod/mini';

/**
 * The rule spec: what type each param must have. Task definitions declare
 * one per param; validate-params reads the same shape from its `rules` param.
 *
 * Every type rejects NUL and every other control character (C0, C1, DEL),
 * newlines (unless `allowNewlines` on free text), Unicode format characters
 * such as bidi overrides and isolates and zero-width characters (category Cf
 * and every other default-ignorable code point), line and paragraph
 * separators, lone surrogates and private-use characters. See
 * src/params/characters.ts.
 *
 * Written with zod/mini, not classic zod: the validate-params step imports
 * this file, and classic zod alone costs more start-up time than the whole
 * rest of the program. Classic schemas (definition.ts) embed these as is.
 */
const common = {
  /** An empty value passes (for optional params whose default is ""); a missing one too. */
  optional: z.optional(z.boolean()),
};

/** Upper bound for any length cap a rule may set. */
export const MAX_RULE_LENGTH = 65536;

const lengthCap = z.number().check(z.int(), z.positive(), z.maximum(MAX_RULE_LENGTH));

export const ParamRuleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('git-sha'), ...common }),
  z.strictObject({ type: z.literal('image-tag'), ...common }),
  z.strictObject({ type: z.literal('image-reference'), requireDigest: z.optional(z.boolean()), ...common }),
  /** SemVer 2.0.0 exactly; `allowVPrefix` also accepts a leading "v" (git tags such as v1.2.3). */
  z.strictObject({ type: z.literal('semver'), allowVPrefix: z.optional(z.boolean()), ...common }),
  z.strictObject({ type: z.literal('dns-label'), ...common }),
  z.strictObject({ type: z.literal('k8s-name'), ...common }),
  z.strictObject({ type: z.literal('relative-path'), ...common }),
  z.strictObject({
    type: z.literal('https-url'),
    /** Host names (optionally host:port), compared after IDNA and lower-casing. */
    allowedHosts: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(253)))),
    ...common,
  }),
  z.strictObject({ type: z.literal('enum'), values: z.array(z.string()).check(z.minLength(1)), ...common }),
  z.strictObject({
    type: z.literal('integer'),
    min: z.optional(z.number().check(z.int())),
    max: z.optional(z.number().check(z.int())),
    ...common,
  }),
  z.strictObject({ type: z.literal('bool'), ...common }),
  z.strictObject({
    type: z.literal('regex'),
    /** Anchored by us (^(?:pattern)$), compiled with the `u` flag, and proven free of catastrophic backtracking. */
    pattern: z.string().check(z.minLength(1), z.maxLength(1024)),
    /** Checked before the pattern runs. */
    maxLength: lengthCap,
    ...common,
  }),
  z.strictObject({
    type: z.literal('text'),
    maxLength: lengthCap,
    /** Allows LF (and CR only as part of CRLF); every other control character stays forbidden. */
    allowNewlines: z.optional(z.boolean()),
    ...common,
  }),
]);

export type ParamRule = z.infer<typeof ParamRuleSchema>;
export type ParamType = ParamRule['type'];

/** Tekton param names, minus "__proto__" which would poison plain-object lookups. */
export const PARAM_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;

/** A rule set: param name to rule. */
export const RuleSetSchema = z.record(
  z.string().check(
    z.regex(PARAM_NAME),
    z.maxLength(128),
    z.refine((name) => name !== '__proto__', 'may not be "__proto__"'),
  ),
  ParamRuleSchema,
);
export type RuleSet = z.infer<typeof RuleSetSchema>;
