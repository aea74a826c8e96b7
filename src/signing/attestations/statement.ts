import { digestHex, type Digest } from '../../oci/digest.ts';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../../sigstore/payload/in-toto.ts';

/** Predicate types this catalog signs, as cosign and admission controllers name them. */
export const PredicateType = {
  /** cosign v3's image signature: an in-toto statement with an empty predicate. */
  signature: COSIGN_SIGN_PREDICATE_TYPE,
  slsaProvenance: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
} as const;

export interface StatementSubject {
  /** registry/repository: what the digest is the content of. */
  name: string;
  digest: Digest;
}

/** An in-toto Statement v1, serialised once so the signed bytes are the stored bytes. */
export function inTotoStatement(subject: StatementSubject, predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: subject.name, digest: { sha256: digestHex(subject.digest) } }],
      predicateType,
      predicate,
    }),
  );
}
