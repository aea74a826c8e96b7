import { resolve } from 'node:path';
import { ExitCode } from '../step/run.ts';
import { parseCommand, stringFlag, usage, type CommandIo } from './args.ts';

export const RELEASE_HELP = `Usage: tekton-catalog release <task>[@<version>] ... [options]
       npm run release -- <task>[@<version>] ...

Marks Task versions released in catalog/index.json (without @<version>, the
Task's latest) and rewrites their release notes (catalog/task/<task>/CHANGELOG.md)
and catalog/README.md. No byte of a version's YAML, images or bundle
changes: what was built, tested and published as the draft is what is
released. From then on a build that would change the version fails and
asks for a bump. Then commit catalog/ and tag the commit with the release
tag it prints (every artefact of the version names it as its revision), and
publish again so the registry's catalog index says released.

A Task version's StepActions are released with it. A reference Pipeline's
name (e.g. secure-build) releases that Pipeline version, with its kit; every
Task version it pins must be released first (or earlier in the same command).

Options:
  --catalog <dir>   the catalog folder (default catalog)
  -h, --help        show this help
`;

export async function releaseCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand(args, { catalog: { type: 'string' } }, RELEASE_HELP, true);
  if (values.help) {
    io.stdout.write(RELEASE_HELP);
    return ExitCode.ok;
  }
  if (positionals.length === 0) throw usage('name at least one Task to release', 'e.g. npm run release -- validate-params');
  const { releaseVersions } = await import('../build/release.ts');
  const catalogDir = resolve(stringFlag(values, 'catalog') ?? 'catalog');
  const released = await releaseVersions(catalogDir, positionals);
  for (const r of released) {
    io.stdout.write(`${r.changed ? 'released' : 'already released'} ${r.name} ${r.version}  ${r.bundle}\n`);
  }
  const tags = released.map((r) => r.tag);
  io.stdout.write(
    `next: commit catalog/, then tag that commit: ${tags.map((tag) => `git tag ${tag}`).join(' && ')}; publish again (npm run publish) so the registry's catalog index says released\n`,
  );
  return ExitCode.ok;
}
