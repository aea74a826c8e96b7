// npm run publish -- --registry <host[:port]/namespace> [options]: see `tekton-catalog publish --help`.
import { runCli } from '../src/cli/main.ts';
import { runStep } from '../src/step/run.ts';

await runStep('publish', () => runCli(['publish', ...process.argv.slice(2)]));
