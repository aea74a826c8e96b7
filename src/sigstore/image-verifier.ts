import { CatalogError, isCatalogError, quoteUntrusted } from '../errors.ts';
import { sha256Digest, type Digest } from '../oci/digest.ts';
import { RegistryClientPool, formatReference, parseReference, type ImageReference, type PulledManifest, type RegistryAccessOptions } from '../oci/registry/index.ts';
import { parseBundle } from './bundle/parse.ts';
import { SignatureDiscovery, type Discovery, type SignatureCandidate } from './discovery/signature-discovery.ts';
import { VerificationFailure, VerifyErrorCode, isVerificationFailure, type VerifyErrorCodeValue } from './errors.ts';
import { legacyToBundle } from './legacy/legacy-signature.ts';
import { COSIGN_SIGN_PREDICATE_TYPE, predicateDigest } from './payload/in-toto.ts';
import { checkSimpleSigningPayload } from './payload/simple-signing.ts';
import type { BundleVerifier, VerifiedSigner } from './verify/bundle-verifier.ts';

export interface ImageVerifierOptions {
  verifier: BundleVerifier;
  /** How to reach registries, for a pool of the verifier's own; ignored when `clients` is given. */
  registry?: RegistryAccessOptions;
  /** A pool shared with the caller, who then closes it; the verifier's close() leaves it open. */
  clients?: RegistryClientPool;
  /** Refuse tag-only references instead of resolving them. */
  requireDigest?: boolean;
  /** Also require an attestation of this predicate type, signed under the same policy. */
  attestationPredicateType?: string;
}

export interface VerifiedSignature {
  format: 'legacy' | 'bundle';
  source: string;
  signer: VerifiedSigner;
  tlogIndex?: string;
}

export interface ImageVerification {
  /** The reference as given. */
  input: string;
  /** registry/repository@sha256:… — what the pipeline should use from now on. */
  verifiedReference: string;
  registry: string;
  repository: string;
  digest: Digest;
  /** The signature that satisfied the policy. */
  signature: VerifiedSignature;
  attestation?: { predicateType: string; predicateDigest: Digest; source: string };
  /** Signatures found, in both formats. */
  signaturesFound: number;
  referrersSource: 'api' | 'tag-schema';
}

/** An attestation (an in-toto statement other than cosign's image signature) that verified under the policy. */
export interface VerifiedAttestation {
  predicateType: string;
  /** The signed predicate, parsed: trusted only because its signature verified under the policy. */
  predicate: unknown;
  predicateDigest: Digest;
  source: string;
  signer: VerifiedSigner;
}

/** A signature or attestation that did not verify, with the predicate type its unverified payload claims (for reporting only). */
export interface RejectedCandidate {
  source: string;
  failure: VerificationFailure;
  claimedPredicateType?: string;
}

/** Everything an image carries that verifies under the policy, and why the rest did not. */
export interface ImageInspection {
  input: string;
  verifiedReference: string;
  registry: string;
  repository: string;
  digest: Digest;
  mediaType: string;
  /** The manifest bytes whose digest was verified. */
  manifest: Buffer;
  referrersSource: 'api' | 'tag-schema';
  signatures: VerifiedSignature[];
  /** Set when no signature verified: the same code verify() would throw. */
  signatureFailure?: VerificationFailure;
  attestations: VerifiedAttestation[];
  rejected: RejectedCandidate[];
}

/** When signatures fail for different reasons, the reported code is the first of these that occurred. */
const FAILURE_PRECEDENCE: readonly VerifyErrorCodeValue[] = [
  VerifyErrorCode.digestMismatch,
  VerifyErrorCode.signatureInvalid,
  VerifyErrorCode.tlogInvalid,
  VerifyErrorCode.bundleInvalid,
  VerifyErrorCode.untrustedRoot,
  VerifyErrorCode.certificateExpired,
  VerifyErrorCode.sctInvalid,
  VerifyErrorCode.timestampInvalid,
  VerifyErrorCode.tlogRequired,
  VerifyErrorCode.identityMismatch,
  VerifyErrorCode.keyRequired,
];

/**
 * Verifies container images: resolves each reference to the digest of the
 * manifest bytes we fetched, discovers its signatures in both cosign
 * formats, verifies each under the policy and passes when at least one
 * does. Fails closed: anything unexpected is a VerificationFailure.
 */
