import { readBundleResource } from '../../bundle/read.ts';
import { checkBundleCompliance, BundleAnnotation } from '../../bundle/contract.ts';
import { CatalogError, quoteUntrusted } from '../../errors.ts';
import type { ImageManifest } from '../../oci/media-types.ts';
import { RegistryClientPool, parseReference, type RegistryAccessOptions } from '../../oci/registry/index.ts';
import { isVerificationFailure, VerificationFailure, VerifyErrorCode } from '../../sigstore/errors.ts';
import { ImageVerifier, type ImageInspection, type VerifiedAttestation } from '../../sigstore/image-verifier.ts';
import type { VerifiedSigner } from '../../sigstore/verify/bundle-verifier.ts';
import type { BundleVerifier } from '../../sigstore/verify/bundle-verifier.ts';
import { provenanceSource } from '../attestations/provenance.ts';
import { PredicateType } from '../attestations/statement.ts';
import { CatalogCheckCode } from './codes.ts';
import { taskImages } from './task-images.ts';

export interface CatalogVerifierOptions {
  /** The policy: the catalog's published identity (keyless) or its public key. */
  verifier: BundleVerifier;
  /** The source repository every provenance must name. */
  sourceRepository: string;
  registry?: RegistryAccessOptions;
  /** Distinct images checked at most (a bundle holds at most 20 Tasks). */
  maxImages?: number;
}

export interface ProvenanceSummary {
  repository: string;
  commit: string;
  builderId?: string;
}

/** One verified (or rejected) artefact: the bundle itself, or a step image one of its Tasks runs. */
export interface ArtefactCheck {
  kind: 'bundle' | 'step-image';
  /** registry/repository@sha256:… once resolved, else the reference as found. */
  reference: string;
  /** For step images: "task/steps[0] name" where the Tasks use it. */
  usedBy?: string[];
  ok: boolean;
  /** Why it was rejected (a verify-image code or a CatalogCheckCode). */
  code?: string;
  /** For STEP_IMAGE_REJECTED: the verify-image code underneath. */
  cause?: string;
  message?: string;
  signer?: string;
  provenance?: ProvenanceSummary[];
}

export interface CatalogVerification {
  input: string;
  verified: boolean;
  /** The first failure's code; absent when verified. */
  code?: string;
  bundle?: { reference: string; tasks: string[] };
  /** The commits the bundle's provenance names: every step image must name one of them. */
  commits: string[];
  checks: ArtefactCheck[];
}

const MAX_IMAGES = 100;

/**
 * Verifies a catalog or Task bundle before anyone applies it: the bundle's
 * signature and SLSA provenance under the catalog's published identity and
 * source repository, then every image its Tasks run — each pinned by digest,
 * signed by the same identity, with a provenance naming the same source
 * commit as the bundle's. The bundle's content is read only through the
 * digest that verified, never through its tag again.
 */
export class CatalogVerifier {
  private readonly options: CatalogVerifierOptions;
  private readonly images: ImageVerifier;
  private readonly clients: RegistryClientPool;

  constructor(options: CatalogVerifierOptions) {
    this.options = options;
    this.clients = new RegistryClientPool(options.registry ?? {});
    this.images = new ImageVerifier({ verifier: options.verifier, clients: this.clients });
  }

  async close(): Promise<void> {
    await this.images.close();
    await this.clients.close();
  }

