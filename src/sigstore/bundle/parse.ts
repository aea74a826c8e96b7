import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  ValidationError,
  assertBundleLatest,
  assertBundleV01,
  assertBundleV02,
  bundleFromJSON,
  type Bundle,
} from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { quoteUntrusted } from '../../errors.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

/** Real bundles are a few KiB; a cap keeps a hostile registry from making us parse megabytes. */
export const MAX_BUNDLE_BYTES = 512 * 1024;

export type BundleVersion = '0.1' | '0.2' | '0.3';

const VERSION_OF_MEDIA_TYPE: ReadonlyMap<string, BundleVersion> = new Map([
  [BUNDLE_V01_MEDIA_TYPE, '0.1'],
  [BUNDLE_V02_MEDIA_TYPE, '0.2'],
  [BUNDLE_V03_LEGACY_MEDIA_TYPE, '0.3'],
  [BUNDLE_V03_MEDIA_TYPE, '0.3'],
]);

export interface ParsedBundle {
  bundle: Bundle;
  version: BundleVersion;
}

/**
 * Parses a Sigstore bundle (v0.1 to v0.3) and checks everything the
 * verifier would otherwise trip over or read leniently: strict base64,
 * non-negative log indexes, the fields each version requires, and no root
 * certificate inside the bundle's chain (a bundle must never carry its own
 * trust anchor).
 */
