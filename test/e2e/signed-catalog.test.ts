// The issue's loop: a catalog built for a loopback registry, published,
// signed keyless by `tekton-catalog sign` (mock Fulcio, Rekor and GitHub
// OIDC over HTTP), then verified with our own verify-image and
// verify-catalog code and cross-checked with openssl; every tampered
// variant fails with its own reason code.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { chmod } from 'node:fs/promises';
import { digestHex, sha256Digest, type Digest } from '../../src/oci/digest.ts';
import { jsonBytes } from '../../src/oci/layout.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../src/oci/media-types.ts';
import { RegistryClient, parseReference } from '../../src/oci/registry/index.ts';
import { attachBundleReferrer } from '../../src/signing/attachment/referrer.ts';
import { provenancePredicate } from '../../src/signing/attestations/provenance.ts';
import { PredicateType, inTotoStatement } from '../../src/signing/attestations/statement.ts';
import { planSigning, type SignTarget } from '../../src/signing/plan.ts';
import { SigstoreSigner } from '../../src/signing/signer/sigstore-signer.ts';
import { ImageVerifier } from '../../src/sigstore/image-verifier.ts';
import { LegacyAnnotation } from '../../src/sigstore/legacy/legacy-signature.ts';
import { KeylessPolicy } from '../../src/sigstore/policy/keyless-policy.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../../src/sigstore/verify/bundle-verifier.ts';
import type { BuiltCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep } from '../harness/catalog-task.ts';
import { requireRegistryTools } from '../harness/registry.ts';
import { repoRoot, requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage } from '../harness/step-image.ts';
import { pae } from '../sigstore/fixtures/signing.ts';
import { RELEASE_IDENTITY, SOURCE_COMMIT, SOURCE_REPOSITORY, signedCatalog } from '../signing/fixtures/signed-catalog.ts';

interface Report {
  verified: boolean;
  code?: string;
  commits: string[];
  checks: { kind: string; reference: string; ok: boolean; code?: string; cause?: string; message?: string }[];
}

