// npm run build [-- options]: builds the whole catalog; see --help.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBuildCommand } from '../src/cli/build-command.ts';
import { runStep } from '../src/step/run.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
await runStep('build', () => runBuildCommand(process.argv.slice(2), repoRoot, process));