export class ImageVerifier {
  private readonly options: ImageVerifierOptions;
  private readonly clients: RegistryClientPool;
  private readonly ownsClients: boolean;

  constructor(options: ImageVerifierOptions) {
    this.options = options;
    this.ownsClients = options.clients === undefined;
    this.clients = options.clients ?? new RegistryClientPool(options.registry ?? {});
  }

  async close(): Promise<void> {
    if (this.ownsClients) await this.clients.close();
  }

  async verify(input: string): Promise<ImageVerification> {
    return withRegistryErrors(input, async () => {
      const { reference, manifest, digest, discovery, where } = await this.discover(input);
      if (discovery.candidates.length === 0) {
        throw new VerificationFailure(
          VerifyErrorCode.noSignatures,
          `${where}: no signatures found (legacy .sig tag, referrers via ${discovery.referrersSource})${discovery.skipped.length ? `; skipped: ${discovery.skipped.slice(0, 3).join('; ')}` : ''}`,
          { hint: 'sign the image with cosign (either storage format), or check the reference' },
        );
      }
      const signature = this.firstValid(discovery.candidates, manifest.bytes, digest, where);
      const result: ImageVerification = {
        input,
        verifiedReference: where,
        registry: reference.registry,
        repository: reference.repository,
        digest,
        signature,
        signaturesFound: discovery.candidates.length,
        referrersSource: discovery.referrersSource,
      };
      if (this.options.attestationPredicateType !== undefined) {
        result.attestation = this.requiredAttestation(discovery.candidates, manifest.bytes, where, this.options.attestationPredicateType);
      }
      return result;
    });
  }

  /**
   * Verifies every signature and attestation an image carries instead of
   * stopping at the first good one: for callers that need all attestations
   * (several provenances of one image) or must know what a signer already
   * attached. Registry failures throw, as in verify(); a missing or invalid
   * signature does not, it is reported in `signatureFailure`.
   */
  async inspect(input: string): Promise<ImageInspection> {
    return withRegistryErrors(input, async () => {
      const { reference, manifest, digest, discovery, where } = await this.discover(input);
      const inspection: ImageInspection = {
        input,
        verifiedReference: where,
        registry: reference.registry,
        repository: reference.repository,
        digest,
        mediaType: manifest.mediaType,
        manifest: manifest.bytes,
        referrersSource: discovery.referrersSource,
        signatures: [],
        attestations: [],
        rejected: [],
      };
      for (const candidate of discovery.candidates) {
        try {
          if (candidate.format === 'legacy') {
            inspection.signatures.push(this.verifySignature(candidate, manifest.bytes, digest));
            continue;
          }
          const result = this.options.verifier.verify(parseBundle(candidate.bundle, candidate.source), manifest.bytes, candidate.source);
          const signature = withTlog({ format: 'bundle', source: candidate.source, signer: result.signer }, result.tlogIndex);
          if (result.statement === undefined || result.statement.predicateType === COSIGN_SIGN_PREDICATE_TYPE) inspection.signatures.push(signature);
          else {
            const { predicateType, predicate } = result.statement;
            inspection.attestations.push({ predicateType, predicate, predicateDigest: predicateDigest(result.statement), source: candidate.source, signer: result.signer });
          }
        } catch (error) {
          const rejected: RejectedCandidate = { source: candidate.source, failure: asFailure(error, candidate.source) };
          const claimed = candidate.format === 'bundle' ? claimedPredicateType(candidate.bundle) : undefined;
          if (claimed !== undefined) rejected.claimedPredicateType = claimed;
          inspection.rejected.push(rejected);
        }
      }
      if (inspection.signatures.length === 0) {
        const signatureFailures = inspection.rejected.filter((r) => r.claimedPredicateType === undefined || r.claimedPredicateType === COSIGN_SIGN_PREDICATE_TYPE).map((r) => r.failure);
        inspection.signatureFailure =
          discovery.candidates.length === 0 || signatureFailures.length === 0
            ? new VerificationFailure(VerifyErrorCode.noSignatures, `${where}: no signatures found (legacy .sig tag, referrers via ${discovery.referrersSource})`, {
                hint: 'sign the image with cosign (either storage format), or check the reference',
              })
            : summarize(signatureFailures, `${where}: none of ${signatureFailures.length} signature${signatureFailures.length === 1 ? '' : 's'} satisfies the policy`);
      }
      return inspection;
    });
  }

