import { ExitCode, runStep } from '../step/run.ts';
import { usage, type CommandIo } from './args.ts';
import { enableCliCompileCache } from './compile-cache.ts';
import { runBuildCommand } from './build-command.ts';
import { listCommand } from './list-command.ts';
import { publishCommand } from './publish-command.ts';
import { releaseCommand } from './release-command.ts';
import { showTaskCommand } from './show-task-command.ts';

/**
 * `tekton-catalog <command>`: the package's command line. Every command
 * has --help; a usage mistake exits 2, a failure 3, always with a one-line
 * message and never a stack trace.
 */
const MAIN_HELP = `Usage: tekton-catalog <command> [options]

Commands:
  build       build the catalog: step images, Task YAML, bundles, index
  release     mark Task versions released and write their release notes
  publish     push exactly what the index lists to the build's registry
  list        show the Task versions of the catalog, a registry namespace or a bundle
  show-task   print a Task from a Tekton bundle, as Tekton's bundles resolver reads it
  audit       audit Tekton and RBAC YAML for the threat model's weaknesses (text, JSON, SARIF)
  lint        check Pipelines and runs against the interfaces of the Tasks they use
  sign        sign and attest every published artefact catalog/index.json records (after publish)
  verify-catalog  verify a catalog or Task bundle and every step image it runs, before applying it
  policy      generate admission policies (policy-controller, Kyverno) for the signed catalog
  kit         generate a Pipeline's hardening kit: RBAC, egress policy, Chains and observability config

Run \`tekton-catalog <command> --help\` for a command's options.
`;

export async function runCli(argv: string[], io: CommandIo = process): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.stdout.write(MAIN_HELP);
    return command === undefined ? ExitCode.usage : ExitCode.ok;
  }
  switch (command) {
    case 'publish':
      return publishCommand(rest, io);
    case 'show-task':
      return showTaskCommand(rest, io);
    case 'list':
      return listCommand(rest, io);
    case 'release':
      return releaseCommand(rest, io);
    case 'build':
      return runBuildCommand(rest, process.cwd(), io);
    case 'audit':
    case 'lint':
      return (await import('./audit-command.ts')).runAuditCommand(command, rest, { stdout: io.stdout, stderr: io.stderr, stdin: () => process.stdin });
    case 'sign':
      return (await import('./sign-command.ts')).runSignCommand(rest, process.cwd(), io);
    case 'verify-catalog':
      return (await import('./verify-catalog-command.ts')).runVerifyCatalogCommand(rest, io);
    case 'policy':
      return (await import('./policy-command.ts')).runPolicyCommand(rest, process.cwd(), io);
    case 'kit':
      return (await import('./kit-command.ts')).runKitCommand(rest, io);
    default:
      throw usage(`unknown command ${JSON.stringify(command.slice(0, 40))}`, 'run `tekton-catalog --help` for the commands');
  }
}

// Run as a program (not when imported by tests or scripts/publish.ts).
if (import.meta.main) {
  enableCliCompileCache();
  await runStep('tekton-catalog', () => runCli(process.argv.slice(2)));
}
