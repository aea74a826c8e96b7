import { defineTask } from '../../src/build/definition.ts';
import { CATALOG_BUNDLE_PLACEHOLDER, catalogTaskRef } from '../../src/build/sample-refs.ts';
import { PINNED_REFERENCE_MAX_BYTES } from '../../src/build/results-budget.ts';
import { PUBLISHED_IDENTITY } from '../../src/signing/published-identity.ts';

/** The build puts the published catalog bundle's pinned reference here. */
const CATALOG = CATALOG_BUNDLE_PLACEHOLDER;
const fileName = { type: 'regex', pattern: '[A-Za-z0-9_-][A-Za-z0-9._-]*', maxLength: 128 } as const;

export default defineTask({
  name: 'verify-catalog',
  version: '0.1.0',
  displayName: 'Verify the catalog',
  summary: 'Verify a catalog or Task bundle and every step image its Tasks run: signatures, provenance and source commit.',
  description: `Fails the TaskRun unless the bundle is signed by the catalog's identity and carries a SLSA provenance naming the catalog's source repository, and every image its Tasks run is pinned by digest, signed by the same identity, and carries a provenance naming the same source commit as the bundle.

Signatures are read in both cosign formats (Sigstore bundles attached as OCI 1.1 referrers, with the sha256-<hex> tag fallback, and legacy .sig tags) and verified with the same code as verify-image. A tag is resolved once to the digest fetched; everything after that, including the Tasks inside the bundle, is read through that digest. Defaults are the catalog's published release identity (${PUBLISHED_IDENTITY.identity}, issuer ${PUBLISHED_IDENTITY.issuer}) and repository, against the embedded public-good Sigstore root, so a Pipeline can gate on the catalog itself with one param.`,
  categories: ['Security'],
  tags: ['security', 'sigstore', 'supply-chain', 'slsa', 'tekton-bundle'],
  params: [
    {
      name: 'bundle',
      description: 'The catalog bundle or Task bundle to verify: registry/repository[:tag][@sha256:<hex>]. Pin it by digest.',
      rule: { type: 'image-reference' },
    },
    { name: 'certificate-identity', description: 'Keyless: the exact signer identity (certificate SAN) of the catalog release workflow.', default: PUBLISHED_IDENTITY.identity, rule: { type: 'text', maxLength: 1024, optional: true } },
    { name: 'certificate-oidc-issuer', description: 'Keyless: the exact OIDC issuer of that identity.', default: PUBLISHED_IDENTITY.issuer, rule: { type: 'https-url', optional: true } },
    { name: 'source-repository', description: 'The source repository every provenance must name.', default: PUBLISHED_IDENTITY.sourceRepository, rule: { type: 'https-url' } },
    { name: 'public-key-file', description: 'File name of the PEM public key in the public-key workspace (a privately signed catalog).', default: 'cosign.pub', rule: fileName },
    { name: 'trusted-root-file', description: 'File name of the Sigstore trusted root JSON in the trusted-root workspace.', default: 'trusted_root.json', rule: fileName },
    {
      name: 'plain-http-registries',
      description: 'Space-separated host:port list reached over plain HTTP. Loopback hosts only (127.0.0.1, [::1], localhost); anything else is refused.',
      default: '',
      rule: { type: 'text', maxLength: 512, optional: true },
    },
    { name: 'registry-timeout-seconds', description: 'Timeout per registry request.', default: '30', rule: { type: 'integer', min: 1, max: 600 } },
  ],
  workspaces: [
    { name: 'public-key', description: 'Optional: the catalog signer\'s PEM public key (ConfigMap or Secret), for a privately signed catalog; keyless verification is then off.', optional: true, readOnly: true },
    { name: 'trusted-root', description: "Optional: a private or air-gapped Sigstore instance's trusted_root.json. Unbound: the embedded public-good root.", optional: true, readOnly: true },
    { name: 'docker-config', description: 'Optional: registry credentials, a docker config.json (a kubernetes.io/dockerconfigjson Secret with key config.json).', optional: true, readOnly: true },
    { name: 'report', description: 'Optional: verify-catalog-report.json with every artefact checked, its signer and provenance, or its reason code.', optional: true },
  ],
  results: [
    {
      name: 'verified-bundle',
      description: 'The verified bundle as registry/repository@sha256:<digest>: resolve Tasks from this, never from the tag.',
      bound: { kind: 'text', maxBytes: PINNED_REFERENCE_MAX_BYTES, why: "one reference: a name of at most 255 characters (distribution's limit) and @sha256:…" },
    },
    {
      name: 'source-commit',
      description: 'The source commit the bundle\'s provenance names (several, comma-separated, when an unchanged bundle shipped in several releases).',
      bound: { kind: 'text', maxBytes: 'rest', why: '40-hex commits, comma-separated; more than fit fail the step rather than pass cut short' },
    },
    {
      name: 'step-images-verified',
      description: 'How many distinct step images the bundle\'s Tasks run, all verified.',
      bound: { kind: 'count', max: 100_000 },
    },
  ],
  steps: [
    {
      name: 'verify',
      program: 'verify-catalog',
      // The value after --bundle is always the reference: a param can never turn into a flag.
      args: ['--bundle', '$(params.bundle)'],
      env: [
        { name: 'CERTIFICATE_IDENTITY', value: '$(params.certificate-identity)' },
        { name: 'CERTIFICATE_OIDC_ISSUER', value: '$(params.certificate-oidc-issuer)' },
        { name: 'SOURCE_REPOSITORY', value: '$(params.source-repository)' },
        { name: 'PUBLIC_KEY_DIR', value: '$(workspaces.public-key.path)' },
        { name: 'PUBLIC_KEY_FILE', value: '$(params.public-key-file)' },
        { name: 'TRUSTED_ROOT_DIR', value: '$(workspaces.trusted-root.path)' },
        { name: 'TRUSTED_ROOT_FILE', value: '$(params.trusted-root-file)' },
        { name: 'DOCKER_CONFIG_DIR', value: '$(workspaces.docker-config.path)' },
        { name: 'REPORT_DIR', value: '$(workspaces.report.path)' },
        { name: 'PLAIN_HTTP_REGISTRIES', value: '$(params.plain-http-registries)' },
        { name: 'REGISTRY_TIMEOUT_SECONDS', value: '$(params.registry-timeout-seconds)' },
      ],
      computeResources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    },
  ],
  notes: `## What is checked
1. The bundle (a tag is resolved to its digest once) has a signature by the catalog's identity — keyless identity and issuer, or the key in \`public-key\` — in either cosign format.
2. It carries a SLSA provenance v1 signed by the same identity, naming \`source-repository\`. Its commit is the release's source commit.
3. Every image a Task in the bundle runs (steps, sidecars, stepTemplate) is pinned by digest, signed by the same identity, and has a provenance naming that same commit.

## Failure, exit codes
0 verified; 1 rejected, with one line per problem: \`FAIL <artefact>: [CODE] reason\`. Codes: those of verify-image for the bundle's own signature (NO_SIGNATURES, SIGNATURE_INVALID, IDENTITY_MISMATCH, DIGEST_MISMATCH, REGISTRY_UNREACHABLE, …), and PROVENANCE_MISSING, PROVENANCE_SUBJECT_MISMATCH (a provenance of another artefact), PROVENANCE_SOURCE_MISMATCH, PROVENANCE_COMMIT_MISMATCH (a step image built from another commit), BUNDLE_LAYER_DIGEST_MISMATCH (the registry serves other Task content than the signed manifest names), BUNDLE_CONTENT_INVALID, STEP_IMAGE_NOT_PINNED, STEP_IMAGE_REJECTED (with the step image's own verify-image code as cause); 2 bad params or configuration.

## Gate a Pipeline on the catalog
Run verify-catalog first and resolve the catalog's Tasks from \`$(tasks.verify-catalog.results.verified-bundle)\`, or pin the same digest you verified. The published identity and source repository are the defaults; a mirror keeps them (signatures travel with the digests), a privately built and signed catalog passes its own.`,
  samples: [
    {
      file: 'taskrun.yaml',
      description: 'Verify the published catalog bundle against the catalog\'s published identity and the public-good Sigstore.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'verify-catalog-' },
          spec: { taskRef: catalogTaskRef('verify-catalog'), params: [{ name: 'bundle', value: CATALOG }] },
        },
      ],
    },
    {
      file: 'pipeline.yaml',
      description: 'Gate a pipeline on the catalog: validate-params runs only from the bundle digest verify-catalog verified.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'verified-catalog-gate' },
          spec: {
            params: [{ name: 'git-revision', type: 'string', description: 'The commit to build.' }],
            tasks: [
              { name: 'verify-catalog', taskRef: catalogTaskRef('verify-catalog'), params: [{ name: 'bundle', value: CATALOG }] },
              {
                name: 'validate',
                runAfter: ['verify-catalog'],
                taskRef: {
                  resolver: 'bundles',
                  params: [
                    { name: 'bundle', value: '$(tasks.verify-catalog.results.verified-bundle)' },
                    { name: 'name', value: 'validate-params' },
                    { name: 'kind', value: 'task' },
                  ],
                },
                params: [
                  { name: 'rules', value: '{"git-revision": {"type": "git-sha"}}' },
                  { name: 'values', value: ['git-revision=$(params.git-revision)'] },
                ],
              },
            ],
          },
        },
      ],
    },
  ],
});
