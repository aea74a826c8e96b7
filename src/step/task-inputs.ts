/**
 * Which Task param or workspace feeds each environment variable and flag of
 * a step, so a step's messages can name what a pipeline author wrote
 * (`param "images"`) instead of the program's own names (`IMAGES`,
 * `--images`). The generator derives it from the Task definition's step
 * (its env values and args) and passes it in TASK_INPUTS_ENV, as it passes
 * the result bounds: the mapping cannot drift from the Task. Outside a Task
 * (tests, a developer's shell) it is absent and messages fall back to the
 * program's names.
 *
 * Format: space-separated `KEY=kind:name` entries, KEY an env var name or a
 * flag (`--images`), kind `param` or `workspace`. No dependencies: every step
 * bundle imports this.
 */

export const TASK_INPUTS_ENV = 'TEKTON_CATALOG_TASK_INPUTS';

export interface TaskInput {
  kind: 'param' | 'workspace';
  name: string;
}

const REFERENCE = /^\$\((params|workspaces)\.([A-Za-z_][A-Za-z0-9_-]*)(\[\*\]|\.path|\.bound)?\)$/;
const ENTRY = /^([A-Za-z_][A-Za-z0-9_]*|--[a-z][a-z0-9-]*)=(param|workspace):([A-Za-z_][A-Za-z0-9_-]*)$/;

/** The Task input a step value is exactly (`$(params.x)`, `$(params.x[*])`, `$(workspaces.x.path)`), if any. */
export function taskInputOf(value: string): TaskInput | undefined {
  const match = REFERENCE.exec(value);
  if (!match) return undefined;
  if (match[1] === 'params') return match[3] === undefined || match[3] === '[*]' ? { kind: 'param', name: match[2]! } : undefined;
  return match[3] === '.path' || match[3] === '.bound' ? { kind: 'workspace', name: match[2]! } : undefined;
}

/** The TASK_INPUTS_ENV value for a step: each env var and each flag whose value is one Task param or workspace. */
export function formatTaskInputs(step: { env: readonly { name: string; value: string }[]; args: readonly string[] }): string {
  const entries: string[] = [];
  for (const variable of step.env) {
    const input = taskInputOf(variable.value);
    if (input) entries.push(`${variable.name}=${input.kind}:${input.name}`);
  }
  step.args.forEach((arg, i) => {
    const next = step.args[i + 1];
    const input = next === undefined ? undefined : taskInputOf(next);
    if (/^--[a-z][a-z0-9-]*$/.test(arg) && input) entries.push(`${arg}=${input.kind}:${input.name}`);
  });
  return entries.join(' ');
}

export function parseTaskInputs(text: string | undefined): Map<string, TaskInput> {
  const inputs = new Map<string, TaskInput>();
  for (const entry of (text ?? '').split(' ')) {
    const match = ENTRY.exec(entry);
    if (match) inputs.set(match[1]!, { kind: match[2] as TaskInput['kind'], name: match[3]! });
  }
  return inputs;
}

/** The Task input behind an env var or flag of this step, when the step runs in a catalog Task. */
export function taskInput(key: string, env: NodeJS.ProcessEnv = process.env): TaskInput | undefined {
  return parseTaskInputs(env[TASK_INPUTS_ENV]).get(key);
}

/**
 * How a message names an env var or flag: `param "images"` or
 * `workspace "secret"` inside a Task, the program's own name otherwise.
 */
export function inputLabel(key: string, env: NodeJS.ProcessEnv = process.env): string {
  const input = taskInput(key, env);
  return input ? `${input.kind} "${input.name}"` : key;
}

/**
 * The hint for an argument error: inside a Task the args are the Task's own
 * (a pipeline author cannot pass `--help` or fix them), so it is the Task's
 * fault; outside one, the program's help is the place to look.
 */
export function argsHint(program: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[TASK_INPUTS_ENV] !== undefined
    ? "the Task's step args are fixed by the catalog, not by your Pipeline: report this as a catalog bug"
    : `run ${program} --help`;
}