export function parseBundle(input: Uint8Array | string, source: string): ParsedBundle {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (Buffer.byteLength(text, 'utf8') > MAX_BUNDLE_BYTES) {
    throw bundleInvalid(source, `is larger than ${MAX_BUNDLE_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bundleInvalid(source, 'is not valid JSON');
  }
  return parseBundleJson(json, source);
}

export function parseBundleJson(json: unknown, source: string): ParsedBundle {
  if (!isObject(json)) throw bundleInvalid(source, 'is not a JSON object');
  const mediaType = json.mediaType;
  const version = typeof mediaType === 'string' ? VERSION_OF_MEDIA_TYPE.get(mediaType) : undefined;
  if (version === undefined) {
    throw bundleInvalid(
      source,
      `has unsupported mediaType ${quoteUntrusted(String(mediaType))}; supported: bundle versions 0.1, 0.2 and 0.3`,
    );
  }
  const fieldProblems = checkEncodings(json);
  if (fieldProblems.length > 0) throw bundleInvalid(source, `has malformed fields: ${listSome(fieldProblems)}`);

  let bundle: Bundle;
  try {
    // bundleFromJSON also applies the checks of the bundle's version.
    bundle = bundleFromJSON(json);
    if (version === '0.1') assertBundleV01(bundle);
    else if (version === '0.2') assertBundleV02(bundle);
    else assertBundleLatest(bundle);
  } catch (error) {
    throw structureFailure(error, source, version);
  }
  checkCertificates(bundle, source);
  return { bundle, version };
}

function checkCertificates(bundle: Bundle, source: string): void {
  const material = bundle.verificationMaterial.content;
  const raw =
    material.$case === 'x509CertificateChain'
      ? material.x509CertificateChain.certificates.map((cert) => cert.rawBytes)
      : material.$case === 'certificate'
        ? [material.certificate.rawBytes]
        : [];
  raw.forEach((bytes, i) => {
    let cert: X509Certificate;
    try {
      cert = X509Certificate.parse(Buffer.from(bytes));
    } catch (error) {
      throw bundleInvalid(source, `certificate ${i} is not a DER X.509 certificate`, error);
    }
    if (isSelfSigned(cert)) {
      throw bundleInvalid(
        source,
        `certificate ${i} is a self-signed root; a bundle must not carry its own trust anchor`,
      );
    }
  });
}

function isSelfSigned(cert: X509Certificate): boolean {
  if (!cert.subject.equals(cert.issuer)) return false;
  try {
    return cert.verify();
  } catch {
    return false;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*={0,2})$/;
const UNSIGNED_INTEGER = /^(0|[1-9]\d{0,18})$/;

/** Protobuf JSON decoding accepts garbage base64 silently; we do not. */
function checkEncodings(json: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const base64 = (value: unknown, path: string, required = true) => {
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || !BASE64.test(value) || value.replace(/=+$/, '').length % 4 === 1) {
      problems.push(`${path} (not base64)`);
    }
  };
  const unsigned = (value: unknown, path: string, required: boolean) => {
    if (value === undefined && !required) return;
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || !UNSIGNED_INTEGER.test(text)) problems.push(`${path} (not a non-negative integer)`);
  };
  const message = json.messageSignature;
  if (isObject(message)) {
    base64(message.signature, 'messageSignature.signature');
    if (isObject(message.messageDigest)) base64(message.messageDigest.digest, 'messageSignature.messageDigest.digest');
  }
  const envelope = json.dsseEnvelope;
  if (isObject(envelope)) {
    base64(envelope.payload, 'dsseEnvelope.payload');
    if (Array.isArray(envelope.signatures)) {
      envelope.signatures.forEach((sig, i) => base64(isObject(sig) ? sig.sig : undefined, `dsseEnvelope.signatures[${i}].sig`));
    }
  }
  const material = json.verificationMaterial;
  if (!isObject(material)) return problems;
  if (isObject(material.certificate)) base64(material.certificate.rawBytes, 'verificationMaterial.certificate.rawBytes');
  if (isObject(material.x509CertificateChain) && Array.isArray(material.x509CertificateChain.certificates)) {
    material.x509CertificateChain.certificates.forEach((cert, i) =>
      base64(isObject(cert) ? cert.rawBytes : undefined, `verificationMaterial.x509CertificateChain.certificates[${i}].rawBytes`),
    );
  }
  if (Array.isArray(material.tlogEntries)) {
    material.tlogEntries.forEach((entry, i) => {
      const path = `verificationMaterial.tlogEntries[${i}]`;
      if (!isObject(entry)) {
        problems.push(`${path} (not an object)`);
        return;
      }
      // Proto3 JSON omits zero values: log index 0 (a log's or shard's first entry) is written as no field.
      unsigned(entry.logIndex, `${path}.logIndex`, false);
      unsigned(entry.integratedTime, `${path}.integratedTime`, false);
      base64(entry.canonicalizedBody, `${path}.canonicalizedBody`);
      if (isObject(entry.logId)) base64(entry.logId.keyId, `${path}.logId.keyId`);
      if (isObject(entry.inclusionPromise)) base64(entry.inclusionPromise.signedEntryTimestamp, `${path}.inclusionPromise.signedEntryTimestamp`);
      if (isObject(entry.inclusionProof)) {
        unsigned(entry.inclusionProof.logIndex, `${path}.inclusionProof.logIndex`, false);
        unsigned(entry.inclusionProof.treeSize, `${path}.inclusionProof.treeSize`, true);
        base64(entry.inclusionProof.rootHash, `${path}.inclusionProof.rootHash`);
      }
    });
  }
  return problems;
}

function structureFailure(error: unknown, source: string, version: BundleVersion): VerificationFailure {
  const fields = error instanceof ValidationError ? error.fields : [];
  // Missing inclusion evidence is a transparency-log failure, not a syntax one.
  if (fields.length > 0 && fields.every((field) => field.startsWith('verificationMaterial.tlogEntries'))) {
    return new VerificationFailure(
      VerifyErrorCode.tlogInvalid,
      `bundle ${source} (v${version}) lacks the transparency-log evidence its version requires: ${listSome(fields)}`,
      { cause: error },
    );
  }
  return bundleInvalid(source, `is not a valid v${version} bundle: ${listSome(fields) || 'undecodable'}`, error);
}

/** A bundle can hold thousands of bad entries; the message names the first few and counts the rest. */
function listSome(items: readonly string[], shown = 5): string {
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}

function bundleInvalid(source: string, what: string, cause?: unknown): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.bundleInvalid, `bundle ${source} ${what}`, {
    hint: 'the signature is malformed or was produced by an unsupported tool; re-sign the image',
    cause,
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
