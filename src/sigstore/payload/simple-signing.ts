import { quoteUntrusted } from '../../errors.ts';
import type { Digest } from '../../oci/digest.ts';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

/** `critical.type` of a cosign image signature payload ("simple signing"). */
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const MAX_SIMPLE_SIGNING_BYTES = 64 * 1024;

/**
 * Checks a signed simple-signing payload against the image. Runs only after
 * the signature over the payload verified: the payload is then the signer's
 * statement, and it must name the digest we computed from the manifest
 * bytes ourselves, never one the registry told us.
 */
export function checkSimpleSigningPayload(payload: Uint8Array, imageDigest: Digest, source: string): void {
  if (payload.byteLength > MAX_SIMPLE_SIGNING_BYTES) {
    throw mismatch(source, `payload is larger than ${MAX_SIMPLE_SIGNING_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw mismatch(source, 'payload is not JSON');
  }
  const critical = isObject(json) ? json.critical : undefined;
  if (!isObject(critical)) throw mismatch(source, 'payload has no "critical" section');
  if (critical.type !== SIMPLE_SIGNING_TYPE) {
    throw mismatch(source, `payload critical.type is ${quoteUntrusted(String(critical.type))}, expected ${JSON.stringify(SIMPLE_SIGNING_TYPE)}`);
  }
  const image = critical.image;
  const signed = isObject(image) ? image['docker-manifest-digest'] : undefined;
  if (signed !== imageDigest) {
    throw mismatch(
      source,
      `payload signs ${typeof signed === 'string' ? quoteUntrusted(signed, 80) : 'no digest'}, but the image digest is ${imageDigest}`,
    );
  }
}

function mismatch(source: string, what: string): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.digestMismatch, `signature ${source}: ${what}`, {
    hint: 'this signature is for another image (or was swapped); it does not vouch for this one',
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