  async verify(input: string): Promise<CatalogVerification> {
    const result: CatalogVerification = { input, verified: false, commits: [], checks: [] };
    const finish = () => {
      const failed = result.checks.find((check) => !check.ok);
      result.verified = failed === undefined && result.checks.length > 0;
      if (failed?.code !== undefined) result.code = failed.code;
      return result;
    };

    const bundleCheck: ArtefactCheck = { kind: 'bundle', reference: input, ok: false };
    result.checks.push(bundleCheck);
    const inspection = await this.inspect(input, bundleCheck);
    if (inspection === undefined) return finish();
    bundleCheck.reference = inspection.verifiedReference;
    if (!this.signed(inspection, bundleCheck)) return finish();
    const provenances = this.provenance(inspection, bundleCheck, undefined);
    if (provenances === undefined) return finish();
    result.commits = [...new Set(provenances.map((p) => p.commit))];

    const tasks = await this.readTasks(inspection, bundleCheck);
    if (tasks === undefined) return finish();
    result.bundle = { reference: inspection.verifiedReference, tasks: tasks.map((task) => task.name) };
    bundleCheck.ok = true;

    const uses = new Map<string, string[]>();
    for (const task of tasks) {
      for (const { where, image } of task.images) {
        const list = uses.get(image) ?? [];
        list.push(`${task.name}/${where}`);
        uses.set(image, list);
      }
    }
    if (uses.size > (this.options.maxImages ?? MAX_IMAGES)) {
      bundleCheck.ok = false;
      bundleCheck.code = CatalogCheckCode.bundleContentInvalid;
      bundleCheck.message = `the bundle's Tasks run ${uses.size} images, more than the ${this.options.maxImages ?? MAX_IMAGES} checked at most`;
      return finish();
    }
    for (const [image, usedBy] of uses) result.checks.push(await this.checkImage(image, usedBy, new Set(result.commits)));
    return finish();
  }

  private async checkImage(image: string, usedBy: string[], commits: Set<string>): Promise<ArtefactCheck> {
    const check: ArtefactCheck = { kind: 'step-image', reference: image, usedBy, ok: false };
    let pinned = false;
    try {
      pinned = parseReference(image).digest !== undefined;
    } catch {
      pinned = false;
    }
    if (!pinned) {
      check.code = CatalogCheckCode.stepImageNotPinned;
      check.message = `${quoteUntrusted(image, 200)} is not pinned by digest, so no signature can vouch for what a node pulls`;
      return check;
    }
    const inspection = await this.inspect(image, check);
    if (inspection === undefined || !this.signed(inspection, check)) return stepRejected(check);
    check.reference = inspection.verifiedReference;
    const provenances = this.provenance(inspection, check, commits);
    if (provenances === undefined) return check;
    check.ok = true;
    return check;
  }

  private async inspect(reference: string, check: ArtefactCheck): Promise<ImageInspection | undefined> {
    try {
      return await this.images.inspect(reference);
    } catch (error) {
      fail(check, asFailure(error));
      return undefined;
    }
  }

  private signed(inspection: ImageInspection, check: ArtefactCheck): boolean {
    if (inspection.signatureFailure !== undefined) {
      fail(check, inspection.signatureFailure);
      return false;
    }
    check.signer = describeSigner(inspection.signatures[0]!.signer);
    return true;
  }

  /**
   * The artefact's verified provenances from the catalog's repository; with
   * `commits`, at least one must name one of them. Sets the check's code and
   * returns undefined when that fails.
   */
  private provenance(inspection: ImageInspection, check: ArtefactCheck, commits: Set<string> | undefined): ProvenanceSummary[] | undefined {
    const found = inspection.attestations.filter((attestation) => attestation.predicateType === PredicateType.slsaProvenance);
    if (found.length === 0) {
      const replayed = inspection.rejected.find((r) => r.claimedPredicateType === PredicateType.slsaProvenance && r.failure.code === VerifyErrorCode.digestMismatch);
      const rejected = inspection.rejected.filter((r) => r.claimedPredicateType === PredicateType.slsaProvenance);
      check.code = replayed ? CatalogCheckCode.provenanceSubjectMismatch : CatalogCheckCode.provenanceMissing;
      check.message = replayed
        ? `${inspection.verifiedReference}: its provenance is about another artefact: ${replayed.failure.message}`
        : `${inspection.verifiedReference}: no SLSA provenance (${PredicateType.slsaProvenance}) signed by the catalog's identity${rejected.length ? `; ${rejected.length} other(s) failed: ${rejected.slice(0, 2).map((r) => `[${r.failure.code}] ${r.failure.message}`).join('; ')}` : ''}`;
      if (rejected[0] !== undefined) check.cause = rejected[0].failure.code;
      return undefined;
    }
    const summaries = found.map(summarise);
    const fromRepository = summaries.filter((summary): summary is ProvenanceSummary => summary !== undefined && summary.repository === this.options.sourceRepository);
    check.provenance = summaries.filter((summary): summary is ProvenanceSummary => summary !== undefined);
    if (fromRepository.length === 0) {
      check.code = CatalogCheckCode.provenanceSourceMismatch;
      check.message = `${inspection.verifiedReference}: its provenance names ${check.provenance.map((p) => quoteUntrusted(p.repository, 120)).join(', ') || 'no source'}, not ${this.options.sourceRepository}`;
      return undefined;
    }
    if (commits !== undefined && !fromRepository.some((summary) => commits.has(summary.commit))) {
      check.code = CatalogCheckCode.provenanceCommitMismatch;
      check.message = `${inspection.verifiedReference}: its provenance names commit ${fromRepository.map((p) => p.commit).join(', ')}, the bundle's names ${[...commits].join(', ')}`;
      return undefined;
    }
    return fromRepository;
  }

