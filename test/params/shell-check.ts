/**
 * Proves with real shells (dash, Debian's /bin/sh, and bash) that values are
 * inert as one word: each value is handed to the shell as an argument, never
 * pasted into the checker's own script, and the script then pastes it into
 * code with `eval`, the way a careless Task script pastes $(params.x), in
 * every context the shell guarantee covers:
 *
 *   word           set -- $v (unquoted expansion), eval "set -- $v",
 *                  eval "set -- \"$v\"", eval "x=$v", eval "x=\"$v\""
 *   double-quoted  eval "set -- \"$v\"", eval "x=\"$v\""
 *
 * A context passes when the shell ends up with exactly one word (or
 * assignment) equal to the value, and then prints a nonce the values never
 * hold, so a value that ran `exit 0` or printed something cannot pass.
 * bash runs with nullglob and extglob, so any glob, even one that matches no
 * file, changes the word count; HOME points to a marker, so a tilde that
 * expands changes the word.
 *
 * The shells run without PATH, in a folder they cannot write to, and (when
 * the tests run as root) as nobody: if a value did get a command through,
 * only builtins could run, and they could change nothing that matters.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShellSafety } from '../../src/params/shell.ts';

export const SHELLS = ['/bin/sh', '/bin/bash'] as const;

const CONTEXTS: Record<ShellSafety, string[]> = {
  word: [
    'set -- $__value; [ $# -eq 1 ] && [ "$1" = "$__expect" ]',
    'eval "set -- $__value"; [ $# -eq 1 ] && [ "$1" = "$__expect" ]',
    'eval "set -- \\"$__value\\""; [ $# -eq 1 ] && [ "$1" = "$__expect" ]',
    'eval "__x=$__value"; [ "$__x" = "$__expect" ]',
    'eval "__x=\\"$__value\\""; [ "$__x" = "$__expect" ]',
  ],
  'double-quoted': [
    'eval "set -- \\"$__value\\""; [ $# -eq 1 ] && [ "$1" = "$__expect" ]',
    'eval "__x=\\"$__value\\""; [ "$__x" = "$__expect" ]',
  ],
};

/**
 * One line per value: a "1" per context that kept the value as one inert
 * word, a "0" per context that did not.
 */
export function shellVerdicts(shell: (typeof SHELLS)[number], values: readonly string[], safety: ShellSafety): string[] {
  const checks = CONTEXTS[safety]
    .map((context) => `  __out=$( (${context} && printf %s "$__nonce") 2>/dev/null ); [ "$__out" = "$__nonce" ] && __r="\${__r}1" || __r="\${__r}0"`)
    .join('\n');
  const script = `${shell.endsWith('bash') ? 'shopt -s nullglob extglob\n' : ''}for __value do
  __expect=$__value; __r=
${checks}
  printf '%s\\n' "$__r"
done`;
  const dir = mkdtempSync(join(tmpdir(), 'shell-check-'));
  chmodSync(dir, 0o755);
  try {
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawnSync(shell, ['-c', script, 'shell-check', ...values], {
      cwd: dir,
      env: { HOME: '/home-marker', PATH: '/nonexistent', __nonce: `nonce-${process.pid}-${Date.now()}` },
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 16 << 20,
      ...asNobody,
    });
    if (child.error) throw child.error;
    if (child.status !== 0) throw new Error(`${shell} failed (exit ${child.status}): ${child.stderr.slice(0, 500)}`);
    return child.stdout.split('\n').slice(0, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The line shellVerdicts gives a value that is inert in every context. */
export const allInert = (safety: ShellSafety) => '1'.repeat(CONTEXTS[safety].length);
