import * as z from '../zod.ts';
import { CatalogError } from '../errors.ts';

/**
 * Parses a step's environment with a zod schema and names every bad
 * variable at once. Values are never echoed: env may hold attacker input.
 */
export function readEnv<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new CatalogError('USAGE_ENV', `invalid step environment:\n${lines.join('\n')}`, {
    hint: 'check the env section of the step in the Task',
  });
}

/** A boolean env var: "true"/"false" only, so a typo cannot silently disable a check. */
export const envBoolean = (defaultValue: boolean) =>
  z.pipe(
    z.optional(z.enum(['true', 'false'], { message: 'must be "true" or "false"' })),
    z.transform((value) => (value === undefined ? defaultValue : value === 'true')),
  );
