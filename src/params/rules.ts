import * as z from '../zod.ts';
import { MAX_HOST_LENGTH, MAX_PARAM_NAME_LENGTH, MAX_PATTERN_LENGTH, MAX_RULE_LENGTH, PARAM_NAME } from './rule-shape.ts';

export { MAX_RULE_LENGTH, PARAM_NAME };

/**
 * The rule spec: what type each param must have. Task definitions declare
 * one per param; validate-params reads the same shape from its `rules` param.
 *
 * Every type rejects NUL and every other control character (C0, C1, DEL),
 * newlines (unless `allowNewlines` on free text), Unicode format characters
 * such as bidi overrides and isolates and zero-width characters (category Cf
 * and every other default-ignorable code point), line and paragraph
 * separators, lone surrogates, private-use, unassigned and blank-looking
 * characters and noncharacters. See src/params/characters.ts. Every type but
 * text, regex and enum keeps the shell guarantee of src/params/shell.ts.
 *
 * Task definitions (definition.ts) embed these schemas. The
 * validate-params step does not load zod at all: it checks rule sets with
 * rule-shape.ts, which a test proves equal to RuleSetSchema. Change both
 * together.
 */
const common = {
  /** An empty value passes (for optional params whose default is ""); a missing one too. */
  optional: z.optional(z.boolean()),
};

const lengthCap = z.number().check(z.int(), z.positive(), z.maximum(MAX_RULE_LENGTH));

export const ParamRuleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('git-sha'), ...common }),
  z.strictObject({ type: z.literal('image-tag'), ...common }),
  z.strictObject({
    type: z.literal('image-reference'),
    requireDigest: z.optional(z.boolean()),
    /** Allows a bracketed IPv6 registry; such a value must be quoted in scripts. */
    allowIpv6: z.optional(z.boolean()),
    ...common,
  }),
  /** SemVer 2.0.0 exactly; `allowVPrefix` also accepts a leading "v" (git tags such as v1.2.3). */
  z.strictObject({ type: z.literal('semver'), allowVPrefix: z.optional(z.boolean()), ...common }),
  z.strictObject({ type: z.literal('dns-label'), ...common }),
  z.strictObject({ type: z.literal('k8s-name'), ...common }),
  z.strictObject({ type: z.literal('relative-path'), ...common }),
  z.strictObject({
    type: z.literal('https-url'),
    /** Host names (optionally host:port), compared after IDNA and lower-casing. */
    allowedHosts: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(MAX_HOST_LENGTH)))),
    /** Allows a query string ("?a=1&b=2"); such a value must be quoted in scripts. */
    allowQuery: z.optional(z.boolean()),
    /** Allows a bracketed IPv6 host; such a value must be quoted in scripts. */
    allowIpv6: z.optional(z.boolean()),
    /** Refuses IP addresses and internal names (localhost, *.internal, *.svc, single labels). */
    publicHostsOnly: z.optional(z.boolean()),
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
    /** RE2 syntax, matched against the whole value by re2js in linear time. */
    pattern: z.string().check(z.minLength(1), z.maxLength(MAX_PATTERN_LENGTH)),
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

/** A rule set: param name to rule. */
export const RuleSetSchema = z.record(
  z.string().check(
    z.regex(PARAM_NAME),
    z.maxLength(MAX_PARAM_NAME_LENGTH),
    z.refine((name) => name !== '__proto__', 'may not be "__proto__"'),
  ),
  ParamRuleSchema,
);
export type RuleSet = z.infer<typeof RuleSetSchema>;
