/**
 * Where a step image keeps node and the program, and the command that runs
 * it: what the image config's Entrypoint says and what emitted steps set as
 * their `command`. A module of its own: the Task emitter (which the audit
 * step bundles) needs the command, not the image builder.
 */
export const APP_DIR = '/app';
export const NODE_PATH = '/usr/local/bin/node';

/** The Entrypoint every step image's config gets: node running the program's bundle. */
export function stepEntrypoint(program: string): string[] {
  return [NODE_PATH, `${APP_DIR}/${program}.mjs`];
}
