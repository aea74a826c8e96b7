import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { repoRoot } from '../harness/shared.ts';
import { missingRegistryTools, startRegistry } from '../harness/registry.ts';
import { pushBundleReferrer, pushImage, pushLegacySignatures } from '../sigstore/fixtures/registry-images.ts';
import { KeySigner, MockSigstore, inTotoStatement, simpleSigningPayload } from '../sigstore/fixtures/signing.ts';

const STEP = join(repoRoot, 'steps', 'verify-image', 'main.ts');
const WHO = { identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

/** Asynchronous, so this process keeps draining the test registry's log pipe while the step runs. */
function runStep(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [STEP, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

t.test('--help and usage errors', async (t) => {
  const help = await runStep(['--help'], {});
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: verify-image --images REF/);
  const noFlag = await runStep(['registry.example.com/app:1'], {});
  t.equal(noFlag.code, 2, 'images must follow --images');
  const noPolicy = await runStep(['--images', 'registry.example.com/app:1'], {});
  t.equal(noPolicy.code, 2, 'no policy is a configuration error');
  t.match(noPolicy.stderr, /CONFIG_POLICY_INVALID/);
  const remoteHttp = await runStep(['--images', 'registry.example.com/app:1'], { CERTIFICATE_IDENTITY: 'a', CERTIFICATE_OIDC_ISSUER: 'b', PLAIN_HTTP_REGISTRIES: 'registry.example.com:80' });
  t.equal(remoteHttp.code, 2, 'plain HTTP to a non-loopback host is refused up front');
  t.notMatch(noPolicy.stderr, /\n\s+at /, 'no stack trace');
});

t.test("how many images one run takes comes from the Task's results budget, checked before any registry is asked", async (t) => {
  const policy = { CERTIFICATE_IDENTITY: 'a', CERTIFICATE_OIDC_ISSUER: 'https://issuer.example.com' };
  // The bounds the generator hands the step; verified-images here holds 300 escaped bytes.
  const limits = { TEKTON_CATALOG_RESULT_LIMITS: 'verified-images=300,verified-image=345,signer-identity=384,signer-issuer=192,attestation-predicate-digests=153' };
  const images = Array.from({ length: 4 }, (_, i) => `registry.invalid/team/app-${i}:v1`);
  const refused = await runStep(['--images', ...images], { ...policy, ...limits });
  t.equal(refused.code, 2, 'a list that cannot fit is a usage error');
  t.match(refused.stderr, /error \[USAGE_TOO_MANY_IMAGES\]: the 4 images in the images param would take \d+ bytes in the verified-images result, and this Task's results budget allows 300/);
  t.match(refused.stderr, /verify at most 2 of these images per TaskRun/, 'and says how many fit');
  t.notMatch(refused.stderr, /REGISTRY_UNREACHABLE/, 'no registry was asked');
  const attested = await runStep(['--images', ...images.slice(0, 3)], { ...policy, ...limits, TEKTON_CATALOG_RESULT_LIMITS: limits.TEKTON_CATALOG_RESULT_LIMITS.replace('verified-images=300', 'verified-images=1000'), ATTESTATION_PREDICATE_TYPE: 'https://slsa.dev/provenance/v1' });
  t.equal(attested.code, 2);
  t.match(attested.stderr, /attestation-predicate-digests result holds the digests of at most 2 images/);

  const five = await runStep(['--images', ...Array.from({ length: 5 }, (_, i) => `r.invalid/a${i}`)], policy);
  t.equal(five.code, 2, 'more images than Chains input results is a usage error');
  t.match(five.stderr, /USAGE_TOO_MANY_IMAGES\]: the images param holds 5 images, and one verify-image TaskRun verifies at most 4/);
  // With the Task's shared pool, the list and the Chains inputs are counted together.
  const inputs = Array.from({ length: 4 }, (_, i) => `image${i + 1}_ARTIFACT_INPUTS=600`).join(',');
  const pooled = { TEKTON_CATALOG_RESULT_LIMITS: `verified-images=600,${inputs}`, TEKTON_CATALOG_RESULT_SHARED: '600:verified-images,image1_ARTIFACT_INPUTS,image2_ARTIFACT_INPUTS,image3_ARTIFACT_INPUTS,image4_ARTIFACT_INPUTS' };
  const shared = await runStep(['--images', ...images.slice(0, 3)], { ...policy, ...pooled });
  t.equal(shared.code, 2);
  t.match(shared.stderr, /in the verified-images result and the Chains input results, and this Task's results budget allows 600/);
  t.match(shared.stderr, /verify at most 2 of these images/, 'two images take 2 × (list entry + input object) bytes, three do not fit');
});

const missing = missingRegistryTools();
if (missing !== undefined) {
  t.skip(`needs ${missing}`, () => {});
} else {
  t.test('verifies against a real registry, writes results and counts, rejects per image', async (t) => {
    const registry = await startRegistry();
    const client = new RegistryClient(registry.host, { plainHttp: true });
    const work = mkdtempSync(join(tmpdir(), 'verify-image-step-'));
    t.teardown(async () => {
      await client.close();
      await registry.stop();
      rmSync(work, { recursive: true, force: true });
    });
    const sigstore = await MockSigstore.create();
    writeFileSync(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot()));
    const signed = await pushImage(client, 'step/app', 'v1', 'signed');
    await pushLegacySignatures(client, signed.repository, signed.digest, [await sigstore.legacyKeyless(simpleSigningPayload(signed.repository, signed.digest), WHO)]);
    const bundled = await pushImage(client, 'step/other', 'v2', 'bundled');
    await pushBundleReferrer(client, bundled, await sigstore.bundleKeyless(inTotoStatement(bundled.digest), WHO));
    const unsigned = await pushImage(client, 'step/unsigned', 'v1', 'unsigned');

    const env = {
      CERTIFICATE_IDENTITY: WHO.identity,
      CERTIFICATE_OIDC_ISSUER: WHO.issuer,
      TRUSTED_ROOT_DIR: work,
      PLAIN_HTTP_REGISTRIES: registry.host,
      TEKTON_RESULTS_DIR: join(work, 'results'),
      TEKTON_CATALOG_METRICS_FILE: join(work, 'metrics.prom'),
      REPORT_DIR: work,
      TASK_NAME: 'verify',
    };
    const ok = await runStep(['--images', `${registry.host}/step/app:v1`, `${registry.host}/step/other@${bundled.digest}`], env);
    t.equal(ok.code, 0, ok.stderr);
    const images = JSON.parse(readFileSync(join(work, 'results', 'verified-images'), 'utf8')) as string[];
    t.same(images, [`${registry.host}/step/app@${signed.digest}`, `${registry.host}/step/other@${bundled.digest}`], 'the tag became its digest');
    t.equal(readFileSync(join(work, 'results', 'verified-image'), 'utf8'), '', 'two images: no single-image result, so none can be taken for the other');
    t.same(JSON.parse(readFileSync(join(work, 'results', 'signer-identity'), 'utf8')), [WHO.identity]);
    t.same(JSON.parse(readFileSync(join(work, 'results', 'signer-issuer'), 'utf8')), [WHO.issuer]);
    t.same(
      [1, 2].map((n) => JSON.parse(readFileSync(join(work, 'results', `image${n}_ARTIFACT_INPUTS`), 'utf8'))),
      [
        { uri: `oci://${registry.host}/step/app`, digest: signed.digest },
        { uri: `oci://${registry.host}/step/other`, digest: bundled.digest },
      ],
      'each verified image is a Chains input, in input order',
    );
    t.notOk(existsSync(join(work, 'results', 'image3_ARTIFACT_INPUTS')), 'no input result for images not given');
    t.match(ok.stdout, /VERIFIED .*step\/app@sha256:[0-9a-f]{64}: tag sha256-[0-9a-f]{64}\.sig layer 0 signed by/, 'says which signature passed');
    t.match(readFileSync(join(work, 'metrics.prom'), 'utf8'), /tekton_image_verifications_total\{outcome="verified",reason="ok",task="verify"\} 2/);
    const report = JSON.parse(readFileSync(join(work, 'verify-image-report.json'), 'utf8')) as { verified: boolean }[];
    t.equal(report.length, 2, 'the report lists each image');

    const rejected = await runStep(['--images', `${registry.host}/step/app@${signed.digest}`, `${registry.host}/step/unsigned:v1`], env);
    t.equal(rejected.code, 1, 'one unsigned image rejects the run');
    t.match(rejected.stderr, /REJECTED ".*step\/unsigned:v1": \[NO_SIGNATURES\]/, 'names the image and the reason');
    t.match(rejected.stderr, /1 of 2 image\(s\) rejected/);
    t.match(readFileSync(join(work, 'metrics.prom'), 'utf8'), /tekton_image_verifications_total\{outcome="rejected",reason="NO_SIGNATURES",task="verify"\} 1/);

    const wrongSigner = await runStep(['--images', `${registry.host}/step/app:v1`], { ...env, CERTIFICATE_IDENTITY: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/mai' });
    t.equal(wrongSigner.code, 1);
    t.match(wrongSigner.stderr, /\[IDENTITY_MISMATCH\].*expected "https:\/\/github.com\/org\/repo\/.github\/workflows\/release.yml@refs\/heads\/mai", found "https:\/\/github.com\/org\/repo/, 'expected versus found');

    const keyed = await runStep(['--images', `${registry.host}/step/app:v1`], { ...env, CERTIFICATE_IDENTITY: '', CERTIFICATE_OIDC_ISSUER: '', PUBLIC_KEY_DIR: work, PUBLIC_KEY_FILE: 'cosign.pub' });
    t.equal(keyed.code, 2, 'a missing key file is a configuration error');
    writeFileSync(join(work, 'cosign.pub'), new KeySigner().publicKeyPem);
    const wrongKey = await runStep(['--images', `${registry.host}/step/app:v1`], { ...env, CERTIFICATE_IDENTITY: '', CERTIFICATE_OIDC_ISSUER: '', PUBLIC_KEY_DIR: work });
    t.equal(wrongKey.code, 1, 'a keyless-only image fails a key policy');

    const requireDigest = await runStep(['--images', `${registry.host}/step/app:v1`], { ...env, REQUIRE_DIGEST: 'true' });
    t.equal(requireDigest.code, 1);
    t.match(requireDigest.stderr, /\[DIGEST_REQUIRED\]/);
    t.equal(unsigned.tag, 'v1');
  });
}
