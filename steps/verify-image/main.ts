import { join } from 'node:path';
import * as z from '../../src/zod.ts';
import { CatalogError, quoteUntrusted } from '../../src/errors.ts';
import { formatReference, isLoopbackHost, parseReference } from '../../src/oci/registry/reference.ts';
import { parseTrustedRealms } from '../../src/oci/registry/token-realm.ts';
import { REGISTRY_PULL_ERROR_CODES, VerificationFailure, VerifyErrorCode } from '../../src/sigstore/errors.ts';
import type { ImageVerification, ImageVerifier } from '../../src/sigstore/image-verifier.ts';
import type { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import { envBoolean, readEnv } from '../../src/step/env.ts';
import { artifactInputResultName, artifactInputValue, MAX_ARTIFACT_INPUTS } from '../../src/chains/type-hints.ts';
import { resultLimit, resultValueBytes, sharedResultLimit, writeResult } from '../../src/step/results.ts';
import { argsHint, inputLabel } from '../../src/step/task-inputs.ts';
import { ExitCode, runStep } from '../../src/step/run.ts';
import { writeStdoutSync } from '../../src/step/output.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { Telemetry } from '../../src/telemetry/telemetry.ts';
import { violation, ViolationTypes } from '../../src/telemetry/violations.ts';

const NAME = 'verify-image';
const telemetry = new Telemetry(NAME);

const HELP = `${NAME}: verify cosign / Sigstore signatures of container images before a pipeline uses them.

usage: ${NAME} --images REF...
       ${NAME} --help

Every argument after --images is an image reference (registry/repository[:tag][@sha256:<hex>]).
A tag-only reference is resolved to the digest of the manifest bytes fetched, which becomes the output.
Signatures are discovered in both cosign formats: the legacy sha256-<hex>.sig tag and Sigstore bundles
attached as OCI 1.1 referrers (referrers API, or the sha256-<hex> tag-schema index when it is missing).
An image passes when at least one of its signatures satisfies the policy.

policy (environment), keyless:
  CERTIFICATE_IDENTITY | CERTIFICATE_IDENTITY_REGEXP           exactly one; regexps are anchored
  CERTIFICATE_OIDC_ISSUER | CERTIFICATE_OIDC_ISSUER_REGEXP     exactly one; regexps are anchored
  CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY, _REF, _SHA, _TRIGGER, _NAME   optional, exact
policy, keyed:
  PUBLIC_KEY_DIR        folder holding the PEM public key (a workspace); PUBLIC_KEY_FILE names it (cosign.pub)
options:
  TRUSTED_ROOT_DIR      folder holding a Sigstore trusted root (TRUSTED_ROOT_FILE, trusted_root.json);
                        default: the public-good root embedded in the step (nothing is fetched)
  REQUIRE_TLOG          true (default) | false: false accepts keyed signatures without a transparency log
  REQUIRE_DIGEST        false (default) | true: refuse tag-only references
  ATTESTATION_PREDICATE_TYPE   also require an attestation of this predicate type, signed under the policy
  DOCKER_CONFIG_DIR     folder holding a docker config.json with registry credentials
  PLAIN_HTTP_REGISTRIES space-separated host:port list reached over plain HTTP (loopback hosts only)
  TRUSTED_TOKEN_REALMS  space-separated token server origins (https://host[:port]) that may receive registry
                        credentials although they are not on the registry's host or registrable domain
  REGISTRY_TIMEOUT_SECONDS  per-request timeout (default 30)
  REPORT_DIR            folder for verify-image-report.json (optional)
  TASK_NAME             label for the metrics (default ${NAME})
  PUSHGATEWAY_URL, CLOUDEVENTS_SINK, TELEMETRY_FAIL_CLOSED   where telemetry goes
  TEKTON_RESULTS_DIR    results folder (default /tekton/results)

results: verified-images (JSON list of registry/repository@sha256:…), verified-image (the one reference when a
single image was given, else empty), signer-identity and signer-issuer (JSON lists of the distinct values),
attestation-predicate-digests (JSON list, when required), and image1_ARTIFACT_INPUTS … image${MAX_ARTIFACT_INPUTS}_ARTIFACT_INPUTS
({"uri","digest"} of each verified image, the inputs Tekton Chains records). At most ${MAX_ARTIFACT_INPUTS} images per run, and
fewer when the Task's results budget (TEKTON_CATALOG_RESULT_LIMITS, TEKTON_CATALOG_RESULT_SHARED) cannot hold their
references; a run that cannot fit is refused before any registry is asked.
exit codes: 0 every image verified, 1 an image was rejected (one line per image with its reason code),
2 bad arguments or configuration, 3 internal failure.
`;

const optionalText = z._default(z.string().check(z.maxLength(4096)), '');

const EnvSchema = z.object({
  CERTIFICATE_IDENTITY: optionalText,
  CERTIFICATE_IDENTITY_REGEXP: optionalText,
  CERTIFICATE_OIDC_ISSUER: optionalText,
  CERTIFICATE_OIDC_ISSUER_REGEXP: optionalText,
  CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY: optionalText,
  CERTIFICATE_GITHUB_WORKFLOW_REF: optionalText,
  CERTIFICATE_GITHUB_WORKFLOW_SHA: optionalText,
  CERTIFICATE_GITHUB_WORKFLOW_TRIGGER: optionalText,
  CERTIFICATE_GITHUB_WORKFLOW_NAME: optionalText,
  PUBLIC_KEY_DIR: optionalText,
  PUBLIC_KEY_FILE: z._default(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a plain file name')), 'cosign.pub'),
  TRUSTED_ROOT_DIR: optionalText,
  TRUSTED_ROOT_FILE: z._default(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a plain file name')), 'trusted_root.json'),
  REQUIRE_TLOG: envBoolean(true),
  REQUIRE_DIGEST: envBoolean(false),
  ATTESTATION_PREDICATE_TYPE: optionalText,
  DOCKER_CONFIG_DIR: optionalText,
  PLAIN_HTTP_REGISTRIES: optionalText,
  TRUSTED_TOKEN_REALMS: optionalText,
  REGISTRY_TIMEOUT_SECONDS: z._default(z.string().check(z.regex(/^[1-9][0-9]{0,3}$/, 'must be whole seconds, 1 to 9999')), '30'),
  REPORT_DIR: optionalText,
  TASK_NAME: z._default(z.string().check(z.maxLength(253)), NAME),
});
type Env = z.infer<typeof EnvSchema>;

/** Realm refusals name the Task param, the setting a pipeline author can change. */
const REALM_SETTING = 'the verify-image param "trusted-token-realms"';

/** Images verified at once: enough to hide registry latency, few enough to be polite. */
const CONCURRENCY = 4;
/** What a digest adds to registry/repository: "@sha256:" and 64 hex digits. */
const DIGEST_SUFFIX_BYTES = 72;

function parseArgs(argv: readonly string[]): { help: true } | { help: false; images: string[] } {
  if (argv[0] === '--help' || argv[0] === '-h') return { help: true };
  if (argv[0] !== '--images') throw usage('the first argument must be --images (or --help)');
  // Everything after --images is an image, even if it looks like a flag: params never become options.
  const images = argv.slice(1).filter((image) => image !== '');
  if (images.length === 0) {
    throw new CatalogError('USAGE_ARGS', `${inputLabel('--images')} is empty: give at least one image reference`, {
      hint: 'pass the images to verify, e.g. images: ["registry.example.com/team/app@sha256:…"], or the result of the task that built them',
    });
  }
  return { help: false, images };
}

/**
 * The verified reference an input becomes (registry/repository@sha256:…),
 * known before any registry is asked since a digest has a fixed length. An
 * input that does not parse is rejected later; its length stands in here.
 */
function expectedReference(input: string): string {
  try {
    const { registry, repository } = parseReference(input);
    return `${formatReference({ registry, repository })}@sha256:${'0'.repeat(DIGEST_SUFFIX_BYTES - 8)}`;
  } catch {
    return `${input}@sha256:${'0'.repeat(DIGEST_SUFFIX_BYTES - 8)}`;
  }
}

/**
 * Refuses, before any network access, a run whose results could not be
 * written: the Task's result limits (from its results budget) decide how
 * many images fit, not a constant here. Better a usage error up front than
 * a TaskRun that fails after verifying everything.
 */
function checkResultsFit(images: readonly string[], attestationRequired: boolean): void {
  if (images.length > MAX_ARTIFACT_INPUTS) {
    throw new CatalogError(
      'USAGE_TOO_MANY_IMAGES',
      `the images param holds ${images.length} images, and one verify-image TaskRun verifies at most ${MAX_ARTIFACT_INPUTS}: Tekton Chains records each verified image through one of its ${MAX_ARTIFACT_INPUTS} image<N>_ARTIFACT_INPUTS results`,
      { hint: `split the images param over several verify-image tasks of at most ${MAX_ARTIFACT_INPUTS} images each` },
    );
  }
  const references = images.map(expectedReference);
  // verified-images and the Chains inputs share what the other results leave (one pool), so they are counted together.
  const shared = sharedResultLimit();
  const listLimit = shared?.maxBytes ?? resultLimit('verified-images');
  const used = (refs: readonly string[]) =>
    resultValueBytes(JSON.stringify(refs)) + (shared ? refs.reduce((sum, ref) => sum + resultValueBytes(artifactInputValue(ref)), 0) : 0);
  const listBytes = used(references);
  if (listBytes > listLimit) {
    let fits = 0;
    while (fits < references.length && used(references.slice(0, fits + 1)) <= listLimit) fits++;
    throw new CatalogError(
      'USAGE_TOO_MANY_IMAGES',
      `the ${images.length} images in the images param would take ${listBytes} bytes in the verified-images result${shared ? ' and the Chains input results' : ''}, and this Task's results budget allows ${listLimit} (Tekton carries all results in one 4096-byte termination message)`,
      { hint: `verify at most ${fits} of these images per TaskRun: split the images param over several verify-image tasks` },
    );
  }
  if (attestationRequired) {
    const digestsLimit = resultLimit('attestation-predicate-digests');
    const digests = images.map(() => `sha256:${'0'.repeat(64)}`);
    if (resultValueBytes(JSON.stringify(digests)) > digestsLimit) {
      let fits = 0;
      while (fits < digests.length && resultValueBytes(JSON.stringify(digests.slice(0, fits + 1))) <= digestsLimit) fits++;
      throw new CatalogError('USAGE_TOO_MANY_IMAGES', `with attestation-predicate-type set, the attestation-predicate-digests result holds the digests of at most ${fits} images, and the images param has ${images.length}`, {
        hint: `verify at most ${fits} images per TaskRun when an attestation is required`,
      });
    }
  }
  if (images.length === 1 && resultValueBytes(references[0]!) > resultLimit('verified-image')) {
    throw new CatalogError('USAGE_IMAGE_REFERENCE', `the image in the images param is too long for the verified-image result (${resultLimit('verified-image')} bytes)`, {
      hint: 'use a shorter registry host or repository name',
    });
  }
}

function usage(message: string): CatalogError {
  return new CatalogError('USAGE_ARGS', message, { hint: argsHint(NAME) });
}

/**
 * The Sigstore verifier the policy asks for. Its modules load only here, after
 * the arguments and environment were checked, and only the ones the policy
 * needs: the embedded public-good root without TRUSTED_ROOT_DIR, the key
 * parser with PUBLIC_KEY_DIR, the identity policy without it.
 */
async function buildVerifier(env: Env): Promise<BundleVerifier> {
  const [{ BundleVerifier }, { MAX_TRUSTED_ROOT_BYTES, SigstoreTrustedRoot }] = await Promise.all([
    import('../../src/sigstore/verify/bundle-verifier.ts'),
    import('../../src/sigstore/trust/trusted-root.ts'),
  ]);
  const trustedRoot =
    env.TRUSTED_ROOT_DIR === ''
      ? (await import('../../src/sigstore/trust/public-good.ts')).publicGoodTrustedRoot()
      : SigstoreTrustedRoot.fromBytes(await readSmallFile(join(env.TRUSTED_ROOT_DIR, env.TRUSTED_ROOT_FILE), MAX_TRUSTED_ROOT_BYTES, 'trusted root'), join(env.TRUSTED_ROOT_DIR, env.TRUSTED_ROOT_FILE));
  const keyless = [env.CERTIFICATE_IDENTITY, env.CERTIFICATE_IDENTITY_REGEXP, env.CERTIFICATE_OIDC_ISSUER, env.CERTIFICATE_OIDC_ISSUER_REGEXP].some((v) => v !== '');
  if (env.PUBLIC_KEY_DIR !== '') {
    if (keyless) {
      throw new VerificationFailure(
        VerifyErrorCode.policyInvalid,
        `${inputLabel('PUBLIC_KEY_DIR')} is bound and a keyless policy is set (certificate-identity or -regexp, certificate-oidc-issuer or -regexp): use one or the other, not both`,
      );
    }
    const path = join(env.PUBLIC_KEY_DIR, env.PUBLIC_KEY_FILE);
    const { VerificationKey } = await import('../../src/sigstore/keys/public-key.ts');
    const key = VerificationKey.fromPem(await readSmallFile(path, 16 * 1024, 'public key'), path);
    return new BundleVerifier({ trustedRoot, key, requireTlog: env.REQUIRE_TLOG });
  }
  if (!keyless) {
    throw new VerificationFailure(VerifyErrorCode.policyInvalid, 'no policy: set certificate-identity(-regexp) and certificate-oidc-issuer(-regexp), or bind the public-key workspace');
  }
  const { KeylessPolicy } = await import('../../src/sigstore/policy/keyless-policy.ts');
  const policy = await KeylessPolicy.load({
    identity: env.CERTIFICATE_IDENTITY,
    identityRegexp: env.CERTIFICATE_IDENTITY_REGEXP,
    issuer: env.CERTIFICATE_OIDC_ISSUER,
    issuerRegexp: env.CERTIFICATE_OIDC_ISSUER_REGEXP,
    workflow: {
      repository: env.CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY,
      ref: env.CERTIFICATE_GITHUB_WORKFLOW_REF,
      sha: env.CERTIFICATE_GITHUB_WORKFLOW_SHA,
      trigger: env.CERTIFICATE_GITHUB_WORKFLOW_TRIGGER,
      name: env.CERTIFICATE_GITHUB_WORKFLOW_NAME,
    },
  });
  return new BundleVerifier({ trustedRoot, keyless: policy, requireTlog: env.REQUIRE_TLOG });
}

/** The params and workspaces that choose the key and trusted root files, as the pipeline author knows them. */
const fileParams = 'workspaces public-key and trusted-root, params public-key-file and trusted-root-file';

async function readSmallFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await process.getBuiltinModule('node:fs/promises').readFile(path);
  } catch {
    throw new CatalogError('CONFIG_FILE', `cannot read the ${what} at ${path}`, { hint: `check that the ${what}'s workspace holds a file with the name its file-name param gives (${fileParams})` });
  }
  if (bytes.byteLength > maxBytes) throw new CatalogError('CONFIG_FILE', `the ${what} at ${path} is larger than ${maxBytes} bytes`, { hint: `bind the ${what} itself, not a bundle of files (${fileParams})` });
  return bytes;
}

// The same check as src/step/plain-http-registries.ts, which verify-catalog uses. Released verify-image 0.1.0
// must rebuild byte for byte, and moving this would change its bundle: switch with its next version.
function plainHttpRegistries(list: string): string[] {
  const hosts = list.split(/[\s,]+/).filter(Boolean);
  for (const host of hosts) {
    if (!isLoopbackHost(host)) {
      throw new CatalogError('CONFIG_PLAIN_HTTP', `${inputLabel('PLAIN_HTTP_REGISTRIES')} lists ${quoteUntrusted(host)}, which is not a loopback host`, {
        hint: 'plain HTTP is only for registries on 127.0.0.1, [::1] or localhost; use TLS everywhere else',
      });
    }
  }
  return hosts;
}

type Outcome = { input: string; ok: true; result: ImageVerification } | { input: string; ok: false; code: string; message: string };

async function verifyAll(verifier: ImageVerifier, images: string[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(images.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < images.length; i = next++) {
      const input = images[i]!;
      try {
        outcomes[i] = { input, ok: true, result: await verifier.verify(input) };
      } catch (error) {
        const failure =
          error instanceof VerificationFailure
            ? error
            : new VerificationFailure(VerifyErrorCode.internal, error instanceof Error ? quoteUntrusted(error.message, 200) : 'unexpected error');
        outcomes[i] = { input, ok: false, code: failure.code, message: failure.message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, images.length) }, worker));
  return outcomes;
}

function distinct(values: string[]): string {
  return JSON.stringify([...new Set(values)]);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    writeStdoutSync(HELP);
    return ExitCode.ok;
  }
  const env = readEnv(EnvSchema);
  telemetry.configure();
  checkResultsFit(args.images, env.ATTESTATION_PREDICATE_TYPE !== '');
  const { ImageVerifier } = await import('../../src/sigstore/image-verifier.ts');
  const verifier = new ImageVerifier({
    verifier: await buildVerifier(env),
    registry: {
      plainHttpRegistries: plainHttpRegistries(env.PLAIN_HTTP_REGISTRIES),
      plainHttpSetting: 'the verify-image param "plain-http-registries" (loopback registries only)',
      trustedTokenRealms: parseTrustedRealms(env.TRUSTED_TOKEN_REALMS.split(/\s+/).filter(Boolean), REALM_SETTING),
      trustedTokenRealmsSetting: REALM_SETTING,
      timeoutMs: Number(env.REGISTRY_TIMEOUT_SECONDS) * 1000,
      ...(env.DOCKER_CONFIG_DIR === '' ? {} : { dockerConfigPath: join(env.DOCKER_CONFIG_DIR, 'config.json') }),
      dockerConfigSetting: 'the docker-config workspace (a kubernetes.io/dockerconfigjson Secret with key config.json)',
    },
    requireDigest: env.REQUIRE_DIGEST,
    ...(env.ATTESTATION_PREDICATE_TYPE === '' ? {} : { attestationPredicateType: env.ATTESTATION_PREDICATE_TYPE }),
  });
  let outcomes: Outcome[];
  try {
    outcomes = await verifyAll(verifier, args.images);
  } finally {
    await verifier.close();
  }

  for (const outcome of outcomes) {
    if (outcome.ok) {
      const { result } = outcome;
      const signer = result.signature.signer.kind === 'keyless' ? `${result.signature.signer.identity} (issuer ${result.signature.signer.issuer})` : `public key sha256:${result.signature.signer.fingerprint}`;
      process.stdout.write(`${NAME}: VERIFIED ${result.verifiedReference}: ${result.signature.source} signed by ${quoteUntrusted(signer, 300)}\n`);
      if (result.attestation) process.stdout.write(`${NAME}:   attestation ${result.attestation.predicateType}: predicate ${result.attestation.predicateDigest} (${result.attestation.source})\n`);
    } else {
      process.stderr.write(`${NAME}: REJECTED ${quoteUntrusted(outcome.input, 200)}: [${outcome.code}] ${outcome.message}\n`);
    }
    telemetry.count(Metrics.imageVerifications, { task: env.TASK_NAME, outcome: outcome.ok ? 'verified' : 'rejected', reason: outcome.ok ? 'ok' : outcome.code });
    if (outcome.ok) continue;
    const pullError = REGISTRY_PULL_ERROR_CODES.has(outcome.code);
    if (pullError) telemetry.count(Metrics.imagePullErrors, { task: env.TASK_NAME, image: outcome.input });
    telemetry.record(violation(ViolationTypes.imageVerificationRejected, 'image', { task: env.TASK_NAME, image: outcome.input, code: outcome.code, message: outcome.message, pullError }));
  }

  if (env.REPORT_DIR !== '') {
    const report = outcomes.map((outcome) => (outcome.ok ? { verified: true, ...outcome.result } : { input: outcome.input, verified: false, code: outcome.code, message: outcome.message }));
    await writeFileAtomic(join(env.REPORT_DIR, 'verify-image-report.json'), `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
  }

  const verified = outcomes.filter((outcome): outcome is Extract<Outcome, { ok: true }> => outcome.ok).map((outcome) => outcome.result);
  if (verified.length !== outcomes.length) {
    process.stderr.write(`${NAME}: ${outcomes.length - verified.length} of ${outcomes.length} image(s) rejected\n`);
    return ExitCode.rejected;
  }
  await writeResult('verified-images', JSON.stringify(verified.map((result) => result.verifiedReference)));
  await writeResult('verified-image', verified.length === 1 ? verified[0]!.verifiedReference : '');
  const signers = verified.map((result) => result.signature.signer);
  await writeResult('signer-identity', distinct(signers.map((s) => (s.kind === 'keyless' ? s.identity : `sha256:${s.fingerprint}`))));
  await writeResult('signer-issuer', distinct(signers.map((s) => (s.kind === 'keyless' ? s.issuer : 'public-key'))));
  await writeResult('attestation-predicate-digests', JSON.stringify(verified.flatMap((result) => (result.attestation ? [result.attestation.predicateDigest] : []))));
  for (const [i, result] of verified.entries()) await writeResult(artifactInputResultName(i + 1), artifactInputValue(result.verifiedReference));
  return ExitCode.ok;
}

await runStep(NAME, main, { telemetry });