  /**
   * Resolves the reference to the digest of the manifest bytes we fetched and
   * finds the signatures of that digest. With a digest in the reference, the
   * signatures are looked up while the manifest is fetched (a round trip
   * less); they are used only once the manifest hashes to that digest.
   */
  private async discover(input: string): Promise<{ reference: ImageReference; manifest: PulledManifest; digest: Digest; discovery: Discovery; where: string }> {
    const reference = this.parse(input);
    const client = this.clients.client(reference.registry);
    const discovery = new SignatureDiscovery(client);
    const pinned = reference.digest === undefined ? undefined : discovery.discover(reference.repository, reference.digest);
    // Settled either way: when the manifest fails first, the lookup's own failure is not reported twice.
    pinned?.catch(() => {});
    const manifest = await client.getManifest(reference.repository, reference.digest ?? reference.tag ?? 'latest');
    // The digest is what we computed from the bytes we got, never a header.
    const digest = sha256Digest(manifest.bytes);
    if (reference.digest !== undefined && digest !== reference.digest) {
      throw new VerificationFailure(VerifyErrorCode.digestMismatch, `${quoteUntrusted(input, 200)}: the registry served a manifest hashing to ${digest}`);
    }
    const found = await (pinned ?? discovery.discover(reference.repository, digest));
    return { reference, manifest, digest, discovery: found, where: formatReference({ registry: reference.registry, repository: reference.repository, digest }) };
  }

  private parse(input: string): ImageReference {
    let reference: ImageReference;
    try {
      reference = parseReference(input);
    } catch (error) {
      throw new VerificationFailure(VerifyErrorCode.referenceInvalid, isCatalogError(error) ? error.message : `image reference ${quoteUntrusted(input)} is invalid`);
    }
    if (reference.digest === undefined && this.options.requireDigest) {
      throw new VerificationFailure(VerifyErrorCode.digestRequired, `image reference ${quoteUntrusted(input, 200)} has no digest and require-digest is set`, {
        hint: 'pin the image as registry/repository@sha256:<digest>',
      });
    }
    return reference;
  }

  /** The first candidate that verifies as an image signature; otherwise a failure naming every reason. */
  private firstValid(candidates: SignatureCandidate[], manifest: Buffer, digest: Digest, where: string): VerifiedSignature {
    const failures: VerificationFailure[] = [];
    for (const candidate of candidates) {
      try {
        return this.verifySignature(candidate, manifest, digest);
      } catch (error) {
        failures.push(asFailure(error, candidate.source));
      }
    }
    throw summarize(failures, `${where}: none of ${candidates.length} signature${candidates.length === 1 ? '' : 's'} satisfies the policy`);
  }

  private verifySignature(candidate: SignatureCandidate, manifest: Buffer, digest: Digest): VerifiedSignature {
    const { verifier } = this.options;
    if (candidate.format === 'legacy') {
      const parsed = legacyToBundle(candidate);
      const result = verifier.verify(parsed, candidate.payload, candidate.source);
      checkSimpleSigningPayload(candidate.payload, digest, candidate.source);
      return withTlog({ format: 'legacy', source: candidate.source, signer: result.signer }, result.tlogIndex);
    }
    const result = verifier.verify(parseBundle(candidate.bundle, candidate.source), manifest, candidate.source);
    if (result.statement && result.statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
      throw new VerificationFailure(
        VerifyErrorCode.noSignatures,
        `${candidate.source} is an attestation (${quoteUntrusted(result.statement.predicateType, 120)}), not an image signature`,
      );
    }
    return withTlog({ format: 'bundle', source: candidate.source, signer: result.signer }, result.tlogIndex);
  }

  private requiredAttestation(candidates: SignatureCandidate[], manifest: Buffer, where: string, predicateType: string): NonNullable<ImageVerification['attestation']> {
    const failures: VerificationFailure[] = [];
    for (const candidate of candidates) {
      if (candidate.format !== 'bundle') continue;
      try {
        const result = this.options.verifier.verify(parseBundle(candidate.bundle, candidate.source), manifest, candidate.source);
        if (result.statement?.predicateType === predicateType) {
          return { predicateType, predicateDigest: predicateDigest(result.statement, candidate.source), source: candidate.source };
        }
      } catch (error) {
        failures.push(asFailure(error, candidate.source));
      }
    }
    const reasons = failures.length === 0 ? '' : `; ${failures.length} other bundle(s) failed: ${failures.slice(0, 3).map((f) => `[${f.code}] ${f.message}`).join('; ')}`;
    throw new VerificationFailure(
      VerifyErrorCode.attestationMissing,
      `${where}: no attestation of predicate type ${quoteUntrusted(predicateType, 120)} signed under the policy${reasons}`,
      { hint: 'attest the image (cosign attest) with the policy identity, or drop the attestation requirement' },
    );
  }
}

