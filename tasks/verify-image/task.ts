import { artifactInputResultName, MAX_ARTIFACT_INPUTS } from '../../src/chains/type-hints.ts';
import { defineTask } from '../../src/build/definition.ts';
import { catalogTaskRef } from '../../src/build/sample-refs.ts';
import { PINNED_REFERENCE_MAX_BYTES } from '../../src/build/results-budget.ts';
import { MANIFEST_JSON_LIMITS } from '../../src/oci/registry/bounded-json.ts';
import { MAX_LEGACY_LAYERS, MAX_REFERRERS, MAX_REFERRER_LIST_BYTES, MAX_REFERRER_PAGES } from '../../src/sigstore/discovery/limits.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS, telemetryNotes } from '../../src/telemetry/task-params.ts';

const IDENTITY = 'https://github.com/my-org/app/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const SAMPLE_IMAGE = 'ghcr.io/my-org/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae';
const optionalText = (maxLength: number) => ({ type: 'text', maxLength, optional: true }) as const;

/** A JSON list of N digests, as escaped in the termination message: [ + N × \"sha256:…\" + N-1 commas + ]. */
// As many as the Chains input results: a run verifies at most that many images.
const MAX_ATTESTED_IMAGES = MAX_ARTIFACT_INPUTS;
const ATTESTATION_DIGESTS_MAX_BYTES = 2 + MAX_ATTESTED_IMAGES * (2 + 71 + 2) + (MAX_ATTESTED_IMAGES - 1);

