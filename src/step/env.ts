import { z } from 'zod';
import { CatalogError } from '../errors.ts';
import { TASK_INPUTS_ENV, taskInput } from './task-inputs.ts';

/**
 * Parses a step's environment with a zod schema and names every bad
 * variable at once. Values are never echoed: env may hold attacker input.
 * Inside a catalog Task each variable is named by the Task param or
 * workspace that feeds it (src/step/task-inputs.ts), which is what the
 * pipeline author can change; a variable the Task sets itself is a fault of
 * the Task, not of the Pipeline, and the message says so.
 */
export function readEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  let fromTask = false;
  const lines = parsed.error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const input = taskInput(key, env);
    if (input === undefined) {
      fromTask = true;
      return `  ${key}: ${issue.message}`;
    }
    return input.kind === 'param' ? `  param "${input.name}": ${issue.message}` : `  workspace "${input.name}" path: ${issue.message}`;
  });
  const inTask = env[TASK_INPUTS_ENV] !== undefined;
  const hint = !inTask
    ? 'set these environment variables of the step'
    : fromTask
      ? 'change the params named above where your Pipeline or TaskRun passes them; a variable named by itself is set by the Task, not by you: report it as a catalog bug'
      : 'change these params where your Pipeline or TaskRun passes them to the Task';
  throw new CatalogError('USAGE_ENV', `${inTask ? 'invalid Task params' : 'invalid step environment'}:\n${lines.join('\n')}`, { hint });
}

/** A boolean env var: "true"/"false" only, so a typo cannot silently disable a check. */
export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .optional()
    .transform((value) => (value === undefined ? defaultValue : value === 'true'));
