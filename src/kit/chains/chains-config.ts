import { ConfigMap } from 'kubernetes-models/v1';
import { CatalogError } from '../../errors.ts';
import type { KitConfig } from '../config/kit-config.ts';

/**
 * Tekton Chains' `chains-config` ConfigMap (the seed's step 4), with every
 * setting explained. Chains watches completed TaskRuns and PipelineRuns,
 * writes SLSA provenance for what they built (IMAGE_URL/IMAGE_DIGEST,
 * *_ARTIFACT_OUTPUTS) and from what (*_ARTIFACT_INPUTS: verify-image's
 * verified images), signs it and the built images, and stores both in the
 * registry. The keys and the values each accepts are Chains' own
 * (tektoncd/chains pkg/config/config.go NewConfigFromMap); the seed's
 * `artifacts.*.signing-backend` is not a Chains key (the key is `signer`).
 */

/** The values Chains accepts per key (pkg/config/config.go); a value outside them stops Chains from loading its config. */
export const CHAINS_ALLOWED_VALUES: Readonly<Record<string, readonly string[] | 'bool' | 'url' | 'string'>> = {
  'artifacts.taskrun.format': ['in-toto', 'slsa/v1', 'slsa/v2alpha3', 'slsa/v2alpha4'],
  'artifacts.taskrun.storage': ['', 'tekton', 'oci', 'gcs', 'docdb', 'grafeas', 'kafka', 'archivista'],
  'artifacts.taskrun.signer': ['x509', 'kms', 'none'],
  'artifacts.pipelinerun.format': ['in-toto', 'slsa/v1', 'slsa/v2alpha3', 'slsa/v2alpha4'],
  'artifacts.pipelinerun.storage': ['', 'tekton', 'oci', 'gcs', 'docdb', 'grafeas', 'archivista'],
  'artifacts.pipelinerun.signer': ['x509', 'kms', 'none'],
  'artifacts.pipelinerun.enable-deep-inspection': 'bool',
  'artifacts.oci.format': ['simplesigning'],
  'artifacts.oci.storage': ['', 'tekton', 'oci', 'gcs', 'docdb', 'grafeas', 'kafka', 'archivista'],
  'artifacts.oci.signer': ['x509', 'kms', 'none'],
  'storage.oci.repository': 'string',
  'signers.kms.kmsref': 'string',
  'signers.x509.fulcio.enabled': 'bool',
  'signers.x509.fulcio.address': 'url',
  'signers.x509.fulcio.issuer': 'url',
  'transparency.enabled': ['true', 'false', 'manual'],
  'transparency.url': 'url',
  'builder.id': 'url',
};

export const CHAINS_CONFIG_NAME = 'chains-config';

export interface CommentedConfigMap {
  configMap: ConfigMap;
  /** Per data key: the comment above it. */
  comments: Record<string, string>;
}

export function planChainsConfig(config: KitConfig): CommentedConfigMap {
  const { chains } = config;
  const signer = chains.signer === 'kms' ? 'kms' : 'x509';
  const entries: [string, string, string][] = [
    [
      'artifacts.pipelinerun.format',
      'slsa/v2alpha4',
      'SLSA v1.0 provenance for each PipelineRun: what it built (the Pipeline results IMAGE_URL/IMAGE_DIGEST) and from what (the *_ARTIFACT_INPUTS of its tasks).',
    ],
    ['artifacts.pipelinerun.storage', 'oci', 'Store the PipelineRun provenance in the registry, as an attestation attached to each image it built.'],
    ['artifacts.pipelinerun.signer', signer, `Sign the PipelineRun provenance with the ${chains.signer} signer configured below.`],
    [
      'artifacts.pipelinerun.enable-deep-inspection',
      'true',
      "Read the type hints of every TaskRun of the PipelineRun too: verify-image's image<N>_ARTIFACT_INPUTS (the verified base and tool images) become resolved dependencies of the build.",
    ],
    ['artifacts.taskrun.format', 'slsa/v2alpha4', 'The same SLSA v1.0 format for TaskRuns run on their own.'],
    [
      'artifacts.taskrun.storage',
      '',
      'No separate provenance per TaskRun of a Pipeline: Chains documents that storing both TaskRun and PipelineRun provenance for one artifact confuses consumers. Set "oci" if you run build Tasks without a Pipeline.',
    ],
    ['artifacts.taskrun.signer', signer, 'Signer for TaskRun provenance, when it is stored.'],
    ['artifacts.oci.format', 'simplesigning', 'Sign each built image itself (cosign simple signing), so admission policies and verify-image can check it.'],
    ['artifacts.oci.storage', 'oci', 'Store image signatures in the registry beside the image.'],
    ['artifacts.oci.signer', signer, 'Signer for image signatures.'],
    ['transparency.enabled', 'true', `Record every signature in the Rekor transparency log (${chains.rekorUrl}), so a signature made by a stolen key or token is visible and verify-image (require-tlog) can insist on it.`],
    ['transparency.url', chains.rekorUrl, 'The Rekor instance.'],
  ];
  if (chains.signer === 'keyless') {
    entries.push(
      ['signers.x509.fulcio.enabled', 'true', "Keyless: get a short-lived signing certificate from Fulcio for the Chains controller's OIDC identity; no long-lived key to steal."],
      ['signers.x509.fulcio.address', chains.fulcioUrl, 'The Fulcio instance.'],
      ['signers.x509.fulcio.issuer', chains.oidcIssuer, "The OIDC issuer of the controller's token; verify with this issuer and the controller's identity."],
    );
  } else if (chains.signer === 'key') {
    entries.push(['signers.x509.fulcio.enabled', 'false', 'Keyed: sign with the cosign key in the signing-secrets Secret of the Chains namespace (cosign generate-key-pair k8s://tekton-chains/signing-secrets); verify with its public key.']);
  } else {
    entries.push(['signers.kms.kmsref', chains.kmsRef!, 'The KMS key that signs (the key never leaves the KMS).']);
  }
  if (chains.ociRepository !== undefined) entries.push(['storage.oci.repository', chains.ociRepository, 'Store signatures and attestations in this repository instead of beside each image.']);
  if (chains.builderId !== undefined) entries.push(['builder.id', chains.builderId, 'The builder identity provenance names (runDetails.builder.id); verifiers pin it.']);
  assertChainsValues(Object.fromEntries(entries.map(([key, value]) => [key, value])));
  const configMap = new ConfigMap({
    metadata: { name: CHAINS_CONFIG_NAME, namespace: config.observability.chainsNamespace, labels: { 'app.kubernetes.io/part-of': 'tekton-chains' } },
    data: Object.fromEntries(entries.map(([key, value]) => [key, value])),
  });
  return { configMap, comments: Object.fromEntries(entries.map(([key, , comment]) => [key, comment])) };
}

/** Every key is one Chains reads, with a value Chains accepts. */
export function assertChainsValues(data: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(data)) {
    const allowed = CHAINS_ALLOWED_VALUES[key];
    const ok =
      allowed === undefined
        ? false
        : allowed === 'bool'
          ? value === 'true' || value === 'false'
          : allowed === 'url'
            ? URL.canParse(value) && value.startsWith('https://')
            : allowed === 'string'
              ? value.length > 0
              : allowed.includes(value);
    if (!ok) {
      throw new CatalogError('KIT_CHAINS_INVALID', `chains-config: ${key}: ${allowed === undefined ? 'is not a key Chains reads' : `value ${JSON.stringify(value)} is not one Chains accepts`}`, {
        hint: 'see tektoncd/chains docs/config.md',
      });
    }
  }
}
