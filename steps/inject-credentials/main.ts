import { CatalogError } from '../../src/errors.ts';
import { isCredentialsError } from '../../src/credentials/errors.ts';
import type { SecretSource } from '../../src/credentials/injector.ts';
import { Redactor } from '../../src/credentials/redactor.ts';
import { isSecretType } from '../../src/credentials/secret.ts';
import { BASIC_AUTH_FORMATS, isBasicAuthFormat, type BasicAuthFormat } from '../../src/credentials/writers/basic-auth-formats.ts';
import { resultLimit, resultValueBytes, writeResult } from '../../src/step/results.ts';
import { argsHint, inputLabel } from '../../src/step/task-inputs.ts';
import { ExitCode, runStep } from '../../src/step/run.ts';
import { writeStdoutSync } from '../../src/step/output.ts';
import type { StepEnv } from './env.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { Telemetry } from '../../src/telemetry/telemetry.ts';
import { violation as violationEvent, ViolationTypes } from '../../src/telemetry/violations.ts';

const NAME = 'inject-credentials';

const HELP = `${NAME}: write one Kubernetes Secret, scoped to named hosts, into a dedicated credentials workspace; or clean it up.

usage: ${NAME} --mode inject|cleanup [--allowed-hosts HOST...] [--basic-auth-formats FORMAT...] [--opaque-files KEY[=PATH]...]

flags (list flags take every following argument up to the next flag):
  --mode inject|cleanup       inject writes the credentials into an empty workspace (or one matching
                              PREVIOUS_INJECTION_DIGEST); cleanup (for a Pipeline's finally) overwrites and removes
                              everything in the workspace, whatever it holds, and checks it is empty
  --allowed-hosts HOST...     hosts the credentials are for: "ghcr.io", "git.example.com:2222" (exact match;
                              Docker Hub is "docker.io"); every other host in the Secret is dropped
  --basic-auth-formats F...   for basic-auth: ${BASIC_AUTH_FORMATS.join(', ')} (default: git-credentials netrc)
  --opaque-files KEY=PATH...  for Opaque: which keys to write, to files/PATH
  --help                      this text

environment:
  CREDENTIALS_DIR        the credentials workspace (required)
  SECRET_SOURCE          workspace (default) or kubernetes-api
  SECRET_DIR             the read-only secret workspace (source workspace)
  SECRET_NAME            the Secret's name (required for kubernetes-api; labels messages otherwise)
  SECRET_TYPE            kubernetes.io/dockerconfigjson | kubernetes.io/basic-auth | kubernetes.io/ssh-auth | Opaque
  CREDENTIALS_EXPIRES    TTL ("15m", "1h"; at most 24h) or RFC 3339 time; default 1h
  PREVIOUS_INJECTION_DIGEST
                         the injection-digest result of the previous injection into this workspace
                         (sha256:<hex>); empty: the workspace must be empty
  SSH_KNOWN_HOSTS        known_hosts lines for ssh-auth (or a known_hosts key in the Secret); required for ssh
  SSH_USER               ssh user for the allowed hosts (default git)
  SSH_DIR                where the consuming step sees the ssh folder (default ~/.ssh)
  SERVICE_ACCOUNT_DIR    service account mount (default /var/run/secrets/kubernetes.io/serviceaccount)
  TEKTON_RESULTS_DIR     results folder (default /tekton/results)
  PUSHGATEWAY_URL, CLOUDEVENTS_SINK, TELEMETRY_FAIL_CLOSED   where telemetry goes

results: fingerprints, paths, injection-digest (the digest of everything left in the workspace).
exit codes: 0 ok, 1 violation (a workspace that is not empty or does not match the digest, expired
credentials), 2 bad input or Secret, 3 failure.
Secret values never appear in output: every value loaded is masked in every message.
`;

interface Cli {
  help: boolean;
  mode: 'inject' | 'cleanup';
  allowedHosts: string[];
  basicAuthFormats: BasicAuthFormat[];
  opaqueFiles: string[];
}

const LIST_FLAGS = ['--allowed-hosts', '--basic-auth-formats', '--opaque-files'] as const;

