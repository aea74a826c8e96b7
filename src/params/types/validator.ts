import type { ShellSafety } from '../shell.ts';

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
  /** The reason given for a value longer than maxLength, when the type has a better one than the length. */
  readonly tooLong?: string;
  /** Only free text may allow newlines. */
  readonly allowNewlines?: boolean;
  /**
   * The type's shell guarantee (see ../shell.ts), checked after `check`
   * passes, so no grammar can let shell syntax through by mistake. Absent
   * for text, regex and enum, whose values the rule's author chooses.
   */
  readonly shell?: ShellSafety;
  check(value: string): string | undefined;
}