export default defineTask({
  name: 'verify-image',
  version: '0.1.0',
  displayName: 'Verify image signatures',
  summary: 'Verify cosign / Sigstore signatures of container images before a pipeline uses them.',
  description: `Fails the TaskRun unless every image has at least one signature that satisfies the policy: a keyless identity and OIDC issuer (exact, or regexps anchored at both ends; optional GitHub workflow claims checked as Fulcio certificate extensions) or a PEM public key.

Signatures are found in both of cosign's storage formats: the legacy sha256-<hex>.sig tag (simple signing, with the Rekor SET, certificate and RFC 3161 annotations) and Sigstore bundles attached as OCI 1.1 referrers (cosign v3), listed by the referrers API or, where a registry lacks it, by the sha256-<hex> tag-schema index. Verification is @sigstore/verify with the gaps closed: the signed payload must name the digest computed from the manifest bytes, in-toto subjects must include it, trusted roots without validity starts are refused. It works offline: Sigstore's public-good trusted root is embedded, and a private or air-gapped instance's trusted_root.json can be bound instead. Nothing is fetched but the images' manifests and signatures.`,
  categories: ['Security'],
  tags: ['security', 'sigstore', 'cosign', 'supply-chain', 'image'],
  params: [
    {
      name: 'images',
      type: 'array',
      description: 'The images to verify: registry/repository[:tag][@sha256:<hex>]. A tag is resolved to its digest, which becomes the output.',
      rule: { type: 'image-reference' },
    },
    { name: 'certificate-identity', description: 'Keyless: the exact signer identity (certificate SAN), e.g. a workflow URI or an email.', default: '', rule: optionalText(1024) },
    { name: 'certificate-identity-regexp', description: 'Keyless: an RE2 regular expression (cosign\'s syntax) the whole identity must match (anchored for you).', default: '', rule: optionalText(1024) },
    { name: 'certificate-oidc-issuer', description: 'Keyless: the exact OIDC issuer, e.g. https://token.actions.githubusercontent.com.', default: '', rule: { type: 'https-url', optional: true } },
    { name: 'certificate-oidc-issuer-regexp', description: 'Keyless: an RE2 regular expression (cosign\'s syntax) the whole issuer must match (anchored for you).', default: '', rule: optionalText(1024) },
    {
      name: 'certificate-github-workflow-repository',
      description: 'Keyless, optional: the GitHub repository (owner/name) the signing workflow ran in.',
      default: '',
      rule: { type: 'regex', pattern: '[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+', maxLength: 256, optional: true },
    },
    { name: 'certificate-github-workflow-ref', description: 'Keyless, optional: the git ref the workflow ran on, e.g. refs/heads/main or refs/tags/v1.2.0.', default: '', rule: optionalText(256) },
    { name: 'certificate-github-workflow-sha', description: 'Keyless, optional: the commit the workflow ran on.', default: '', rule: { type: 'git-sha', optional: true } },
    {
      name: 'certificate-github-workflow-trigger',
      description: 'Keyless, optional: the event that triggered the workflow, e.g. push or release.',
      default: '',
      rule: { type: 'regex', pattern: '[a-z_]+', maxLength: 64, optional: true },
    },
    { name: 'certificate-github-workflow-name', description: 'Keyless, optional: the workflow name.', default: '', rule: optionalText(256) },
    {
      name: 'public-key-file',
      description: 'File name of the PEM public key in the public-key workspace (keyed verification).',
      default: 'cosign.pub',
      rule: { type: 'regex', pattern: '[A-Za-z0-9_-][A-Za-z0-9._-]*', maxLength: 128 },
    },
    {
      name: 'trusted-root-file',
      description: 'File name of the Sigstore trusted root JSON in the trusted-root workspace.',
      default: 'trusted_root.json',
      rule: { type: 'regex', pattern: '[A-Za-z0-9_-][A-Za-z0-9._-]*', maxLength: 128 },
    },
    {
      name: 'require-tlog',
      description: '"true" (default): every signature needs a verified transparency-log entry. "false" accepts keyed signatures made without a log; it is refused for keyless policies.',
      default: 'true',
      rule: { type: 'bool' },
    },
    { name: 'require-digest', description: '"true": refuse tag-only references instead of resolving them.', default: 'false', rule: { type: 'bool' } },
    {
      name: 'attestation-predicate-type',
      description: 'Optional: also require an attestation of this predicate type (e.g. https://slsa.dev/provenance/v1) signed under the same policy.',
      default: '',
      rule: { type: 'https-url', optional: true },
    },
    {
      name: 'plain-http-registries',
      description: 'Space-separated host:port list reached over plain HTTP. Loopback hosts only (127.0.0.1, [::1], localhost); anything else is refused.',
      default: '',
      rule: optionalText(512),
    },
    {
      name: 'trusted-token-realms',
      description:
        'Space-separated token servers (https://host[:port]) that may receive the docker-config credentials although they are neither on the registry\'s host nor under its registrable domain. Empty: only those are trusted.',
      default: '',
      rule: { type: 'regex', pattern: '[A-Za-z0-9.:/\\[\\] -]*', maxLength: 1024, optional: true },
    },
    { name: 'registry-timeout-seconds', description: 'Timeout per registry request.', default: '30', rule: { type: 'integer', min: 1, max: 600 } },
    ...TELEMETRY_PARAMS,
  ],
  workspaces: [
    { name: 'public-key', description: 'Keyed verification: holds the PEM public key (bind a ConfigMap or Secret).', optional: true, readOnly: true },
    { name: 'trusted-root', description: "A private or air-gapped Sigstore instance's trusted_root.json. Unbound: the embedded public-good root.", optional: true, readOnly: true },
    { name: 'docker-config', description: 'Registry credentials: a docker config.json (bind a kubernetes.io/dockerconfigjson Secret with key config.json).', optional: true, readOnly: true },
    { name: 'report', description: 'Optional: verify-image-report.json with every image, the signature that passed or each reason for rejection.', optional: true },
  ],
  results: [
    {
      name: 'verified-images',
      description: 'JSON list of the verified images as registry/repository@sha256:<digest>, in input order. Use these, not the tags.',
      // The list is what limits how many images one TaskRun verifies: the step refuses, before contacting any registry, a list that would not fit.
      bound: { kind: 'json', maxBytes: 'rest', why: 'one registry/repository@sha256:… entry per image' },
    },
    {
      name: 'verified-image',
      description:
        'The one verified image as registry/repository@sha256:<digest> when the run verified a single image, so a Pipeline can pass it on without parsing JSON; empty when it verified several.',
      // Not *IMAGE_URL / *IMAGE_DIGEST / IMAGES: Tekton Chains would read those as images this TaskRun built.
      bound: { kind: 'text', maxBytes: PINNED_REFERENCE_MAX_BYTES, why: 'one reference: a name of at most 255 characters (distribution\'s limit) with docker.io/library/, and @sha256:…' },
    },
    {
      name: 'signer-identity',
      description: 'JSON list of the distinct signer identities that satisfied the policy (for keys: sha256:<key fingerprint>).',
      bound: { kind: 'json', maxBytes: 384, why: 'the distinct identities; a policy names one, a regexp a few' },
    },
    {
      name: 'signer-issuer',
      description: 'JSON list of the distinct OIDC issuers of those signers ("public-key" for keyed signatures).',
      bound: { kind: 'json', maxBytes: 192, why: 'the distinct issuers; a policy names one, a regexp a few' },
    },
    {
      name: 'attestation-predicate-digests',
      description: 'JSON list, per image, of sha256 over the RFC 8785 canonical JSON of the required attestation predicate (empty when none is required).',
      bound: { kind: 'json', maxBytes: ATTESTATION_DIGESTS_MAX_BYTES, why: `one sha256 per image, for up to ${MAX_ATTESTED_IMAGES} images` },
    },
    // Tekton Chains type hints (src/chains/type-hints.ts): one object per verified image, recorded as an input of the build.
    ...Array.from({ length: MAX_ARTIFACT_INPUTS }, (_, i) => ({
      name: artifactInputResultName(i + 1),
      type: 'object' as const,
      properties: ['uri', 'digest'],
      description: `Tekton Chains input: verified image ${i + 1} (in the order of the images param) as {"uri": "oci://registry/repository", "digest": "sha256:<hex>"}; not written when fewer images were given.`,
      bound: { kind: 'json' as const, maxBytes: 'rest' as const, why: 'one image as uri and digest; shares what the other results leave with verified-images' },
    })),
  ],
  steps: [
    {
      name: 'verify',
      program: 'verify-image',
      // Everything after --images is an image: a param can never turn into a flag.
      args: ['--images', '$(params.images[*])'],
      env: [
        { name: 'CERTIFICATE_IDENTITY', value: '$(params.certificate-identity)' },
        { name: 'CERTIFICATE_IDENTITY_REGEXP', value: '$(params.certificate-identity-regexp)' },
        { name: 'CERTIFICATE_OIDC_ISSUER', value: '$(params.certificate-oidc-issuer)' },
        { name: 'CERTIFICATE_OIDC_ISSUER_REGEXP', value: '$(params.certificate-oidc-issuer-regexp)' },
        { name: 'CERTIFICATE_GITHUB_WORKFLOW_REPOSITORY', value: '$(params.certificate-github-workflow-repository)' },
        { name: 'CERTIFICATE_GITHUB_WORKFLOW_REF', value: '$(params.certificate-github-workflow-ref)' },
        { name: 'CERTIFICATE_GITHUB_WORKFLOW_SHA', value: '$(params.certificate-github-workflow-sha)' },
        { name: 'CERTIFICATE_GITHUB_WORKFLOW_TRIGGER', value: '$(params.certificate-github-workflow-trigger)' },
        { name: 'CERTIFICATE_GITHUB_WORKFLOW_NAME', value: '$(params.certificate-github-workflow-name)' },
        { name: 'PUBLIC_KEY_DIR', value: '$(workspaces.public-key.path)' },
        { name: 'PUBLIC_KEY_FILE', value: '$(params.public-key-file)' },
        { name: 'TRUSTED_ROOT_DIR', value: '$(workspaces.trusted-root.path)' },
        { name: 'TRUSTED_ROOT_FILE', value: '$(params.trusted-root-file)' },
        { name: 'DOCKER_CONFIG_DIR', value: '$(workspaces.docker-config.path)' },
        { name: 'REPORT_DIR', value: '$(workspaces.report.path)' },
        { name: 'REQUIRE_TLOG', value: '$(params.require-tlog)' },
        { name: 'REQUIRE_DIGEST', value: '$(params.require-digest)' },
        { name: 'ATTESTATION_PREDICATE_TYPE', value: '$(params.attestation-predicate-type)' },
        { name: 'PLAIN_HTTP_REGISTRIES', value: '$(params.plain-http-registries)' },
        { name: 'TRUSTED_TOKEN_REALMS', value: '$(params.trusted-token-realms)' },
        { name: 'REGISTRY_TIMEOUT_SECONDS', value: '$(params.registry-timeout-seconds)' },
        { name: 'TASK_NAME', value: '$(context.task.name)' },
        ...TELEMETRY_ENV,
      ],
      computeResources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    },
  ],
  notes: `## Policy
Give either a keyless policy or a public key, never both:
- **Keyless:** \`certificate-identity\` *or* \`certificate-identity-regexp\`, and \`certificate-oidc-issuer\` *or* \`certificate-oidc-issuer-regexp\`. An exact identity is compared as a string. A regexp must match the **whole** value: \`https://github.com/my-org/.*\` does not match \`https://evil.example/?https://github.com/my-org/x\`. Regexps use RE2 syntax, as cosign (Go) reads them, and run in time linear in the identity's length, so no pattern can make a certificate an attacker chose hang the step; lookaround, backreferences and the \`i\` flag are refused with a message naming the param (write both cases out, e.g. \`[A-Za-z]\`). The optional \`certificate-github-workflow-*\` params are compared exactly with the Fulcio certificate extensions.
- **Keyed:** bind \`public-key\` (a ConfigMap or Secret holding \`cosign.pub\`). Keyed signatures need a transparency-log entry unless \`require-tlog\` is \`"false"\`; keyless ones always do.

An image passes when at least one signature satisfies the policy; the log names the one that did. Attestations (in-toto statements in bundles) never count as the image signature; require one with \`attestation-predicate-type\`.

## Air-gapped and private Sigstore
Nothing is fetched at run time except the images' manifests and signatures. The public-good trusted root is built into the step; for a private Sigstore bind \`trusted-root\` with its \`trusted_root.json\` (from its TUF repository). A root whose log key or CA lacks \`validFor.start\` is refused.

## Registries
Bind \`docker-config\` with a \`kubernetes.io/dockerconfigjson\` Secret for private registries; credentials are used only for the exact host they are listed under. Plain HTTP is allowed only for loopback registries listed in \`plain-http-registries\`.

A registry names its own token server (the Bearer \`realm\`), so the credentials go only to a token server over https on the registry's host (any port) or under the same registrable domain by the Public Suffix List, private section included: \`auth.docker.io\` for Docker Hub, \`gitlab.com\` for \`registry.gitlab.com\`, but never \`b.github.io\` for \`a.github.io\`. Any other token server is refused with \`REGISTRY_REALM_REFUSED\` before anything is sent to it, unless its origin is listed in \`trusted-token-realms\` (for example \`https://auth.example.com\`). Without credentials, anonymous token requests go to any https token server, so public registries keep working. Credentials and tokens never follow a redirect to another host (a blob served from a CDN gets none).

The registry's answers are bounded while they are read: 4 MiB per manifest, at most ${MANIFEST_JSON_LIMITS.maxArrayItems} entries in any list inside it and ${MANIFEST_JSON_LIMITS.maxDepth} levels of nesting; at most ${MAX_REFERRERS} referrers per image over at most ${MAX_REFERRER_PAGES} pages and ${MAX_REFERRER_LIST_BYTES / (1024 * 1024)} MiB; at most ${MAX_LEGACY_LAYERS} signatures in a legacy \`.sig\` manifest. Past a cap the image is rejected with \`REGISTRY_LIMIT_EXCEEDED\` (an oversized manifest used to be \`REGISTRY_RESPONSE_INVALID\`): the list is refused, never cut short. Earlier builds of 0.1 skipped what lay past 64 referrers or 32 legacy layers and could still pass on the rest; such images now fail.

## Results and Chains
\`verified-images\` holds \`registry/repository@sha256:…\` for each input, in order: pass these digests to the tasks that run or deploy the images, never the tags. When the run verified exactly one image, \`verified-image\` holds the same reference as plain text (\`$(tasks.verify.results.verified-image)\`); with several images it is empty, so a Pipeline can never take one image for another. The Task deliberately does not emit \`IMAGES\` or results ending in \`IMAGE_URL\`/\`IMAGE_DIGEST\` (or \`ARTIFACT_URI\`/\`ARTIFACT_DIGEST\`/\`ARTIFACT_OUTPUTS\`): Tekton Chains reads those as artifacts the TaskRun *built* and would sign them as its outputs.

It does emit each verified image as an **input** of the build: \`image1_ARTIFACT_INPUTS\` … \`image${MAX_ARTIFACT_INPUTS}_ARTIFACT_INPUTS\`, object results \`{"uri": "oci://registry/repository", "digest": "sha256:<hex>"}\`, in input order, written only for the images given. Chains records every object result ending in \`ARTIFACT_INPUTS\` with a \`uri\` and a \`<algorithm>:<hex>\` \`digest\` as a material (SLSA v0.2) or resolved dependency (SLSA v1.0), one artifact per result: it reads object results only, so a list could not carry several (tektoncd/chains \`pkg/artifacts/signable.go\`, \`ExtractStructuredTargetFromResults\`). In a Pipeline, enable \`artifacts.pipelinerun.enable-deep-inspection\` in \`chains-config\` so the PipelineRun's provenance collects them from this TaskRun.

**What fails now that passed before:** a run verifies at most ${MAX_ARTIFACT_INPUTS} images (one Chains input result each), and \`verified-images\` shares its part of the results budget with those results, so a run of more images, or of a few images with very long names, is refused with \`USAGE_TOO_MANY_IMAGES\` (exit 2) before any registry is asked; earlier builds of 0.1 verified up to about ten short references at once. Split the images over several verify-image tasks.

## Failure, exit codes and telemetry
0 every image verified; 1 an image was rejected, with one line per image: \`REJECTED <image>: [CODE] reason\` where CODE is one of NO_SIGNATURES, SIGNATURE_INVALID, IDENTITY_MISMATCH (expected versus found), DIGEST_MISMATCH, REGISTRY_UNREACHABLE, REGISTRY_RESPONSE_INVALID, REGISTRY_LIMIT_EXCEEDED, REGISTRY_REALM_REFUSED, REGISTRY_ACCESS_DENIED, IMAGE_NOT_FOUND, TLOG_REQUIRED, TLOG_INVALID, UNTRUSTED_ROOT, CERTIFICATE_EXPIRED, SCT_INVALID, TIMESTAMP_INVALID, BUNDLE_INVALID, KEY_REQUIRED, DIGEST_REQUIRED, ATTESTATION_MISSING, REFERENCE_INVALID or VERIFICATION_FAILED; 2 bad params or configuration; 3 internal failure. Each image adds to \`tekton_image_verifications_total{task,outcome,reason}\` in the step log, and each image whose registry pull failed (REGISTRY_UNREACHABLE, REGISTRY_RESPONSE_INVALID, REGISTRY_LIMIT_EXCEEDED, REGISTRY_REALM_REFUSED, REGISTRY_ACCESS_DENIED, IMAGE_NOT_FOUND) to \`tekton_taskrun_image_pull_errors_total{task,image}\`.

Results travel in Tekton's termination message, a few kilobytes for all of them (see Results for each one's limit): \`verified-images\` and the \`image<N>_ARTIFACT_INPUTS\` results share what the other results leave, and the step refuses, with exit 2 and before contacting any registry, a list of images whose verified references would not fit (or, when an attestation is required, more images than \`attestation-predicate-digests\` holds). Verify more images in several TaskRuns, and read the \`report\` workspace for everything about each image. With a single image, \`verified-image\` holds its reference as plain text.

${telemetryNotes('`tekton_taskrun_image_pull_errors_total{task,image}`', 'one `dev.hardened-tekton.image.verification.rejected.v1` event per rejected image (its code, message and whether the pull failed)')}`,
  samples: [
    {
      file: 'taskrun.yaml',
      description: 'Verify one image signed keyless by a GitHub Actions release workflow, against the public-good Sigstore.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'TaskRun',
          metadata: { generateName: 'verify-image-' },
          spec: {
            taskRef: catalogTaskRef('verify-image'),
            params: [
              { name: 'images', value: [SAMPLE_IMAGE] },
              { name: 'certificate-identity', value: IDENTITY },
              { name: 'certificate-oidc-issuer', value: ISSUER },
              { name: 'certificate-github-workflow-repository', value: 'my-org/app' },
              { name: 'attestation-predicate-type', value: 'https://slsa.dev/provenance/v1' },
            ],
          },
        },
      ],
    },
    {
      file: 'pipeline.yaml',
      description: 'Gate a deployment on verification: the deploy task runs only after verify-image passed, and only with the verified digest.',
      documents: [
        {
          apiVersion: 'tekton.dev/v1',
          kind: 'Pipeline',
          metadata: { name: 'verified-deploy' },
          spec: {
            params: [{ name: 'image', type: 'string', description: 'The image to deploy (tag or digest).' }],
            tasks: [
              {
                name: 'verify',
                taskRef: catalogTaskRef('verify-image'),
                params: [
                  { name: 'images', value: ['$(params.image)'] },
                  { name: 'certificate-identity-regexp', value: 'https://github\\.com/my-org/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+' },
                  { name: 'certificate-oidc-issuer', value: ISSUER },
                ],
              },
              {
                name: 'deploy',
                runAfter: ['verify'],
                params: [{ name: 'verified-images', value: '$(tasks.verify.results.verified-images)' }],
                taskSpec: {
                  params: [{ name: 'verified-images', type: 'string' }],
                  steps: [
                    {
                      name: 'deploy',
                      // Placeholder: your deploy tool's image, pinned by digest.
                      image: 'registry.example.com/tools/deploy@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
                      env: [{ name: 'VERIFIED_IMAGES', value: '$(params.verified-images)' }],
                      args: ['--images-json-from-env', 'VERIFIED_IMAGES'],
                      // Hardened like the catalog's own steps, so the sample audits clean.
                      securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                      computeResources: { limits: { cpu: '500m', memory: '256Mi' } },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
    },
  ],
});
