import { quoteUntrusted } from '../errors.ts';

/**
 * The shell guarantee of the built-in types (all but text, regex and enum):
 * a value that passes is inert as one word in a POSIX shell (dash, bash),
 * unquoted or inside double quotes, even when a later script pastes it into
 * its source. No word splitting, no expansion of any kind, no globbing, no
 * comment, no operator, no quote.
 *
 * An inert word holds only A-Z a-z 0-9 and . _ - + , : = / @ % # ~, because
 * every other printable ASCII character means something to a shell:
 *   space, tab, newline   split words
 *   $ `                   expansion and command substitution
 *   \ " '                 quoting (a stray one swallows the rest of the line)
 *   ; & | < > ( )         operators, redirections and subshells
 *   * ? [ ]               pathname expansion (globbing), which depends on the files present
 *   { }                   brace expansion (bash)
 *   !                     history expansion (interactive bash, also in double quotes), negation
 *   ^                     history substitution (bash), a pipe in the old Bourne shell
 * and these of the allowed characters only at some places:
 *   ~                     tilde expansion at the start of a word, and after ":" or "=" in an
 *                         assignment (X=a:~/b); refused there
 *   #                     a comment at the start of a word; refused there
 * "-" at the start is allowed: it is an option to the program, not to the
 * shell (integer needs it for negative numbers); pass such values after "--".
 *
 * Some values need characters a shell reads and are allowed only when the
 * rule opts in (https-url's allowQuery and allowIpv6, image-reference's
 * allowIpv6): they add ? & [ ], which are inert inside double quotes but not
 * unquoted, so such a value must be quoted where a script uses it.
 */
export type ShellSafety = 'word' | 'double-quoted';

const WORD = /^[A-Za-z0-9._+,:=/@%#~-]*$/;
const QUOTED = /^[A-Za-z0-9._+,:=/@%#~?&[\]-]*$/;

/** Describes why a value breaks its type's shell guarantee, or undefined when it keeps it. */
export function findShellHazard(value: string, safety: ShellSafety): string | undefined {
  const allowed = safety === 'word' ? WORD : QUOTED;
  if (!allowed.test(value)) {
    const ch = [...value].find((c) => !allowed.test(c))!;
    return `holds ${quoteUntrusted(ch)}, which a shell would interpret`;
  }
  if (safety === 'word') {
    if (value.startsWith('~')) return 'starts with "~", which a shell would expand to a home folder';
    if (value.startsWith('#')) return 'starts with "#", which a shell would read as a comment';
    if (/[:=]~/.test(value)) return 'holds "~" after ":" or "=", which a shell expands in an assignment';
  }
  return undefined;
}
