import type { TypeValidator } from './validator.ts';

/**
 * Free text up to maxLength UTF-16 code units. The shared character checks
 * still apply: no control or invisible characters, and newlines (LF, CRLF)
 * only with `allowNewlines`. Shell syntax is not refused here; free text must
 * still only ever reach a program through env or args.
 */
export function text(options: { maxLength: number; allowNewlines?: boolean | undefined }): TypeValidator {
  return { maxLength: options.maxLength, allowNewlines: options.allowNewlines === true, check: () => undefined };
}
