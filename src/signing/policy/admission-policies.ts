import { toYaml } from '../../tekton/yaml.ts';
import { PredicateType } from '../attestations/statement.ts';
import type { PublishedIdentity } from '../published-identity.ts';

/** Who the admission controllers must see as the signer. */
export type PolicySigner =
  | { kind: 'keyless'; identity: string; issuer: string; fulcioUrl: string; rekorUrl: string }
  | { kind: 'key'; publicKeyPem: string; rekorUrl?: string };

export interface AdmissionPolicyInput {
  /** The catalog's registry prefix, e.g. ghcr.io/hardened-tekton/catalog. */
  registry: string;
  signer: PolicySigner;
  /** The source repository every provenance must name. */
  sourceRepository: string;
  /** metadata.name of both policies. */
  name?: string;
}

export const DEFAULT_POLICY_NAME = 'hardened-tekton-catalog';

export function publishedPolicySigner(identity: PublishedIdentity): PolicySigner {
  return { kind: 'keyless', identity: identity.identity, issuer: identity.issuer, fulcioUrl: identity.fulcioUrl, rekorUrl: identity.rekorUrl };
}

/**
 * A sigstore policy-controller ClusterImagePolicy: every image under the
 * catalog's step prefix must carry a cosign v3 bundle signature by the
 * catalog's identity and a SLSA provenance naming its source repository.
 * policy-controller checks the images of Pods (the steps Tekton runs); it
 * does not see Tekton bundles, which the Kyverno policy and verify-catalog cover.
 */
export function clusterImagePolicy(input: AdmissionPolicyInput): Record<string, unknown> {
  const authority: Record<string, unknown> = { name: 'catalog-release' };
  if (input.signer.kind === 'keyless') {
    authority.keyless = { url: input.signer.fulcioUrl, identities: [{ issuer: input.signer.issuer, subject: input.signer.identity }] };
    authority.ctlog = { url: input.signer.rekorUrl };
  } else {
    authority.key = { data: input.signer.publicKeyPem, hashAlgorithm: 'sha256' };
    if (input.signer.rekorUrl !== undefined) authority.ctlog = { url: input.signer.rekorUrl };
  }
  authority.signatureFormat = 'bundle';
  authority.attestations = [
    {
      name: 'provenance',
      predicateType: PredicateType.slsaProvenance,
      policy: {
        type: 'cue',
        data: `predicateType: "${PredicateType.slsaProvenance}"\npredicate: buildDefinition: externalParameters: source: repository: ${JSON.stringify(input.sourceRepository)}\n`,
      },
    },
  ];
  return {
    apiVersion: 'policy.sigstore.dev/v1beta1',
    kind: 'ClusterImagePolicy',
    metadata: { name: input.name ?? DEFAULT_POLICY_NAME },
    spec: {
      images: [{ glob: `${input.registry}/steps/**` }],
      mode: 'enforce',
      authorities: [authority],
    },
  };
}

/**
 * A Kyverno ClusterPolicy with verifyImages: Pods may run images under the
 * catalog's step prefix only when signed by the catalog's identity with a
 * provenance from its repository; TaskRuns and Pipelines may reference
 * Tekton bundles under the catalog's prefix (through the bundles resolver's
 * `bundle` param) only when those are signed by the same identity.
 */
export function kyvernoClusterPolicy(input: AdmissionPolicyInput): Record<string, unknown> {
  const attestors = [{ count: 1, entries: [attestorEntry(input.signer)] }];
  const stepImages = {
    imageReferences: [`${input.registry}/steps/*`],
    type: 'SigstoreBundle',
    failureAction: 'Enforce',
    required: true,
    verifyDigest: true,
    mutateDigest: false,
    attestors,
    attestations: [
      {
        type: PredicateType.slsaProvenance,
        attestors,
        conditions: [
          {
            all: [
              {
                key: '{{ buildDefinition.externalParameters.source.repository }}',
                operator: 'Equals',
                value: input.sourceRepository,
                message: `the provenance must name ${input.sourceRepository}`,
              },
            ],
          },
        ],
      },
    ],
  };
  const bundles = {
    imageReferences: [`${input.registry}/tasks/*`, `${input.registry}/catalog*`],
    type: 'SigstoreBundle',
    failureAction: 'Enforce',
    required: true,
    verifyDigest: true,
    mutateDigest: false,
    attestors,
  };
  // The bundles resolver takes its bundle from a `bundle` param; every param value is extracted and
  // only those under the catalog's prefix match imageReferences.
  const resolverParams = (path: string) => ({ name: 'bundles', path, value: 'value' });
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: {
      name: input.name ?? DEFAULT_POLICY_NAME,
      annotations: {
        'policies.kyverno.io/title': 'Signed hardened Tekton catalog',
        'policies.kyverno.io/category': 'Tekton, Software Supply Chain Security',
        'policies.kyverno.io/subject': 'Pod, TaskRun, Pipeline',
        'policies.kyverno.io/description': `Admits step images under ${input.registry}/steps and Tekton bundles under ${input.registry} only when signed by the catalog's release identity, images only with a SLSA provenance from ${input.sourceRepository}.`,
      },
    },
    spec: {
      background: false,
      webhookTimeoutSeconds: 30,
      rules: [
        {
          name: 'step-images-signed-with-provenance',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [stepImages],
        },
        {
          name: 'task-bundles-signed',
          match: { any: [{ resources: { kinds: ['tekton.dev/v1/TaskRun', 'tekton.dev/v1/Pipeline'] } }] },
          imageExtractors: {
            TaskRun: [resolverParams('/spec/taskRef/params/*')],
            Pipeline: [resolverParams('/spec/tasks/*/taskRef/params/*'), resolverParams('/spec/finally/*/taskRef/params/*')],
          },
          verifyImages: [bundles],
        },
      ],
    },
  };
}

function attestorEntry(signer: PolicySigner): Record<string, unknown> {
  if (signer.kind === 'keyless') {
    return { keyless: { subject: signer.identity, issuer: signer.issuer, rekor: { url: signer.rekorUrl } } };
  }
  return { keys: { publicKeys: signer.publicKeyPem, ...(signer.rekorUrl === undefined ? {} : { rekor: { url: signer.rekorUrl } }) } };
}

export const POLICY_FILES = {
  clusterImagePolicy: 'policy/cluster-image-policy.yaml',
  kyverno: 'policy/kyverno-cluster-policy.yaml',
} as const;

/** The committed catalog/policy/ files for a registry prefix and signer, as the build writes them. */
export function catalogPolicyFiles(input: AdmissionPolicyInput): Map<string, string> {
  const header = (what: string) =>
    `# ${what} for the hardened Tekton catalog at ${input.registry}.\n# Generated by \`tekton-catalog policy\` (npm run build); do not edit.\n`;
  return new Map([
    [POLICY_FILES.clusterImagePolicy, `${header('sigstore policy-controller ClusterImagePolicy')}${toYaml(clusterImagePolicy(input))}`],
    [POLICY_FILES.kyverno, `${header('Kyverno ClusterPolicy')}${toYaml(kyvernoClusterPolicy(input))}`],
  ]);
}
