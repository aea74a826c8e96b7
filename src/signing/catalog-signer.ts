import { json as canonicalJson } from '@sigstore/core';
import type { CatalogIndex } from '../build/catalog-index.ts';
import type { RuntimeLock } from '../build/runtime/lock.ts';
import { CatalogError, quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { sha256Digest } from '../oci/digest.ts';
import type { Descriptor } from '../oci/media-types.ts';
import { RegistryClientPool, type RegistryAccessOptions } from '../oci/registry/index.ts';
import { parseBundle } from '../sigstore/bundle/parse.ts';
import { isVerificationFailure, VerifyErrorCode } from '../sigstore/errors.ts';
import { ImageVerifier, type ImageInspection } from '../sigstore/image-verifier.ts';
import type { BundleVerifier } from '../sigstore/verify/bundle-verifier.ts';
import { attachLegacySignature, legacyAnnotations, simpleSigningPayload } from './attachment/legacy-signature.ts';
import { attachBundleReferrer } from './attachment/referrer.ts';
import type { BuildContext } from './attestations/build-context.ts';
import { StepImageInspector } from './attestations/image-contents.ts';
import { provenancePredicate, provenanceSource } from './attestations/provenance.ts';
import { stepImageSbom } from './attestations/sbom.ts';
import { PredicateType, inTotoStatement } from './attestations/statement.ts';
import { SigningErrorCode, signingError } from './errors.ts';
import { planSigning, type SignTarget } from './plan.ts';
import { bundleBytes, type SigstoreSigner } from './signer/sigstore-signer.ts';

export interface CatalogSignerOptions {
  repoRoot: string;
  index: CatalogIndex;
  runtimeLock: RuntimeLock;
  signer: SigstoreSigner;
  /**
   * Verifies signatures under the identity consumers are told to expect: it
   * decides what is already signed (idempotency), and every new signature
   * must pass it before it is attached.
   */
  verifier: BundleVerifier;
  context: BuildContext;
  /** How registries are reached: the same options as verify-image's. */
  registry?: RegistryAccessOptions;
  /** Also write cosign's legacy `sha256-<hex>.sig` signatures. */
  legacySignatures?: boolean;
  /** Attach a CycloneDX SBOM to every step image (default true). */
  sbom?: boolean;
  /** Where to write the sign record; undefined writes none. */
  recordPath?: string;
  log?: (line: string) => void;
}

export type AttachmentOutcome = 'added' | 'present';

export interface SignedArtefactRecord {
  kind: SignTarget['kind'];
  label: string;
  reference: string;
  signature: AttachmentOutcome;
  provenance: AttachmentOutcome;
  sbom?: AttachmentOutcome;
  legacySignature?: AttachmentOutcome;
  /** How the registry lists the attachments. */
  referrers: 'api' | 'tag-schema';
}

export interface SignRecord {
  schemaVersion: 1;
  signer: string;
  source: { repository: string; commit: string };
  artefacts: SignedArtefactRecord[];
  totals: { artefacts: number; added: number; present: number };
}

/**
 * Signs and attests exactly what catalog/index.json records, after publish:
 * every step image index and platform manifest, every Task bundle, every
 * catalog bundle. Each gets a cosign v3 signature and a SLSA provenance
 * (plus a CycloneDX SBOM for step images, and on request a legacy `.sig`),
 * attached as OCI 1.1 referrers. Idempotent: before signing, the artefact's
 * existing signatures are verified under our identity, and what is already
 * there (the signature; a provenance naming the same commit; the same SBOM)
 * is not added again.
 */
export class CatalogSigner {
  private readonly options: CatalogSignerOptions;
  private readonly inspector: ImageVerifier;
  private readonly clients: RegistryClientPool;
  private readonly images: StepImageInspector;

  constructor(options: CatalogSignerOptions) {
    this.options = options;
    // One client per registry for reading what is attached and for pushing: one set of connections and tokens.
    this.clients = new RegistryClientPool(options.registry ?? {});
    this.inspector = new ImageVerifier({ verifier: options.verifier, clients: this.clients });
    this.images = new StepImageInspector(options.repoRoot, options.runtimeLock);
  }

  async sign(): Promise<SignRecord> {
    const log = this.options.log ?? (() => {});
    const targets = planSigning(this.options.index);
    const record: SignRecord = {
      schemaVersion: 1,
      signer: this.options.signer.describe(),
      source: { repository: this.options.context.sourceRepository, commit: this.options.context.sourceCommit },
      artefacts: [],
      totals: { artefacts: 0, added: 0, present: 0 },
    };
    try {
      for (const target of targets) {
        const signed = await this.signTarget(target);
        record.artefacts.push(signed);
        log(progressLine(signed));
      }
    } finally {
      await this.close();
    }
    for (const artefact of record.artefacts) {
      for (const outcome of [artefact.signature, artefact.provenance, artefact.sbom, artefact.legacySignature]) {
        if (outcome === 'added') record.totals.added++;
        if (outcome === 'present') record.totals.present++;
      }
    }
    record.totals.artefacts = record.artefacts.length;
    if (this.options.recordPath !== undefined) await writeFileAtomic(this.options.recordPath, `${JSON.stringify(record, null, 2)}\n`);
    return record;
  }

  private async close(): Promise<void> {
    await this.inspector.close();
    await this.clients.close();
  }

  private async signTarget(target: SignTarget): Promise<SignedArtefactRecord> {
    const inspection = await this.inspect(target);
    const client = this.clients.client(target.registry);
    const subject: Descriptor = { mediaType: inspection.mediaType, digest: target.digest, size: inspection.manifest.byteLength };
    const name = `${target.registry}/${target.repository}`;
    const { context } = this.options;
    const out: SignedArtefactRecord = {
      kind: target.kind,
      label: target.label,
      reference: target.reference,
      signature: 'present',
      provenance: 'present',
      referrers: inspection.referrersSource,
    };
    const attach = async (predicateType: string, predicate: unknown): Promise<void> => {
      const statement = inTotoStatement({ name, digest: target.digest }, predicateType, predicate);
      const bundle = bundleBytes(await this.options.signer.signStatement(statement));
      this.selfCheck(bundle, inspection.manifest, target);
      out.referrers = (await attachBundleReferrer(client, target.repository, subject, bundle, predicateType)).listedBy;
    };

    if (!inspection.signatures.some((signature) => signature.format === 'bundle')) {
      await attach(PredicateType.signature, {});
      out.signature = 'added';
    }
    const hasProvenance = inspection.attestations.some((attestation) => {
      if (attestation.predicateType !== PredicateType.slsaProvenance) return false;
      const source = provenanceSource(attestation.predicate);
      return source?.commit === context.sourceCommit && source.repository === context.sourceRepository;
    });
    if (!hasProvenance) {
      await attach(PredicateType.slsaProvenance, provenancePredicate(context, { label: target.label }));
      out.provenance = 'added';
    }
    if ((target.kind === 'step-image' || target.kind === 'step-image-platform') && this.options.sbom !== false) {
      const contents = await this.images.contents(client, target.repository, target.program!, target.digest, inspection.mediaType, inspection.manifest);
      const sbom = stepImageSbom(contents);
      const digest = sha256Digest(canonicalJson.canonicalize(sbom));
      const present = inspection.attestations.some((attestation) => attestation.predicateType === PredicateType.cyclonedx && attestation.predicateDigest === digest);
      out.sbom = present ? 'present' : 'added';
      if (!present) await attach(PredicateType.cyclonedx, sbom);
    }
    if (this.options.legacySignatures) {
      if (inspection.signatures.some((signature) => signature.format === 'legacy')) out.legacySignature = 'present';
      else {
        const payload = simpleSigningPayload(name, target.digest);
        const signed = await this.options.signer.signPayload(payload);
        await attachLegacySignature(client, target.repository, target.digest, payload, legacyAnnotations(signed));
        out.legacySignature = 'added';
      }
    }
    return out;
  }

  private async inspect(target: SignTarget): Promise<ImageInspection> {
    try {
      return await this.inspector.inspect(target.reference);
    } catch (error) {
      if (isVerificationFailure(error) && error.code === VerifyErrorCode.imageNotFound) {
        throw signingError(SigningErrorCode.artefactMissing, `${target.label}: the registry has no ${target.reference}`, 'publish the catalog first (npm run publish), then sign');
      }
      throw error;
    }
  }

  /** Never publish a signature consumers would reject: it must verify under the expected identity, over this artefact. */
  private selfCheck(bundle: Buffer, manifest: Buffer, target: SignTarget): void {
    try {
      this.options.verifier.verify(parseBundle(bundle, 'new signature'), manifest, `new signature for ${target.reference}`);
    } catch (error) {
      const detail = error instanceof CatalogError ? `[${error.code}] ${error.message}` : quoteUntrusted(String(error), 200);
      throw signingError(
        SigningErrorCode.selfCheckFailed,
        `${target.label}: the new signature does not verify under the identity consumers expect, so it was not attached: ${detail}`,
        'sign from the release workflow the published identity names, or pass the identity you sign as with --certificate-identity/--certificate-oidc-issuer',
      );
    }
  }

}

export function progressLine(artefact: SignedArtefactRecord): string {
  const parts = [`signature ${artefact.signature}`, `provenance ${artefact.provenance}`];
  if (artefact.sbom !== undefined) parts.push(`sbom ${artefact.sbom}`);
  if (artefact.legacySignature !== undefined) parts.push(`.sig ${artefact.legacySignature}`);
  return `${artefact.label}: ${parts.join(', ')} (${artefact.reference}, referrers via ${artefact.referrers})`;
}

export function renderSignSummary(record: SignRecord): string {
  return `signed ${record.totals.artefacts} artefact(s) as ${record.signer} from ${record.source.repository}@${record.source.commit}: ${record.totals.added} attachment(s) added, ${record.totals.present} already present`;
}
