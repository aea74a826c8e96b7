// npm run release -- <task>[@<version>] ...: marks Task versions released; see `tekton-catalog release --help`.
import { runCli } from '../src/cli/main.ts';
import { runStep } from '../src/step/run.ts';

await runStep('release', () => runCli(['release', ...process.argv.slice(2)]));
