import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError } from '../errors.ts';
import { ExitCode, runStep } from '../step/run.ts';
import { runBuildCommand } from './build-command.ts';

/**
 * `tekton-catalog <command>`: the package's command line. Every command
 * has --help; a usage mistake exits 2, a failure 3, always with a one-line
 * message and never a stack trace.
 */
const MAIN_HELP = `Usage: tekton-catalog <command> [options]

Commands:
  build       build the catalog: step images, Task YAML, bundles, index
  publish     push the built step images and Tekton bundles to a registry
  show-task   print a Task from a Tekton bundle, as Tekton's bundles resolver reads it
  sign        sign and attest every published artefact catalog/index.json records (after publish)
  verify-catalog  verify a catalog or Task bundle and every step image it runs, before applying it
  policy      generate admission policies (policy-controller, Kyverno) for the signed catalog

Run \`tekton-catalog <command> --help\` for a command's options.
`;

const PUBLISH_HELP = `Usage: tekton-catalog publish --registry <host[:port]/namespace> [options]
       npm run publish -- --registry <host[:port]/namespace> [options]

Pushes every step image (multi-arch index, its manifests and blobs) and every
Tekton bundle from the build's OCI layout:
  step-<program>          -> <registry>/steps/<program>:sha-<digest prefix>
  bundle-<task>-<version> -> <registry>/tasks/<task>:<version>
  catalog-<n>             -> <registry>/catalog:<n>
Safe to re-run: what the registry already has is not pushed again. A Task
version tag that already points at other content stops the publish before
anything is pushed (released versions are immutable). Catalog tags move to
the newest catalog; pin them by digest.

Options:
  --registry <host/ns>      destination registry and namespace (required)
  --layout <dir>            the build's OCI layout (default dist/oci)
  --record <file>           machine-readable publish record (default dist/publish-record.json)
  --docker-config <file>    docker config.json with credentials for the registry host
  --plain-http              use HTTP instead of TLS; only for a loopback registry
  -h, --help                show this help
`;

const SHOW_HELP = `Usage: tekton-catalog show-task <bundle-ref> <name> [options]

Prints the named resource from a Tekton bundle exactly as Tekton's bundles
resolver returns it (kind matched case-insensitively, name exactly, first
matching layer, first tar entry).

  <bundle-ref>   registry/repository:tag@sha256:…, or with --layout a ref
                 name (e.g. bundle-git-clone-0.1) or digest in a local layout

Options:
  --kind <kind>             resource kind (default task)
  --layout <dir>            read from a local OCI layout instead of a registry
  --docker-config <file>    docker config.json with credentials for the registry host
  --plain-http              use HTTP instead of TLS; only for a loopback registry
  -h, --help                show this help
`;

type Out = { write(text: string | Uint8Array): unknown };

export async function runCli(argv: string[], io: { stdout: Out; stderr: Out } = process): Promise<number> {
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
    case 'build':
      return runBuildCommand(rest, process.cwd(), io);
    case 'sign':
      return (await import('./sign-command.ts')).runSignCommand(rest, process.cwd(), io);
    case 'verify-catalog':
      return (await import('./verify-catalog-command.ts')).runVerifyCatalogCommand(rest, io);
    case 'policy':
      return (await import('./policy-command.ts')).runPolicyCommand(rest, process.cwd(), io);
    default:
      throw usage(`unknown command ${JSON.stringify(command.slice(0, 40))}`, 'run `tekton-catalog --help` for the commands');
  }
}

function usage(message: string, hint: string): CatalogError {
  return new CatalogError('USAGE', message, { hint });
}

type Flags = Record<string, { type: 'string' | 'boolean' }>;
type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Flags, help: string, positionals = false): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positionals });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    // parseArgs names the offending flag; that is the user's own input, shown to the user.
    throw usage(error instanceof Error ? error.message : String(error), help.split('\n')[0]!);
  }
}

async function publishCommand(args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  const { values } = parse(
    args,
    {
      registry: { type: 'string' },
      layout: { type: 'string' },
      record: { type: 'string' },
      'docker-config': { type: 'string' },
      'plain-http': { type: 'boolean' },
    },
    PUBLISH_HELP,
  );
  if (values.help) {
    io.stdout.write(PUBLISH_HELP);
    return ExitCode.ok;
  }
  if (typeof values.registry !== 'string') throw usage('--registry is required', 'e.g. --registry ghcr.io/my-org/tekton');
  const { publishLayout, renderSummary, DEFAULT_LAYOUT_DIR, DEFAULT_RECORD_PATH } = await import('../publish/publish.ts');
  const recordPath = resolve((values.record as string | undefined) ?? DEFAULT_RECORD_PATH);
  const record = await publishLayout({
    layoutDir: resolve((values.layout as string | undefined) ?? DEFAULT_LAYOUT_DIR),
    registry: values.registry,
    plainHttp: values['plain-http'] === true,
    ...(typeof values['docker-config'] === 'string' ? { dockerConfigPath: resolve(values['docker-config']) } : {}),
    recordPath,
    log: (line) => io.stderr.write(`${line}\n`),
  });
  io.stdout.write(`${renderSummary(record)}\npublish record: ${recordPath}\n`);
  return ExitCode.ok;
}

async function showTaskCommand(args: string[], io: { stdout: Out; stderr: Out }): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      kind: { type: 'string' },
      layout: { type: 'string' },
      'docker-config': { type: 'string' },
      'plain-http': { type: 'boolean' },
    },
    SHOW_HELP,
    true,
  );
  if (values.help) {
    io.stdout.write(SHOW_HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 2) throw usage('show-task needs <bundle-ref> and <name>', 'e.g. tekton-catalog show-task ghcr.io/org/tasks/git-clone:0.1 git-clone');
  const [ref, name] = positionals as [string, string];
  const kind = (values.kind as string | undefined) ?? 'task';
  const { readBundleResource } = await import('../bundle/read.ts');
  let resource;
  if (typeof values.layout === 'string') {
    const { OciLayout } = await import('../oci/layout.ts');
    resource = await readBundleResource({ from: await OciLayout.open(resolve(values.layout)), ref }, name, kind);
  } else {
    resource = await readBundleResource(
      {
        from: ref,
        registryOptions: {
          plainHttp: values['plain-http'] === true,
          ...(typeof values['docker-config'] === 'string' ? { dockerConfigPath: resolve(values['docker-config']) } : {}),
        },
      },
      name,
      kind,
    );
  }
  io.stdout.write(resource.data);
  return ExitCode.ok;
}


// Run as a program (not when imported by tests or scripts/publish.ts).
if (import.meta.main) {
  await runStep('tekton-catalog', () => runCli(process.argv.slice(2)));
}