function parseCli(argv: readonly string[]): Cli {
  const lists = new Map<string, string[]>();
  let mode: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
    } else if (arg === '--mode') {
      if (mode !== undefined) throw usage('--mode is given twice');
      mode = argv[++i] ?? '';
    } else if ((LIST_FLAGS as readonly string[]).includes(arg)) {
      if (lists.has(arg)) throw usage(`${arg} is given twice`);
      const values: string[] = [];
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) values.push(argv[++i]!);
      lists.set(arg, values);
    } else {
      throw usage(`unknown argument at position ${i + 1}`);
    }
  }
  if (help) return { help, mode: 'inject', allowedHosts: [], basicAuthFormats: [], opaqueFiles: [] };
  if (mode !== 'inject' && mode !== 'cleanup') {
    throw new CatalogError('USAGE_ARGS', `${inputLabel('--mode')} must be "inject" or "cleanup"`, { hint: 'use mode: inject in the task that writes the credentials and mode: cleanup in finally' });
  }
  const formats = lists.get('--basic-auth-formats') ?? ['git-credentials', 'netrc'];
  const unknown = formats.filter((format) => !isBasicAuthFormat(format));
  if (unknown.length > 0) {
    throw new CatalogError('USAGE_ARGS', `${inputLabel('--basic-auth-formats')} accepts ${BASIC_AUTH_FORMATS.join(', ')}`, { hint: 'list only those formats, e.g. basic-auth-formats: ["git-credentials"]' });
  }
  return {
    help,
    mode,
    allowedHosts: lists.get('--allowed-hosts') ?? [],
    basicAuthFormats: formats as BasicAuthFormat[],
    opaqueFiles: lists.get('--opaque-files') ?? [],
  };
}

function usage(message: string): CatalogError {
  return new CatalogError('USAGE_ARGS', message, { hint: argsHint(NAME) });
}

const redactor = new Redactor();
const telemetry = new Telemetry(NAME);
const say = (line: string): void => {
  process.stdout.write(`${redactor.redact(line)}\n`);
};
/** One line in the log and one CloudEvent (masked like the log) for each violation. */
const violation = (code: string, message: string, mode: Cli['mode']): void => {
  process.stderr.write(`${redactor.redact(`${NAME}: violation [${code}]: ${message}`)}\n`);
  telemetry.record(violationEvent(ViolationTypes.workspaceAccessViolated, 'workspace', { task: NAME, workspace: 'credentials', mode, code, message: redactor.redact(message) }));
};

async function inject(cli: Cli, env: StepEnv): Promise<number> {
  if (!isSecretType(env.SECRET_TYPE)) {
    throw new CatalogError('USAGE_ENV', 'secret-type must be one of kubernetes.io/dockerconfigjson, kubernetes.io/basic-auth, kubernetes.io/ssh-auth, Opaque', {
      hint: 'set the secret-type param: a mounted Secret does not say its type',
    });
  }
  const type = env.SECRET_TYPE;
  let source: SecretSource;
  if (env.SECRET_SOURCE === 'workspace') {
    if (env.SECRET_DIR === '') {
      throw new CatalogError('USAGE_ENV', 'the secret workspace is not bound, and secret-source is workspace', {
        hint: 'bind the secret workspace to the Secret (secret: {secretName: ...}), or set secret-source: kubernetes-api and secret-name',
      });
    }
    source = { kind: 'workspace', dir: env.SECRET_DIR };
  } else {
    source = { kind: 'kubernetes-api', env: process.env, ...(env.SERVICE_ACCOUNT_DIR ? { serviceAccountDir: env.SERVICE_ACCOUNT_DIR } : {}) };
  }
  const labels = { secret_type: type, source: env.SECRET_SOURCE };
  try {
    // Loaded only now, after the arguments and environment were checked (a chunk of its own in the bundle).
    const [{ CredentialInjector, injectionResults }, { DIGEST_RESULT, PREVIOUS_DIGEST_PARAM }] = await Promise.all([
      import('../../src/credentials/injector.ts'),
      import('../../src/credentials/workspace.ts'),
    ]);
    const report = await new CredentialInjector(redactor).inject({
      credentialsDir: env.CREDENTIALS_DIR,
      source,
      secretName: env.SECRET_NAME,
      secretType: type,
      allowedHosts: cli.allowedHosts,
      basicAuthFormats: cli.basicAuthFormats,
      opaqueFiles: cli.opaqueFiles,
      expires: env.CREDENTIALS_EXPIRES,
      previousDigest: env.PREVIOUS_INJECTION_DIGEST,
      ssh: { knownHosts: env.SSH_KNOWN_HOSTS, user: env.SSH_USER, consumerDir: env.SSH_DIR },
    });
    const results = injectionResults(report.written);
    await writeResult('fingerprints', results.fingerprints);
    await writeResult('paths', results.paths);
    await writeResult(DIGEST_RESULT, report.digest);
    for (const file of report.written) say(`${NAME}: wrote ${file.path} (sha256:${file.sha256})`);
    say(`${NAME}: ${report.secret.label} (${report.secret.type}, from ${report.secret.source}) injected; expires at ${report.expiresAt.toISOString()}`);
    say(`${NAME}: the workspace now has ${DIGEST_RESULT} ${report.digest}; a later inject-credentials into it takes that as ${PREVIOUS_DIGEST_PARAM}`);
    telemetry.count(Metrics.credentialInjections, { ...labels, outcome: 'success' });
    return ExitCode.ok;
  } catch (error) {
    if (isCredentialsError(error) && error.violation) {
      telemetry.count(Metrics.credentialInjections, { ...labels, outcome: 'violation' });
      telemetry.count(Metrics.workspaceAccessViolations, { task: NAME, workspace: 'credentials' });
      violation(error.code, `${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`, 'inject');
      return ExitCode.rejected;
    }
    telemetry.count(Metrics.credentialInjections, { ...labels, outcome: 'failure' });
    throw error;
  }
}

