/**
 * One built-in param type, ready to check values. `check` sees only values
 * that are within `maxLength` and free of forbidden characters (the shared
 * checks in validate.ts run first), and returns why a value fails, or
 * undefined when it passes. Reasons never quote the value: the caller shows
 * it separately, escaped and truncated.
 */
export interface TypeValidator {
  /** Checked before anything else, so a 1 MB value costs one comparison. */
  readonly maxLength: number;
  /** Only free text may allow newlines. */
  readonly allowNewlines?: boolean;
  check(value: string): string | undefined;
}
