import { plainHttpRegistries } from '../../src/step/plain-http-registries.ts';
import { join } from 'node:path';
import * as z from '../../src/zod.ts';
import { CatalogError, quoteUntrusted } from '../../src/errors.ts';
import { readEnv } from '../../src/step/env.ts';
import { writeResult } from '../../src/step/results.ts';
import { argsHint, inputLabel } from '../../src/step/task-inputs.ts';
import { ExitCode, runStep } from '../../src/step/run.ts';
import { writeStdoutSync } from '../../src/step/output.ts';

const NAME = 'verify-catalog';

const HELP = `${NAME}: verify a catalog or Task bundle, and every step image its Tasks run, before a pipeline uses it.

usage: ${NAME} --bundle REF
       ${NAME} --help

REF is the bundle (registry/repository[:tag][@sha256:<hex>]); a tag is resolved to the digest fetched.
The bundle must be signed by the catalog's identity with a SLSA provenance naming its source repository;
every image its Tasks run must be pinned by digest, signed by the same identity, with a provenance naming
the same source commit.

environment:
  CERTIFICATE_IDENTITY, CERTIFICATE_OIDC_ISSUER   keyless identity (exact)
  PUBLIC_KEY_DIR, PUBLIC_KEY_FILE                 keyed verification instead (a workspace; default file cosign.pub)
  SOURCE_REPOSITORY                               the repository every provenance must name
  TRUSTED_ROOT_DIR, TRUSTED_ROOT_FILE             a Sigstore trusted root (default: the embedded public-good root)
  DOCKER_CONFIG_DIR                               folder holding a docker config.json
  PLAIN_HTTP_REGISTRIES                           space-separated loopback host:port list reached over plain HTTP
  REGISTRY_TIMEOUT_SECONDS                        per-request timeout (default 30)
  REPORT_DIR                                      folder for verify-catalog-report.json (optional)

results: verified-bundle (registry/repository@sha256:…), source-commit, step-images-verified (a count).
exit codes: 0 verified, 1 rejected (each problem named with its reason code), 2 bad arguments or configuration.
`;

const optionalText = z._default(z.string().check(z.maxLength(4096)), '');
const fileName = (fallback: string) => z._default(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a plain file name')), fallback);

const EnvSchema = z.object({
  CERTIFICATE_IDENTITY: optionalText,
  CERTIFICATE_OIDC_ISSUER: optionalText,
  SOURCE_REPOSITORY: optionalText,
  PUBLIC_KEY_DIR: optionalText,
  PUBLIC_KEY_FILE: fileName('cosign.pub'),
  TRUSTED_ROOT_DIR: optionalText,
  TRUSTED_ROOT_FILE: fileName('trusted_root.json'),
  DOCKER_CONFIG_DIR: optionalText,
  PLAIN_HTTP_REGISTRIES: optionalText,
  REGISTRY_TIMEOUT_SECONDS: z._default(z.string().check(z.regex(/^[1-9][0-9]{0,3}$/, 'must be whole seconds, 1 to 9999')), '30'),
  REPORT_DIR: optionalText,
});

/** Where a pipeline author gives registry credentials. */
const DOCKER_CONFIG_SETTING = 'the docker-config workspace (a kubernetes.io/dockerconfigjson Secret with key config.json)';

function parseArgs(argv: readonly string[]): { help: true } | { help: false; bundle: string } {
  if (argv[0] === '--help' || argv[0] === '-h') return { help: true };
  // The value after --bundle is the reference even if it looks like a flag: a param never becomes an option.
  if (argv[0] !== '--bundle' || argv.length !== 2 || argv[1] === '') {
    throw new CatalogError('USAGE_ARGS', argv[0] === '--bundle' && argv[1] === '' ? `${inputLabel('--bundle')} is empty` : 'expected exactly: --bundle <reference> (or --help)', {
      hint: argv[0] === '--bundle' && argv.length === 2 ? 'pass the bundle to verify, pinned by digest: <registry>/<repository>:<tag>@sha256:<digest>' : argsHint(NAME),
    });
  }
  return { help: false, bundle: argv[1]! };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    writeStdoutSync(HELP);
    return ExitCode.ok;
  }
  const env = readEnv(EnvSchema);
  const plainHttp = plainHttpRegistries(env.PLAIN_HTTP_REGISTRIES);
  const keyed = env.PUBLIC_KEY_DIR !== '';
  // Loaded only now, after the arguments and environment were checked (chunks of their own in the bundle).
  const [{ verifyCatalogReference }, { renderCatalogSummary }] = await Promise.all([
    import('../../src/signing/verify-catalog/run.ts'),
    import('../../src/signing/verify-catalog/report.ts'),
  ]);
  const result = await verifyCatalogReference(args.bundle, {
    ...(keyed ? { publicKeyPath: join(env.PUBLIC_KEY_DIR, env.PUBLIC_KEY_FILE) } : {}),
    ...(!keyed && env.CERTIFICATE_IDENTITY !== '' ? { identity: env.CERTIFICATE_IDENTITY } : {}),
    ...(!keyed && env.CERTIFICATE_OIDC_ISSUER !== '' ? { issuer: env.CERTIFICATE_OIDC_ISSUER } : {}),
    ...(env.SOURCE_REPOSITORY !== '' ? { sourceRepository: env.SOURCE_REPOSITORY } : {}),
    ...(env.TRUSTED_ROOT_DIR !== '' ? { trustedRootPath: join(env.TRUSTED_ROOT_DIR, env.TRUSTED_ROOT_FILE) } : {}),
    ...(env.DOCKER_CONFIG_DIR !== '' ? { dockerConfigPath: join(env.DOCKER_CONFIG_DIR, 'config.json') } : {}),
    dockerConfigSetting: DOCKER_CONFIG_SETTING,
    plainHttpRegistries: plainHttp,
    plainHttpSetting: 'the verify-catalog param "plain-http-registries" (loopback registries only)',
    timeoutMs: Number(env.REGISTRY_TIMEOUT_SECONDS) * 1000,
    ...(env.REPORT_DIR !== '' ? { reportPath: join(env.REPORT_DIR, 'verify-catalog-report.json') } : {}),
  });
  const summary = renderCatalogSummary(result);
  (result.verified ? process.stdout : process.stderr).write(summary.replace(/^/gm, `${NAME}: `).replace(new RegExp(`${NAME}: $`), ''));
  if (!result.verified) return ExitCode.rejected;
  await writeResult('verified-bundle', result.checks[0]!.reference);
  await writeResult('source-commit', result.commits.join(','));
  await writeResult('step-images-verified', String(result.checks.filter((check) => check.kind === 'step-image' && check.ok).length));
  return ExitCode.ok;
}

await runStep(NAME, main);
