import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planSigning } from '../../src/signing/plan.ts';
import { requireRegistryTools } from '../harness/registry.ts';
import { RELEASE_IDENTITY, SOURCE_COMMIT, signedCatalog } from '../signing/fixtures/signed-catalog.ts';

if (requireRegistryTools(t)) {
  const catalog = await signedCatalog({ legacySig: true });
  t.teardown(() => catalog.stop());
  const verifyArgs = (ref: string, ...extra: string[]) => [
    'verify-catalog', ref,
    '--certificate-identity', RELEASE_IDENTITY.identity,
    '--certificate-oidc-issuer', RELEASE_IDENTITY.issuer,
    '--source-repository', 'https://github.com/org/catalog',
    '--trusted-root', catalog.trustedRootPath,
    '--plain-http',
    ...extra,
  ];

  t.test('a freshly published and signed catalog passes verify-catalog end to end', async (t) => {
    const record = JSON.parse(await readFile(join(catalog.dir, 'sign-record.json'), 'utf8')) as { artefacts: { signature: string; provenance: string; sbom?: string }[] };
    t.equal(record.artefacts.length, planSigning(catalog.index).length, 'every artefact the index records was signed');
    t.ok(record.artefacts.every((a) => a.signature === 'added' && a.provenance === 'added'), 'each got a signature and a provenance');
    const bundle = catalog.index.catalogBundles[0]!.reference;
    const result = await catalog.cli(verifyArgs(bundle, '--json'));
    t.equal(result.code, 0, `verify-catalog exits 0: ${result.stdout.slice(0, 2000)}`);
    const report = JSON.parse(result.stdout) as { verified: boolean; commits: string[]; checks: { kind: string; ok: boolean }[] };
    t.ok(report.verified);
    t.same(report.commits, [SOURCE_COMMIT]);
    t.ok(report.checks.filter((c) => c.kind === 'step-image').length >= 4, 'every step image was checked');
  });
}