  /** The Tasks of the verified bundle manifest, each read through the verified digest. */
  private async readTasks(inspection: ImageInspection, check: ArtefactCheck): Promise<{ name: string; images: { where: string; image: string }[] }[] | undefined> {
    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(inspection.manifest.toString('utf8')) as ImageManifest;
      checkBundleCompliance(manifest, inspection.verifiedReference);
    } catch (error) {
      check.code = CatalogCheckCode.bundleContentInvalid;
      check.message = `${inspection.verifiedReference} is not a Tekton bundle: ${error instanceof CatalogError ? error.message : 'its manifest does not parse'}`;
      return undefined;
    }
    const client = this.clients.client(inspection.registry);
    const tasks = [];
    for (const layer of manifest.layers) {
      const kind = layer.annotations![BundleAnnotation.kind]!;
      const name = layer.annotations![BundleAnnotation.name]!;
      const label = `${kind}/${quoteUntrusted(name, 63)} in ${inspection.verifiedReference}`;
      if (kind !== 'task') {
        check.code = CatalogCheckCode.bundleContentInvalid;
        check.message = `${label}: the catalog holds only Tasks`;
        return undefined;
      }
      try {
        const resource = await readBundleResource({ from: inspection.verifiedReference, client }, name, kind);
        if (resource.layerDigest !== layer.digest) throw new CatalogError('BUNDLE_INVALID', `${label} resolves to another layer than listed`);
        tasks.push(taskImages(resource.data, label));
      } catch (error) {
        const digestMismatch = error instanceof CatalogError && (error.code === 'REGISTRY_DIGEST_MISMATCH' || error.code === 'OCI_DIGEST_MISMATCH');
        check.code = digestMismatch ? CatalogCheckCode.bundleLayerDigestMismatch : CatalogCheckCode.bundleContentInvalid;
        check.message = digestMismatch
          ? `${label}: the registry serves other content for layer ${layer.digest} than the signed manifest names`
          : `${label} cannot be read: ${error instanceof Error ? quoteUntrusted(error.message, 200) : 'unexpected error'}`;
        return undefined;
      }
    }
    return tasks;
  }

}

function summarise(attestation: VerifiedAttestation): ProvenanceSummary | undefined {
  const source = provenanceSource(attestation.predicate);
  if (source === undefined) return undefined;
  const predicate = attestation.predicate as { runDetails?: { builder?: { id?: unknown } } };
  const builderId = predicate.runDetails?.builder?.id;
  return typeof builderId === 'string' ? { ...source, builderId } : source;
}

function describeSigner(signer: VerifiedSigner): string {
  return signer.kind === 'keyless' ? `${signer.identity} (issuer ${signer.issuer})` : `public key sha256:${signer.fingerprint}`;
}

function fail(check: ArtefactCheck, failure: VerificationFailure): void {
  check.ok = false;
  check.code = failure.code;
  check.message = failure.message;
}

/** A step image's own failure becomes STEP_IMAGE_REJECTED, with the verification code as its cause. */
function stepRejected(check: ArtefactCheck): ArtefactCheck {
  check.cause = check.code;
  check.code = CatalogCheckCode.stepImageRejected;
  return check;
}

function asFailure(error: unknown): VerificationFailure {
  if (isVerificationFailure(error)) return error;
  return new VerificationFailure(VerifyErrorCode.internal, error instanceof Error ? quoteUntrusted(error.message, 200) : 'unexpected error', { cause: error });
}