/**
 * The predicate type a bundle's DSSE payload claims, read without trusting
 * it: only to say which kind of attachment failed to verify.
 */
function claimedPredicateType(bundle: Buffer): string | undefined {
  try {
    const json = JSON.parse(bundle.toString('utf8')) as { dsseEnvelope?: { payload?: unknown } };
    const payload = json.dsseEnvelope?.payload;
    if (typeof payload !== 'string') return undefined;
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicateType?: unknown };
    return typeof statement.predicateType === 'string' ? statement.predicateType.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function withTlog(signature: VerifiedSignature, tlogIndex: string | undefined): VerifiedSignature {
  if (tlogIndex !== undefined) signature.tlogIndex = tlogIndex;
  return signature;
}

function asFailure(error: unknown, source: string): VerificationFailure {
  if (isVerificationFailure(error)) return error;
  return new VerificationFailure(VerifyErrorCode.internal, `${source}: ${error instanceof Error ? quoteUntrusted(error.message, 160) : 'unexpected error'}`, { cause: error });
}

function summarize(failures: VerificationFailure[], headline: string): VerificationFailure {
  const signatureFailures = failures.filter((failure) => failure.code !== VerifyErrorCode.noSignatures);
  if (signatureFailures.length === 0) {
    return new VerificationFailure(VerifyErrorCode.noSignatures, `${headline}: only attestations or unsupported entries were found`);
  }
  const code = FAILURE_PRECEDENCE.find((candidate) => signatureFailures.some((failure) => failure.code === candidate)) ?? signatureFailures[0]!.code;
  const reasons = signatureFailures
    .slice(0, 4)
    .map((failure) => `[${failure.code}] ${failure.message}`)
    .join('; ');
  const more = signatureFailures.length > 4 ? `; and ${signatureFailures.length - 4} more` : '';
  return new VerificationFailure(code, `${headline}: ${reasons}${more}`, { cause: signatureFailures[0] });
}

/** Registry errors (CatalogError codes from src/oci/registry) become verification codes. */
async function withRegistryErrors<T>(input: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isVerificationFailure(error)) throw error;
    if (error instanceof CatalogError) {
      throw new VerificationFailure(registryCode(error.code), `${quoteUntrusted(input, 200)}: ${error.message}`, {
        cause: error,
        ...(error.hint ? { hint: error.hint } : {}),
      });
    }
    // Unknown is not a pass.
    throw new VerificationFailure(
      VerifyErrorCode.internal,
      `${quoteUntrusted(input, 200)}: ${error instanceof Error ? quoteUntrusted(error.message, 160) : 'unexpected error'}`,
      { cause: error },
    );
  }
}

function registryCode(code: string): VerifyErrorCodeValue {
  switch (code) {
    case 'REGISTRY_UNREACHABLE':
    case 'REGISTRY_TIMEOUT':
    case 'REGISTRY_UNAVAILABLE':
    case 'REGISTRY_INSECURE':
      return VerifyErrorCode.registryUnreachable;
    case 'REGISTRY_DIGEST_MISMATCH':
    case 'OCI_DIGEST_MISMATCH':
      return VerifyErrorCode.digestMismatch;
    case 'REGISTRY_NOT_FOUND':
      return VerifyErrorCode.imageNotFound;
    case 'REGISTRY_UNAUTHORIZED':
    case 'REGISTRY_DENIED':
      return VerifyErrorCode.registryAccessDenied;
    case 'REGISTRY_RESPONSE_TOO_LARGE':
    case 'REGISTRY_LIST_TOO_LONG':
      return VerifyErrorCode.registryLimitExceeded;
    case 'REGISTRY_REALM_REFUSED':
      return VerifyErrorCode.registryRealmRefused;
    case 'CONFIG_DOCKER_CONFIG':
    case 'CONFIG_TRUSTED_TOKEN_REALMS':
      return VerifyErrorCode.policyInvalid;
    default:
      return VerifyErrorCode.registryResponseInvalid;
  }
}