async function cleanup(env: StepEnv): Promise<number> {
  const [{ cleanupCredentials }, { DIGEST_RESULT }] = await Promise.all([import('../../src/credentials/cleanup.ts'), import('../../src/credentials/workspace.ts')]);
  const report = await cleanupCredentials(env.CREDENTIALS_DIR);
  await writeResult('fingerprints', '{}');
  await writeResult('paths', boundedJsonList(report.removed, report.removedCount));
  await writeResult(DIGEST_RESULT, '');
  say(
    `${NAME}: cleanup removed ${report.removedCount} entr${report.removedCount === 1 ? 'y' : 'ies'} (${report.overwritten} file(s) overwritten first); the credentials workspace is empty`,
  );
  for (const line of report.notOverwritten) say(`${NAME}: removed without overwriting first: ${line}`);
  // What the marker claims is reported, never trusted: it decided nothing that was removed.
  if (report.missingFromManifest.length > 0) say(`${NAME}: ${report.missingFromManifest.length} file(s) the marker lists were not there (the injection stopped early)`);
  if (report.unlistedCount > 0) say(`${NAME}: ${report.unlistedCount} file(s) the marker does not list were removed too`);
  if (report.violations.length === 0) return ExitCode.ok;
  telemetry.count(Metrics.workspaceAccessViolations, { task: NAME, workspace: 'credentials' });
  for (const message of report.violations) violation('CREDENTIALS_CLEANUP', message, 'cleanup');
  return ExitCode.rejected;
}

/**
 * A JSON list that fits the paths result's bound, measured as Tekton's
 * termination message counts it (escaped): entries beyond it (or beyond those
 * listed) become one "… N more" entry.
 */
function boundedJsonList(items: readonly string[], total: number = items.length): string {
  const limit = resultLimit('paths');
  const kept: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const candidate = [...kept, items[i]!, `… ${total} more`];
    if (resultValueBytes(JSON.stringify(candidate)) > limit) {
      return JSON.stringify([...kept, `… ${total - i} more`]);
    }
    kept.push(items[i]!);
  }
  return JSON.stringify(total > kept.length ? [...kept, `… ${total - kept.length} more`] : kept);
}

await runStep(
  NAME,
  async () => {
    const cli = parseCli(process.argv.slice(2));
    if (cli.help) {
      writeStdoutSync(HELP);
      return ExitCode.ok;
    }
    // zod loads only here: --help and a usage error do without it.
    const env = (await import('./env.ts')).readStepEnv();
    telemetry.configure();
    return cli.mode === 'inject' ? await inject(cli, env) : await cleanup(env);
  },
  { redact: redactor.redactText, telemetry },
);
