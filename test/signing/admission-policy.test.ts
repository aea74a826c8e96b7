import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clusterImagePolicy, kyvernoClusterPolicy, publishedPolicySigner, POLICY_FILES, type AdmissionPolicyInput } from '../../src/signing/policy/admission-policies.ts';
import { publishedCatalogPolicies } from '../../src/signing/policy/catalog-policies.ts';
import { PUBLISHED_IDENTITY } from '../../src/signing/published-identity.ts';
import { CrdValidator } from '../../src/tekton/crd-schema.ts';
import { repoRoot, sharedPath } from '../harness/shared.ts';
import { KeySigner } from '../sigstore/fixtures/signing.ts';

const keyless: AdmissionPolicyInput = { registry: 'ghcr.io/hardened-tekton/catalog', signer: publishedPolicySigner(PUBLISHED_IDENTITY), sourceRepository: PUBLISHED_IDENTITY.sourceRepository };
const keyed: AdmissionPolicyInput = { registry: 'registry.example.com/tekton', signer: { kind: 'key', publicKeyPem: new KeySigner().publicKeyPem, rekorUrl: 'https://rekor.example.com' }, sourceRepository: 'https://git.example.com/platform/catalog', name: 'private-catalog' };

t.test('generated policies validate against their kinds\' CRD schemas (unknown fields rejected)', async (t) => {
  const dir = sharedPath(t, 'policy/crds');
  if (dir === undefined) return;
  const validator = CrdValidator.load(dir);
  t.same(validator.kinds.sort(), ['kyverno.io/ClusterPolicy', 'policy.sigstore.dev/ClusterImagePolicy'], 'both CRDs load');
  for (const [name, input] of [['keyless', keyless], ['keyed', keyed]] as const) {
    for (const doc of [clusterImagePolicy(input), kyvernoClusterPolicy(input)]) {
      t.same(validator.validate(doc), [], `${name} ${String(doc.kind)} validates`);
    }
  }
  // The validator is not a rubber stamp: a misspelt field and a wrong enum are caught.
  const broken = structuredClone(kyvernoClusterPolicy(keyless)) as { spec: { rules: { verifyImages?: Record<string, unknown>[] }[] } };
  broken.spec.rules[0]!.verifyImages![0]!.type = 'Sigstore';
  broken.spec.rules[0]!.verifyImages![0]!.imageReference = ['x'];
  const problems = validator.validate(broken).map((d) => d.path);
  t.ok(problems.some((path) => path.endsWith('type')), 'a wrong verifyImages type is rejected');
  t.ok(problems.some((path) => path.endsWith('imageReference')), 'an unknown field is rejected');
});

t.test('the Tekton VerificationPolicy CRD is the one Trusted Resources would need (and is not generated)', async (t) => {
  const dir = sharedPath(t, 'tekton/crds');
  if (dir === undefined) return;
  const validator = CrdValidator.load(dir);
  t.ok(validator.kinds.includes('tekton.dev/VerificationPolicy'), 'the CRD is available; the README says why the catalog does not sign in that form');
});

t.test('policies pin the identity, the prefix and the provenance source', async (t) => {
  const cip = clusterImagePolicy(keyless) as { spec: { images: { glob: string }[]; authorities: Record<string, unknown>[] } };
  t.same(cip.spec.images, [{ glob: 'ghcr.io/hardened-tekton/catalog/steps/**' }]);
  const authority = cip.spec.authorities[0]!;
  t.same(authority.keyless, { url: PUBLISHED_IDENTITY.fulcioUrl, identities: [{ issuer: PUBLISHED_IDENTITY.issuer, subject: PUBLISHED_IDENTITY.identity }] }, 'the exact identity, no regexp');
  t.equal(authority.signatureFormat, 'bundle', 'reads cosign v3 bundles');
  t.match(JSON.stringify(authority.attestations), PUBLISHED_IDENTITY.sourceRepository, 'the provenance policy names the repository');
  const kyverno = JSON.stringify(kyvernoClusterPolicy(keyed));
  t.match(kyverno, 'registry.example.com/tekton/steps/*');
  t.match(kyverno, 'BEGIN PUBLIC KEY', 'keyed setups pin the public key');
  t.notMatch(kyverno, 'fulcio', 'and no keyless authority');
});

t.test('catalog/policy/ holds exactly the policies generated for the committed index', async (t) => {
  const index = JSON.parse(await readFile(join(repoRoot, 'catalog', 'index.json'), 'utf8')) as { registry: string };
  const files = publishedCatalogPolicies(index.registry);
  t.same([...files.keys()].sort(), Object.values(POLICY_FILES).sort());
  for (const [path, content] of files) {
    t.equal(await readFile(join(repoRoot, 'catalog', path), 'utf8'), content, `${path} is up to date (npm run build)`);
    t.equal(parseAllDocuments(content).length, 1, `${path} is one YAML document`);
  }
});
