import { CatalogError, isCatalogError } from '../errors.ts';

/** Exit codes shared by every step program. */
export const ExitCode = {
  ok: 0,
  /** The input was checked and rejected (a policy said no). */
  rejected: 1,
  /** The step was used wrongly: bad flags, missing env, malformed config. */
  usage: 2,
  /** Something the step depends on failed: I/O, network, an unexpected error. */
  failure: 3,
} as const;

export type StepOutcome = number | void;

/**
 * Runs a step program's main function and turns every error into a one-line
 * message and an exit code. No stack trace reaches the log: a stack can
 * carry values from the environment, and it helps no pipeline author.
 * `redact` is applied to every message printed, so secrets known to the step
 * can be masked even inside messages from libraries.
 *
 * `telemetry` (src/telemetry/telemetry.ts) is flushed once main is done,
 * whatever its outcome; when it fails closed its error is reported too and
 * the step exits 3.
 */
export async function runStep(
  name: string,
  main: () => Promise<StepOutcome>,
  options: { redact?: (text: string) => string; telemetry?: { flush(): Promise<void> } } = {},
): Promise<never> {
  const redact = options.redact ?? ((text: string) => text);
  let code: number;
  try {
    const outcome = await main();
    code = typeof outcome === 'number' ? outcome : ExitCode.ok;
  } catch (error) {
    code = reportError(name, error, redact);
    await drain(process.stderr);
  }
  if (options.telemetry) {
    try {
      await options.telemetry.flush();
    } catch (error) {
      code = reportError(name, error, redact);
      await drain(process.stderr);
    }
  }
  process.exit(code);
}

/**
 * Waits until a stream has handed everything written so far to the OS.
 * Writes to a pipe that is full (64 KiB unread) are queued, and
 * process.exit drops the queue: a long report would reach the log cut off.
 */
export function drain(stream: NodeJS.WritableStream & { writableLength?: number }): Promise<void> {
  if (!stream.writableLength) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

export function formatError(name: string, error: unknown): { text: string; code: number } {
  if (isCatalogError(error)) {
    const hint = error.hint ? `\n  hint: ${error.hint}` : '';
    const code = error.code.startsWith('USAGE') || error.code.startsWith('CONFIG') ? ExitCode.usage : ExitCode.failure;
    return { text: `${name}: error [${error.code}]: ${error.message}${hint}`, code };
  }
  if (isZodError(error)) {
    const lines = error.issues.map((issue) => `  ${issue.path.join('.') || '(input)'}: ${issue.message}`);
    return { text: `${name}: error [USAGE_INVALID_INPUT]: invalid input\n${lines.join('\n')}`, code: ExitCode.usage };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { text: `${name}: error [INTERNAL]: ${message}`, code: ExitCode.failure };
}

/**
 * Recognised by shape, not with `instanceof ZodError`: importing zod here
 * would put it into every step bundle, including the ones that never use it.
 */
function isZodError(error: unknown): error is { issues: { path: PropertyKey[]; message: string }[] } {
  return (
    error instanceof Error &&
    error.name === 'ZodError' &&
    Array.isArray((error as { issues?: unknown }).issues)
  );
}

function reportError(name: string, error: unknown, redact: (text: string) => string): number {
  const { text, code } = formatError(name, error);
  process.stderr.write(`${redact(text)}\n`);
  return code;
}

export { CatalogError };
