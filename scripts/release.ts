// npm run release -- <task>[@<version>] ...: marks Task versions released (immutable).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseVersions } from '../src/build/release.ts';
import { formatError } from '../src/step/run.ts';

const HELP = `Usage: npm run release -- <task>[@<version>] ...

Marks Task versions as released in catalog/index.json. A released version is
immutable: the build fails if its content would change, and asks for a new
version. Without @<version>, the Task's latest version is released.
Commit catalog/index.json afterwards.
`;

const args = process.argv.slice(2);
if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(args.length === 0 ? 2 : 0);
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
releaseVersions(join(repoRoot, 'catalog'), args).then(
  (released) => process.stdout.write(`released: ${released.join(', ')}\n`),
  (error: unknown) => {
    const { text, code } = formatError('release', error);
    process.stderr.write(`${text}\n`);
    process.exit(code);
  },
);
