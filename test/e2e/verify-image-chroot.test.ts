// The real verify-image image, unpacked by umoci and run under chroot as uid
// 65532 with the args and env Tekton would give it from the catalog Task
// YAML, against a loopback registry: it verifies a signed image and rejects
// a tampered one.
import t from 'tap';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../../src/oci/digest.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { missingRegistryTools, startRegistry } from '../harness/registry.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';
import { pushBundleReferrer, pushImage, pushLegacySignatures } from '../sigstore/fixtures/registry-images.ts';
import { MockSigstore, inTotoStatement, simpleSigningPayload } from '../sigstore/fixtures/signing.ts';

const WHO = { identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

t.test('verify-image runs from its real image: verifies a signed image, rejects a tampered one', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const missing = missingRegistryTools();
  if (missing !== undefined) {
    if (process.env.CI === 'true') t.fail(`missing ${missing}; CI=true requires it`);
    else t.skip(`needs ${missing}`, () => {});
    return;
  }
  const built = await builtCatalog();
  const { record, spec, defaults } = await loadCatalogTask(built, 'verify-image');
  const step = spec.steps[0]!;
  t.equal(step.image, record.images['verify-image']!.reference, 'the Task runs the image the index records');
  const image = await unpackImage(built.layoutDir, 'step-verify-image', 'amd64');
  t.teardown(image.cleanup);

  const registry = await startRegistry();
  const client = new RegistryClient(registry.host, { plainHttp: true });
  t.teardown(async () => {
    await client.close();
    await registry.stop();
  });
  const sigstore = await MockSigstore.create();
  const signed = await pushImage(client, 'chroot/app', 'v1', 'signed app');
  await pushLegacySignatures(client, signed.repository, signed.digest, [await sigstore.legacyKeyless(simpleSigningPayload(signed.repository, signed.digest), WHO)]);
  await pushBundleReferrer(client, signed, await sigstore.bundleKeyless(inTotoStatement(signed.digest), WHO));
  const tampered = await pushImage(client, 'chroot/tampered', 'v1', 'backdoored app');
  // A valid signature, by the right signer, for another image's digest.
  await pushLegacySignatures(client, tampered.repository, tampered.digest, [await sigstore.legacyKeyless(simpleSigningPayload(tampered.repository, sha256Digest('the real app')), WHO)]);

  // Workspaces as Tekton mounts them: the trusted root read-only, results writable by the step user.
  const trustDir = join(image.rootfs, 'workspace', 'trusted-root');
  await mkdir(trustDir, { recursive: true });
  await writeFile(join(trustDir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot()), { mode: 0o444 });
  const resultsDir = join(image.rootfs, 'tmp', 'results');
  await mkdir(resultsDir, { recursive: true });
  await chmod(resultsDir, 0o1777);

  const run = async (images: string[]) => {
    const { args, env } = renderStep(step, {
      params: {
        ...defaults,
        images,
        'certificate-identity': WHO.identity,
        'certificate-oidc-issuer': WHO.issuer,
        'plain-http-registries': registry.host,
      },
      // Unbound optional workspaces substitute as empty paths.
      workspaces: { 'trusted-root': '/workspace/trusted-root', 'public-key': '', 'docker-config': '', report: '' },
      context: { 'task.name': 'verify' },
    });
    return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tmp/results' }, timeoutMs: 90_000 });
  };

  const ok = await run([`${registry.host}/${signed.repository}:v1`]);
  t.equal(ok.code, 0, `the signed image verifies: ${ok.stderr}`);
  t.same(JSON.parse(await readFile(join(resultsDir, 'verified-images'), 'utf8')), [`${registry.host}/${signed.repository}@${signed.digest}`], 'the tag became the verified digest');
  t.equal(await readFile(join(resultsDir, 'verified-image'), 'utf8'), `${registry.host}/${signed.repository}@${signed.digest}`, 'one image: its reference as plain text too');
  t.same(JSON.parse(await readFile(join(resultsDir, 'signer-identity'), 'utf8')), [WHO.identity]);
  t.match(ok.stderr, /metrics: tekton_image_verifications_total\{outcome="verified",reason="ok",task="verify"\} 1/);

  const bad = await run([`${registry.host}/${tampered.repository}@${tampered.digest}`]);
  t.equal(bad.code, 1, 'the tampered image is rejected with exit 1');
  t.match(bad.stderr, /REJECTED .*chroot\/tampered.*\[DIGEST_MISMATCH\]/, 'with the reason');
  t.notMatch(bad.stderr, /\n\s+at /, 'and no stack trace');
});
