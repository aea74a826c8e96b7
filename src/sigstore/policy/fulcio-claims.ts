import type { Signer } from '@sigstore/verify';

/**
 * GitHub workflow claims as Fulcio writes them into certificate extensions.
 * The 1.3.6.1.4.1.57264.1.2-6 extensions hold the raw string; the newer
 * ones (1.12 and up) hold a DER UTF8String. cosign's
 * --certificate-github-workflow-* flags read the raw ones; where a newer
 * extension carries exactly the same claim we read it when the raw one is
 * absent.
 */
export type WorkflowClaim = 'trigger' | 'sha' | 'name' | 'repository' | 'ref';

export const WORKFLOW_CLAIMS: readonly WorkflowClaim[] = ['repository', 'ref', 'sha', 'trigger', 'name'];

const FULCIO_ARC = '1.3.6.1.4.1.57264.1';

const RAW_OID: Record<WorkflowClaim, string> = {
  trigger: `${FULCIO_ARC}.2`,
  sha: `${FULCIO_ARC}.3`,
  name: `${FULCIO_ARC}.4`,
  repository: `${FULCIO_ARC}.5`,
  ref: `${FULCIO_ARC}.6`,
};

/** Same meaning, DER-encoded: Source Repository Digest, Source Repository Ref, Build Trigger. */
const DER_OID: Partial<Record<WorkflowClaim, string>> = {
  sha: `${FULCIO_ARC}.13`,
  ref: `${FULCIO_ARC}.14`,
  trigger: `${FULCIO_ARC}.20`,
};

/** The value of a workflow claim in the signer's certificate, or undefined when the certificate has none. */
export function workflowClaim(signer: Signer, claim: WorkflowClaim): string | undefined {
  const raw = extensionValue(signer, RAW_OID[claim]);
  if (raw !== undefined) return raw.toString('utf8');
  const derOid = DER_OID[claim];
  const der = derOid === undefined ? undefined : extensionValue(signer, derOid);
  return der === undefined ? undefined : decodeUtf8String(der);
}

function extensionValue(signer: Signer, oid: string): Buffer | undefined {
  const match = signer.identity?.oids?.find((pair) => pair.oid?.id.join('.') === oid);
  return match ? Buffer.from(match.value) : undefined;
}

/** A DER UTF8String (tag 0x0c) with a short or long length; anything else is not a claim we accept. */
function decodeUtf8String(der: Buffer): string | undefined {
  if (der.length < 2 || der[0] !== 0x0c) return undefined;
  let length = der[1]!;
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2 || der.length < 2 + count) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | der[2 + i]!;
    offset = 2 + count;
  }
  if (offset + length !== der.length) return undefined;
  return der.subarray(offset).toString('utf8');
}
