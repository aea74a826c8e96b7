import { resolve } from 'node:path';
import { ExitCode } from '../step/run.ts';
import { parseCommand, stringFlag, usage, type CommandIo, TRUSTED_TOKEN_REALM_FLAG, TRUSTED_TOKEN_REALM_HELP, trustedTokenRealmOptions } from './args.ts';
import { explainRegistryError } from './registry-hints.ts';

export const SHOW_HELP = `Usage: tekton-catalog show-task <bundle-ref> [<name>] [options]

Prints the named resource from a Tekton bundle exactly as Tekton's bundles
resolver returns it (kind matched case-insensitively, name exactly, first
matching layer, first tar entry).

  <bundle-ref>   the reference the catalog's READMEs print,
                 registry/namespace/tasks/<task>:<version>@sha256:…
                 (a tag or a digest alone works too; the digest wins), or with
                 --layout a ref name (e.g. bundle-validate-params-0.1.0) or
                 digest in a local OCI layout
  <name>         the resource's name; default: the last part of the
                 repository (validate-params for …/tasks/validate-params)

Example:
  tekton-catalog show-task ghcr.io/hardened-tekton/catalog/tasks/validate-params:0.1.0@sha256:<digest>

Options:
  --kind <kind>             resource kind (default task)
  --layout <dir>            read from a local OCI layout instead of a registry
  --docker-config <file>    docker config.json with credentials for the registry host
${TRUSTED_TOKEN_REALM_HELP}
  --plain-http              use HTTP instead of TLS; only for a loopback registry
  -h, --help                show this help
`;

export async function showTaskCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand(
    args,
    {
      kind: { type: 'string' },
      layout: { type: 'string' },
      'docker-config': { type: 'string' },
      ...TRUSTED_TOKEN_REALM_FLAG,
      'plain-http': { type: 'boolean' },
    },
    SHOW_HELP,
    true,
  );
  if (values.help) {
    io.stdout.write(SHOW_HELP);
    return ExitCode.ok;
  }
  if (positionals.length < 1 || positionals.length > 2) {
    throw usage(
      'show-task needs <bundle-ref> and optionally <name>',
      'e.g. tekton-catalog show-task ghcr.io/hardened-tekton/catalog/tasks/validate-params:0.1.0@sha256:<digest>',
    );
  }
  const ref = positionals[0]!;
  const kind = stringFlag(values, 'kind') ?? 'task';
  const layoutDir = stringFlag(values, 'layout');
  const { readBundleResource } = await import('../bundle/read.ts');
  let resource;
  if (layoutDir !== undefined) {
    const name = positionals[1] ?? /^bundle-(.+)-\d+\.\d+\.\d+$/.exec(ref)?.[1];
    if (name === undefined) throw usage(`name the resource to show from ${ref}`, 'e.g. tekton-catalog show-task bundle-validate-params-0.1.0 validate-params --layout dist/oci');
    const { OciLayout } = await import('../oci/layout.ts');
    resource = await readBundleResource({ from: await OciLayout.open(resolve(layoutDir)), ref }, name, kind);
  } else {
    const { parseReference } = await import('../oci/registry/reference.ts');
    const reference = parseReference(ref);
    const name = positionals[1] ?? reference.repository.split('/').at(-1)!;
    const plainHttp = values['plain-http'] === true;
    const dockerConfig = stringFlag(values, 'docker-config');
    try {
      resource = await readBundleResource(
        { from: ref, registryOptions: { plainHttp, ...(dockerConfig === undefined ? {} : { dockerConfigPath: resolve(dockerConfig) }), ...trustedTokenRealmOptions(values) } },
        name,
        kind,
      );
    } catch (error) {
      throw explainRegistryError(error, reference.registry, plainHttp);
    }
  }
  io.stdout.write(resource.data);
  return ExitCode.ok;
}