if (requireRegistryTools(t)) {
  const catalog = await signedCatalog({ legacySig: true });
  t.teardown(() => catalog.stop());
  // Direct to the registry: the proxy is where tampering happens, the registry is where the truth is.
  const client = new RegistryClient(catalog.registry.host, { plainHttp: true });
  t.teardown(() => client.close());
  const targets = planSigning(catalog.index);
  const catalogBundle = catalog.index.catalogBundles[0]!.reference;
  const taskBundle = (name: string) => catalog.index.tasks[name]!.versions[catalog.index.tasks[name]!.latest]!.bundle.reference;
  const verifyArgs = (ref: string, ...extra: string[]) => [
    'verify-catalog', ref,
    '--certificate-identity', RELEASE_IDENTITY.identity,
    '--certificate-oidc-issuer', RELEASE_IDENTITY.issuer,
    '--source-repository', SOURCE_REPOSITORY,
    '--trusted-root', catalog.trustedRootPath,
    '--plain-http',
    ...extra,
  ];
  const verify = async (ref: string, ...extra: string[]) => {
    const result = await catalog.cli(verifyArgs(ref, '--json', ...extra));
    return { code: result.code, report: JSON.parse(result.stdout) as Report };
  };
  /** Every referrer descriptor of a digest, as the registry lists it. */
  const referrersOf = async (target: { repository: string; digest: Digest }) => (await client.referrers(target.repository, target.digest)).manifests;
  const repo = (target: SignTarget) => target.repository;

  t.test('a freshly published and signed catalog passes verify-catalog end to end', async (t) => {
    const record = JSON.parse(await readFile(join(catalog.dir, 'sign-record.json'), 'utf8')) as { artefacts: { kind: string; signature: string; provenance: string; sbom?: string; legacySignature?: string; referrers: string }[] };
    t.equal(record.artefacts.length, targets.length, `every artefact the index records was signed (${targets.length})`);
    t.ok(record.artefacts.every((a) => a.signature === 'added' && a.provenance === 'added' && a.legacySignature === 'added'), 'each got a signature, a provenance and a legacy .sig');
    t.ok(record.artefacts.filter((a) => a.kind.startsWith('step-image')).every((a) => a.sbom === 'added'), 'each step image index and platform manifest got an SBOM');
    t.ok(record.artefacts.every((a) => a.referrers === 'tag-schema'), 'stored through the tag-schema fallback (distribution 2.8 has no referrers API)');
    for (const secret of [catalog.services.idToken, catalog.services.requestToken]) t.notOk(catalog.signOutput.includes(secret), 'no token in the sign output');

    const { code, report } = await verify(catalogBundle);
    t.equal(code, 0, 'verify-catalog exits 0');
    t.ok(report.verified, 'verified');
    t.same(report.commits, [SOURCE_COMMIT], 'the provenance names the source commit');
    const images = report.checks.filter((c) => c.kind === 'step-image');
    t.equal(images.length, Object.keys(catalog.index.tasks).length, 'one step image per Task, each checked');
    t.ok(images.every((c) => c.ok), 'every step image is signed with a provenance naming the same commit');

    const task = await catalog.cli(verifyArgs(taskBundle('validate-params'), '--report', join(catalog.dir, 'report.json')));
    t.equal(task.code, 0, 'a Task bundle verifies too');
    t.match(task.stdout, /^VERIFIED .*\/tasks\/validate-params@sha256:[0-9a-f]{64} \(1 Task: validate-params\)\n/, 'the summary a person reads starts with the verdict');
    t.match(task.stdout, /ok   step image .*steps\/validate-params@sha256:.* signed by https:\/\/github\.com\/org\/catalog\/.*; provenance https:\/\/github\.com\/org\/catalog@0123456789abcdef/, 'and names signer and provenance per image');
    t.equal((JSON.parse(await readFile(join(catalog.dir, 'report.json'), 'utf8')) as Report).verified, true, '--report writes the JSON report');
  });

  t.test('signing is idempotent: a re-run adds nothing', async (t) => {
    const before = await Promise.all(targets.map(async (target) => (await referrersOf(target)).length));
    const legacyBefore = await Promise.all(targets.map(async (target) => (await client.manifestDescriptor(target.repository, `sha256-${digestHex(target.digest)}.sig`))?.digest));
    const again = await catalog.cli([
      'sign', '--index', join(catalog.catalogDir, 'index.json'), '--fulcio-url', catalog.services.fulcioUrl, '--rekor-url', catalog.services.rekorUrl,
      '--trusted-root', catalog.trustedRootPath, '--certificate-identity', RELEASE_IDENTITY.identity, '--certificate-oidc-issuer', RELEASE_IDENTITY.issuer,
      '--source-repository', SOURCE_REPOSITORY, '--source-commit', SOURCE_COMMIT, '--record', join(catalog.dir, 'again.json'), '--plain-http', '--legacy-sig',
    ]);
    t.equal(again.code, 0, `the second sign exits 0${again.code === 0 ? '' : `: ${again.stderr.slice(-500)}`}`);
    t.match(again.stdout, / 0 attachment\(s\) added, \d+ already present/, 'nothing added');
    t.same(await Promise.all(targets.map(async (target) => (await referrersOf(target)).length)), before, 'no referrer was added to any artefact');
    t.same(
      await Promise.all(targets.map(async (target) => (await client.manifestDescriptor(target.repository, `sha256-${digestHex(target.digest)}.sig`))?.digest)),
      legacyBefore,
      'no .sig manifest changed',
    );
    t.ok(before.every((count) => count === 2 || count === 3), 'each artefact has exactly its signature and provenance (and SBOM for images)');
  });

  t.test('our own verify-image verifies every signed digest, in both formats, with its provenance', async (t) => {
    const trustedRoot = SigstoreTrustedRoot.fromBytes(await readFile(catalog.trustedRootPath), 'mock root');
    const verifier = new ImageVerifier({
      verifier: new BundleVerifier({ trustedRoot, keyless: KeylessPolicy.create(RELEASE_IDENTITY) }),
      registry: { plainHttpRegistries: [catalog.proxy.host] },
      attestationPredicateType: PredicateType.slsaProvenance,
      requireDigest: true,
    });
    t.teardown(() => verifier.close());
    for (const target of targets) {
      const inspection = await verifier.inspect(target.reference);
      t.same(inspection.signatures.map((s) => s.format).sort(), ['bundle', 'legacy'], `${target.label}: a cosign v3 bundle and a legacy .sig verify`);
      const result = await verifier.verify(target.reference);
      t.equal(result.attestation?.predicateType, PredicateType.slsaProvenance, `${target.label}: verify-image finds the provenance`);
      if (target.kind.startsWith('step-image')) t.ok(inspection.attestations.some((a) => a.predicateType === PredicateType.cyclonedx), `${target.label}: and the SBOM`);
    }
  });

  t.test('the provenance records source, pinned inputs, builder and command; the SBOM is valid CycloneDX of what the image holds', async (t) => {
    const trustedRoot = SigstoreTrustedRoot.fromBytes(await readFile(catalog.trustedRootPath), 'mock root');
    const verifier = new ImageVerifier({ verifier: new BundleVerifier({ trustedRoot, keyless: KeylessPolicy.create(RELEASE_IDENTITY) }), registry: { plainHttpRegistries: [catalog.proxy.host] } });
    t.teardown(() => verifier.close());
    const image = targets.find((target) => target.kind === 'step-image' && target.program === 'verify-image')!;
    const inspection = await verifier.inspect(image.reference);
    const provenance = inspection.attestations.find((a) => a.predicateType === PredicateType.slsaProvenance)!.predicate as {
      buildDefinition: { buildType: string; externalParameters: { source: Record<string, string>; buildCommand: string; registry: string }; resolvedDependencies: { name?: string; uri: string; digest: Record<string, string> }[] };
      runDetails: { builder: { id: string; version: Record<string, string> } };
    };
    t.same(provenance.buildDefinition.externalParameters.source, { repository: SOURCE_REPOSITORY, commit: SOURCE_COMMIT, ref: 'refs/heads/main' }, 'source repository, commit and ref');
    t.equal(provenance.buildDefinition.externalParameters.buildCommand, `npm ci && npm run build -- --registry ${catalog.prefix}`, 'the build command');
    const digestOf = async (path: string) => sha256Digest(await readFile(join(repoRoot, path))).slice(7);
    t.same(
      provenance.buildDefinition.resolvedDependencies.map((d) => [d.name ?? d.uri, d.digest]),
      [
        ['git+https://github.com/org/catalog@refs/heads/main', { gitCommit: SOURCE_COMMIT }],
        ['src/build/runtime/runtime.lock.json', { sha256: await digestOf('src/build/runtime/runtime.lock.json') }],
        ['package-lock.json', { sha256: await digestOf('package-lock.json') }],
      ],
      'the commit and the sha256 of runtime.lock.json and package-lock.json',
    );
    t.equal(provenance.runDetails.builder.id, 'urn:hardened-tekton-catalog:builder:local', 'the builder');
    t.equal(provenance.runDetails.builder.version.node, process.versions.node, 'and its versions');
    t.ok(provenance.runDetails.builder.version['hardened-tekton-catalog'], 'including the catalog tooling');

    const sbom = inspection.attestations.find((a) => a.predicateType === PredicateType.cyclonedx)!.predicate as { components: { name: string; version?: string; purl?: string }[] };
    const CDX = await import('@cyclonedx/cyclonedx-library');
    t.equal(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(sbom)), null, "CycloneDX's own strict validator accepts it");
    const purls = sbom.components.map((c) => c.purl ?? `file:${c.name}`);
    const lock = JSON.parse(await readFile(join(repoRoot, 'src/build/runtime/runtime.lock.json'), 'utf8')) as { node: Record<string, { name: string; version: string }>; debs: Record<string, { package: string }[]> };
    t.ok(purls.includes(`pkg:npm/${lock.node.amd64!.name}@${lock.node.amd64!.version}`) && purls.includes(`pkg:npm/${lock.node.arm64!.name}@${lock.node.arm64!.version}`), 'the Node binary of both platforms');
    for (const arch of ['amd64', 'arm64']) {
      for (const deb of lock.debs[arch]!) t.ok(purls.some((purl) => purl.startsWith(`pkg:deb/debian/${deb.package.replaceAll('+', '%2B')}@`)), `Debian ${deb.package} (${arch})`);
    }
    for (const npm of ['zod', '@sigstore/verify', '@sigstore/core']) t.ok(purls.some((purl) => purl.startsWith(`pkg:npm/${npm.replace('@', '%40')}@`)), `the bundled npm package ${npm}`);
    t.ok(sbom.components.some((c) => c.name === 'steps/verify-image'), 'and the program itself');
  });

  t.test('openssl accepts every signature over its payload, and every certificate chains to the test CA', async (t) => {
    const dir = join(catalog.dir, 'openssl');
    await mkdir(dir, { recursive: true });
    const root = new X509Certificate(Buffer.from(catalog.sigstore.ca.rootCertificate.buffer, catalog.sigstore.ca.rootCertificate.byteOffset, catalog.sigstore.ca.rootCertificate.byteLength));
    await writeFile(join(dir, 'root.pem'), root.toString());
    let n = 0;
    const check = async (label: string, certificate: X509Certificate, payload: Buffer, signature: Buffer) => {
      const i = n++;
      await writeFile(join(dir, `${i}.pem`), certificate.toString());
      await writeFile(join(dir, `${i}.pub`), certificate.publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(dir, `${i}.payload`), payload);
      await writeFile(join(dir, `${i}.sig`), signature);
      const dgst = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, `${i}.pub`), '-signature', join(dir, `${i}.sig`), join(dir, `${i}.payload`)], { encoding: 'utf8' });
      const chain = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), join(dir, `${i}.pem`)], { encoding: 'utf8' });
      return /Verified OK/.test(dgst) && chain.trim() === `${join(dir, `${i}.pem`)}: OK` && certificate.subjectAltName === `URI:${RELEASE_IDENTITY.identity}` ? undefined : label;
    };
    const failures: (string | undefined)[] = [];
    for (const target of targets) {
      for (const descriptor of await referrersOf(target)) {
        const manifest = (await client.getManifest(repo(target), descriptor.digest)).manifest as ImageManifest;
        const bundle = JSON.parse((await client.getBlob(repo(target), manifest.layers[0]!.digest)).toString('utf8')) as {
          dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
          verificationMaterial: { certificate: { rawBytes: string } };
        };
        const certificate = new X509Certificate(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
        failures.push(await check(`${target.label} referrer ${descriptor.digest}`, certificate, pae(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64')), Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64')));
      }
      const sig = (await client.getManifest(repo(target), `sha256-${digestHex(target.digest)}.sig`)).manifest as ImageManifest;
      for (const layer of sig.layers) {
        const certificate = new X509Certificate(layer.annotations![LegacyAnnotation.certificate]!);
        failures.push(await check(`${target.label} .sig`, certificate, await client.getBlob(repo(target), layer.digest), Buffer.from(layer.annotations![LegacyAnnotation.signature]!, 'base64')));
      }
    }
    t.ok(n >= targets.length * 3, `${n} signatures checked`);
    t.same(failures.filter(Boolean), [], 'openssl dgst verifies each, openssl verify chains each certificate to the test CA, each names the release identity');
  });

  // ---- the tamper matrix ----

  /** Serves `manifests` as the referrers fallback index of `target`, and no legacy .sig (what a registry attacker can do), for one check. */
  const withReferrers = async <T>(target: { repository: string; digest: Digest }, manifests: Descriptor[], run: () => Promise<T>): Promise<T> => {
    const body = jsonBytes({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests } satisfies ImageIndex);
    const path = `/v2/${target.repository}/manifests/sha256-${digestHex(target.digest)}`;
    // The legacy .sig is hidden too: only what `manifests` lists may vouch for the artefact.
    catalog.proxy.setRule(({ path: p }) =>
      p === path ? { kind: 'respond', body, headers: { 'content-type': MediaType.imageIndex } } : p === `${path}.sig` ? { kind: 'status', status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' } : undefined,
    );
    try {
      return await run();
    } finally {
      catalog.proxy.setRule(undefined);
    }
  };
  const predicateOf = async (target: { repository: string }, descriptor: Descriptor) =>
    ((await client.getManifest(target.repository, descriptor.digest)).manifest as ImageManifest).annotations?.['dev.sigstore.bundle.predicateType'];
  const bundleTarget = (ref: string) => {
    const parsed = parseReference(ref);
    return { repository: parsed.repository, digest: parsed.digest!, registry: parsed.registry };
  };
  const stepTarget = (program: string) => {
    const record = Object.values(catalog.index.tasks).flatMap((entry) => Object.values(entry.versions)).find((version) => version.images[program])!;
    return bundleTarget(record.images[program]!.reference);
  };
  const signer = () =>
    new SigstoreSigner({ mode: 'keyless', fulcioUrl: catalog.services.fulcioUrl, rekorUrl: catalog.services.rekorUrl, tlog: true, identityProvider: { getToken: async () => catalog.services.idToken } });

  interface Variant {
    name: string;
    ref: string;
    code: string;
    cause?: string;
    run: (check: () => Promise<{ code: number; report: Report }>) => Promise<{ code: number; report: Report }>;
    extra?: string[];
  }
  const variants: Variant[] = [
    {
      name: 'a bundle layer served with other content',
      ref: taskBundle('validate-params'),
      code: 'BUNDLE_LAYER_DIGEST_MISMATCH',
      run: async (check) => {
        const target = bundleTarget(taskBundle('validate-params'));
        const manifest = (await client.getManifest(target.repository, target.digest)).manifest as ImageManifest;
        const layer = `/v2/${target.repository}/blobs/${manifest.layers[0]!.digest}`;
        catalog.proxy.setRule(({ path }) => (path === layer ? { kind: 'rewrite', rewrite: (body, headers) => ({ body: Buffer.concat([body, Buffer.from('\n# backdoor')]), headers }) } : undefined));
        try {
          return await check();
        } finally {
          catalog.proxy.setRule(undefined);
        }
      },
    },
    {
      name: 'a changed bundle manifest pushed under the tag, with the original signature replayed onto it',
      ref: `${catalog.prefix}/tasks/workspace-guard:${catalog.index.tasks['workspace-guard']!.latest}`,
      code: 'DIGEST_MISMATCH',
      run: async (check) => {
        const target = bundleTarget(taskBundle('workspace-guard'));
        const tag = catalog.index.tasks['workspace-guard']!.latest;
        const original = await client.getManifest(target.repository, target.digest);
        const changed = jsonBytes({ ...(original.manifest as ImageManifest), annotations: { 'org.example/backdoor': 'true' } });
        const changedDigest = await client.putManifest(target.repository, tag, changed, MediaType.imageManifest);
        const signature = [];
        for (const descriptor of await referrersOf(target)) if ((await predicateOf(target, descriptor)) === PredicateType.signature) signature.push(descriptor);
        const bundle = await client.getBlob(target.repository, ((await client.getManifest(target.repository, signature[0]!.digest)).manifest as ImageManifest).layers[0]!.digest);
        await attachBundleReferrer(client, target.repository, { mediaType: MediaType.imageManifest, digest: changedDigest, size: changed.byteLength }, bundle, PredicateType.signature);
        try {
          return await check();
        } finally {
          await client.putManifest(target.repository, tag, original.bytes, MediaType.imageManifest);
        }
      },
    },
    {
      name: 'the signature bytes altered',
      ref: taskBundle('inject-credentials'),
      code: 'SIGNATURE_INVALID',
      run: async (check) => {
        const target = bundleTarget(taskBundle('inject-credentials'));
        const kept: Descriptor[] = [];
        let forged: Descriptor | undefined;
        for (const descriptor of await referrersOf(target)) {
          if ((await predicateOf(target, descriptor)) !== PredicateType.signature) {
            kept.push(descriptor);
            continue;
          }
          const layer = ((await client.getManifest(target.repository, descriptor.digest)).manifest as ImageManifest).layers[0]!;
          const json = JSON.parse((await client.getBlob(target.repository, layer.digest)).toString('utf8')) as { dsseEnvelope: { signatures: { sig: string }[] } };
          const sig = Buffer.from(json.dsseEnvelope.signatures[0]!.sig, 'base64');
          sig.writeUInt8(sig.readUInt8(sig.length - 5) ^ 0x01, sig.length - 5);
          json.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
          forged = (await attachBundleReferrer(client, target.repository, { mediaType: MediaType.imageManifest, digest: target.digest, size: 1 }, jsonBytes(json), PredicateType.signature)).descriptor;
        }
        return withReferrers(target, [...kept, forged!], check);
      },
    },
    {
      name: 'another artefact\'s provenance attached in place of the bundle\'s own (attestation subject)',
      ref: taskBundle('verify-image'),
      code: 'PROVENANCE_SUBJECT_MISMATCH',
      run: async (check) => {
        const target = bundleTarget(taskBundle('verify-image'));
        const other = bundleTarget(taskBundle('validate-params'));
        const kept: Descriptor[] = [];
        for (const descriptor of await referrersOf(target)) if ((await predicateOf(target, descriptor)) === PredicateType.signature) kept.push(descriptor);
        let replayed: Descriptor | undefined;
        for (const descriptor of await referrersOf(other)) {
          if ((await predicateOf(other, descriptor)) !== PredicateType.slsaProvenance) continue;
          const layer = ((await client.getManifest(other.repository, descriptor.digest)).manifest as ImageManifest).layers[0]!;
          const bundle = await client.getBlob(other.repository, layer.digest);
          await client.pushBlob(target.repository, layer.digest, async () => bundle);
          replayed = (await attachBundleReferrer(client, target.repository, { mediaType: MediaType.imageManifest, digest: target.digest, size: 1 }, bundle, PredicateType.slsaProvenance)).descriptor;
        }
        return withReferrers(target, [...kept, replayed!], check);
      },
    },
    {
      name: 'a step image the bundle references, served with other content',
      ref: taskBundle('validate-params'),
      code: 'STEP_IMAGE_REJECTED',
      cause: 'DIGEST_MISMATCH',
      run: async (check) => {
        const image = stepTarget('validate-params');
        const path = `/v2/${image.repository}/manifests/${image.digest}`;
        catalog.proxy.setRule(({ path: p }) =>
          p === path ? { kind: 'rewrite', rewrite: (body, headers) => ({ body: Buffer.from(body.toString('utf8').replace('"schemaVersion":2', '"schemaVersion":2 ')), headers: { ...headers, 'docker-content-digest': '' } }) } : undefined,
        );
        try {
          return await check();
        } finally {
          catalog.proxy.setRule(undefined);
        }
      },
    },
    {
      name: 'a step image whose provenance names another commit',
      ref: taskBundle('verify-image'),
      code: 'PROVENANCE_COMMIT_MISMATCH',
      run: async (check) => {
        const image = stepTarget('verify-image');
        const kept: Descriptor[] = [];
        for (const descriptor of await referrersOf(image)) if ((await predicateOf(image, descriptor)) !== PredicateType.slsaProvenance) kept.push(descriptor);
        const context = { sourceRepository: SOURCE_REPOSITORY, sourceCommit: 'f'.repeat(40), builderId: 'x', builderVersion: {}, buildCommand: 'npm run build', registry: catalog.prefix, sourceDateEpoch: 0, lockFiles: [] };
        const statement = inTotoStatement({ name: `${image.registry}/${image.repository}`, digest: image.digest }, PredicateType.slsaProvenance, provenancePredicate(context, { label: 'other build' }));
        const bundle = jsonBytes(bundleToJSON(await signer().signStatement(statement)));
        const manifest = await client.getManifest(image.repository, image.digest);
        const other = (await attachBundleReferrer(client, image.repository, { mediaType: manifest.mediaType, digest: image.digest, size: manifest.bytes.byteLength }, bundle, PredicateType.slsaProvenance)).descriptor;
        return withReferrers(image, [...kept, other], check);
      },
    },
    { name: 'a verifier pinning another identity', ref: catalogBundle, code: 'IDENTITY_MISMATCH', extra: ['--certificate-identity', `${RELEASE_IDENTITY.identity}-other`], run: (check) => check() },
    { name: 'a verifier expecting another source repository', ref: catalogBundle, code: 'PROVENANCE_SOURCE_MISMATCH', extra: ['--source-repository', 'https://github.com/evil/catalog'], run: (check) => check() },
  ];

  t.test('every tampered variant fails with its own reason code, exit 1', async (t) => {
    const codes = new Set<string>();
    for (const variant of variants) {
      const { code, report } = await variant.run(() => verify(variant.ref, ...(variant.extra ?? [])));
      const failed = report.checks.find((check) => !check.ok);
      t.equal(code, 1, `${variant.name}: exit 1`);
      t.notOk(report.verified, `${variant.name}: not verified`);
      t.equal(report.code, variant.code, `${variant.name}: ${variant.code}${failed?.message ? ` (${failed.message.slice(0, 160)})` : ''}`);
      if (variant.cause !== undefined) t.equal(failed?.cause, variant.cause, `${variant.name}: cause ${variant.cause}`);
      codes.add(`${variant.code}/${variant.cause ?? ''}`);
      // Each variant is undone: the untouched catalog verifies again.
      t.equal((await verify(variant.ref.includes('@') ? variant.ref : catalogBundle)).code, 0, `${variant.name}: undone, the catalog verifies again`);
    }
    t.equal(codes.size, variants.length, 'no two variants share a reason');
  });

  t.test('usage mistakes exit 2, an unreachable registry is a rejection', async (t) => {
    await t.rejects(catalog.cli(['verify-catalog']), { code: 'USAGE_VERIFY_CATALOG' }, 'no reference');
    await t.rejects(catalog.cli(['verify-catalog', 'registry.example.com/x:1', '--plain-http']), { code: 'USAGE_VERIFY_CATALOG' }, 'plain HTTP to a remote registry');
    const { code, report } = await verify(`127.0.0.1:9/signed/catalog@${sha256Digest('x')}`);
    t.equal(code, 1);
    t.equal(report.code, 'REGISTRY_UNREACHABLE');
  });

  t.test('the verify-catalog Task runs from its real image under chroot: verifies the signed catalog, rejects a tampered one', async (t) => {
    if (!requireRoot(t, 'chroot into the unpacked image')) return;
    const built = { catalogDir: catalog.catalogDir, index: catalog.index } as BuiltCatalog;
    const { record, spec, defaults } = await loadCatalogTask(built, 'verify-catalog');
    const step = spec.steps[0]!;
    t.equal(step.image, record.images['verify-catalog']!.reference, 'the Task runs the image the index records');
    const image = await unpackImage(join(catalog.dir, 'dist', 'oci'), 'step-verify-catalog', 'amd64');
    t.teardown(image.cleanup);
    const trustDir = join(image.rootfs, 'workspace', 'trusted-root');
    await mkdir(trustDir, { recursive: true });
    await writeFile(join(trustDir, 'trusted_root.json'), await readFile(catalog.trustedRootPath), { mode: 0o444 });
    for (const dir of ['results', 'report']) {
      await mkdir(join(image.rootfs, 'tmp', dir), { recursive: true });
      await chmod(join(image.rootfs, 'tmp', dir), 0o1777);
    }
    const run = async (bundle: string) => {
      const { args, env } = renderStep(step, {
        params: {
          ...defaults,
          bundle,
          'certificate-identity': RELEASE_IDENTITY.identity,
          'certificate-oidc-issuer': RELEASE_IDENTITY.issuer,
          'source-repository': SOURCE_REPOSITORY,
          'plain-http-registries': catalog.proxy.host,
        },
        workspaces: { 'trusted-root': '/workspace/trusted-root', 'public-key': '', 'docker-config': '', report: '/tmp/report' },
      });
      return runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: '/tmp/results' }, timeoutMs: 120_000 });
    };
    const ok = await run(catalog.index.catalogBundles[0]!.reference);
    t.equal(ok.code, 0, `the signed catalog verifies: ${ok.stderr.slice(0, 1000)}`);
    t.match(ok.stdout, /^verify-catalog: VERIFIED /, 'the log says VERIFIED');
    t.equal(await readFile(join(image.rootfs, 'tmp', 'results', 'source-commit'), 'utf8'), SOURCE_COMMIT, 'source-commit result');
    t.equal(await readFile(join(image.rootfs, 'tmp', 'results', 'verified-bundle'), 'utf8'), `${catalog.prefix}/catalog@${catalog.index.catalogBundles[0]!.digest}`, 'verified-bundle result is the digest reference');
    t.equal((JSON.parse(await readFile(join(image.rootfs, 'tmp', 'report', 'verify-catalog-report.json'), 'utf8')) as Report).verified, true, 'the report workspace holds the JSON report');

    const target = bundleTarget(taskBundle('validate-params'));
    const manifest = (await client.getManifest(target.repository, target.digest)).manifest as ImageManifest;
    const layer = `/v2/${target.repository}/blobs/${manifest.layers[0]!.digest}`;
    catalog.proxy.setRule(({ path }) => (path === layer ? { kind: 'rewrite', rewrite: (body, headers) => ({ body: Buffer.concat([body, Buffer.from('x')]), headers }) } : undefined));
    try {
      const bad = await run(taskBundle('validate-params'));
      t.equal(bad.code, 1, 'a tampered bundle is rejected with exit 1');
      t.match(bad.stderr, /verify-catalog: REJECTED .*\[BUNDLE_LAYER_DIGEST_MISMATCH\]/, 'naming the reason');
    } finally {
      catalog.proxy.setRule(undefined);
    }
  });
}
