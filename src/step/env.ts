import { z } from 'zod';
import { CatalogError } from '../errors.ts';

/**
 * Parses a step's environment with a zod schema and names every bad
 * variable at once. Values are never echoed: env may hold attacker input.
 */
export function readEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new CatalogError('USAGE_ENV', `invalid step environment:\n${lines.join('\n')}`, {
    hint: 'check the env section of the step in the Task',
  });
}

/** A boolean env var: "true"/"false" only, so a typo cannot silently disable a check. */
export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .optional()
    .transform((value) => (value === undefined ? defaultValue : value === 'true'));
