import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import { sha256Digest } from '../../oci/digest.ts';
import { parseBundleJson, type ParsedBundle } from '../bundle/parse.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

/** Annotations cosign writes on each layer of a legacy `sha256-<hex>.sig` manifest. */
export const LegacyAnnotation = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
  rfc3161Timestamp: 'dev.sigstore.cosign/rfc3161timestamp',
} as const;

export const MAX_ANNOTATION_CHARS = 64 * 1024;

export interface LegacySignatureLayer {
  /** The simple-signing payload: the layer blob, already checked against its digest. */
  payload: Uint8Array;
  annotations: Record<string, string>;
  /** Where the layer came from, for messages. */
  source: string;
}

/**
 * Converts one legacy cosign signature layer into a Sigstore bundle (v0.1,
 * the version whose tlog entries carry a signed entry timestamp): a message
 * signature over the payload, the signing certificate (or a key hint), and
 * a tlog entry rebuilt from the Rekor SET annotation. The `chain` annotation
 * is deliberately dropped: the CA chain comes from the trusted root, never
 * from the registry.
 */
export function legacyToBundle(layer: LegacySignatureLayer): ParsedBundle {
  const { annotations, source } = layer;
  const signature = annotation(annotations, LegacyAnnotation.signature, source);
  if (signature === undefined) {
    throw invalid(source, `has no ${LegacyAnnotation.signature} annotation`);
  }
  const certificatePem = annotation(annotations, LegacyAnnotation.certificate, source);
  const setJson = annotation(annotations, LegacyAnnotation.bundle, source);
  const timestampJson = annotation(annotations, LegacyAnnotation.rfc3161Timestamp, source);

  const verificationMaterial: Record<string, unknown> = {
    tlogEntries: setJson === undefined ? [] : [tlogEntryFromSet(setJson, source)],
  };
  if (certificatePem !== undefined && certificatePem.trim() !== '') {
    verificationMaterial.x509CertificateChain = { certificates: [{ rawBytes: leafFromPem(certificatePem, source) }] };
  } else {
    verificationMaterial.publicKey = { hint: '' };
  }
  if (timestampJson !== undefined) {
    verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: timestampFromJson(timestampJson, source) }] };
  }
  const bundle = {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial,
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: Buffer.from(sha256Digest(layer.payload).slice(7), 'hex').toString('base64') },
      signature,
    },
  };
  return parseBundleJson(bundle, source);
}

function annotation(annotations: Record<string, string>, key: string, source: string): string | undefined {
  const value = annotations[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_ANNOTATION_CHARS) {
    throw invalid(source, `annotation ${key} is not a string of at most ${MAX_ANNOTATION_CHARS} characters`);
  }
  return value;
}

/**
 * cosign's bundle annotation: {"SignedEntryTimestamp": base64, "Payload":
 * {"body": base64, "integratedTime": n, "logIndex": n, "logID": hex}}.
 */
function tlogEntryFromSet(text: string, source: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} is not JSON`);
  }
  const set = isObject(json) ? json.SignedEntryTimestamp : undefined;
  const payload = isObject(json) ? json.Payload : undefined;
  if (typeof set !== 'string' || !isObject(payload)) {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} lacks SignedEntryTimestamp or Payload`);
  }
  const { body, integratedTime, logIndex, logID } = payload;
  if (typeof body !== 'string' || typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID)) {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} has a malformed Payload (body, logID)`);
  }
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex) || (integratedTime as number) < 0 || (logIndex as number) < 0) {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} has a malformed integratedTime or logIndex`);
  }
  let kind: unknown;
  let version: unknown;
  try {
    const decoded = JSON.parse(Buffer.from(body, 'base64').toString('utf8')) as Record<string, unknown>;
    kind = decoded.kind;
    version = decoded.apiVersion;
  } catch {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} has a body that is not base64 JSON`);
  }
  if (typeof kind !== 'string' || typeof version !== 'string') {
    throw invalid(source, `annotation ${LegacyAnnotation.bundle} has a body without kind and apiVersion`);
  }
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex').toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    canonicalizedBody: body,
  };
}

function timestampFromJson(text: string, source: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(source, `annotation ${LegacyAnnotation.rfc3161Timestamp} is not JSON`);
  }
  const value = isObject(json) ? json.SignedRFC3161Timestamp : undefined;
  if (typeof value !== 'string' || value === '') {
    throw invalid(source, `annotation ${LegacyAnnotation.rfc3161Timestamp} lacks SignedRFC3161Timestamp`);
  }
  return value;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

function leafFromPem(pem: string, source: string): string {
  const blocks = [...pem.matchAll(PEM_CERTIFICATE)];
  if (blocks.length !== 1) {
    throw invalid(source, `annotation ${LegacyAnnotation.certificate} must hold exactly one PEM certificate, found ${blocks.length}`);
  }
  return blocks[0]![1]!.replace(/\s/g, '');
}

function invalid(source: string, what: string): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.bundleInvalid, `legacy signature ${source} ${what}`, {
    hint: 'the .sig manifest is malformed or was not written by cosign; re-sign the image',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
