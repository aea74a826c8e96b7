import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyFinderFunc } from '@sigstore/verify';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

export const MAX_PUBLIC_KEY_BYTES = 16 * 1024;

const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/;

/**
 * The verifier's public key for keyed (non-keyless) signatures, as cosign
 * writes it: one PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Every keyed
 * signature is checked against this one key, whatever key hint the bundle
 * carries: a hint is the signer's claim, not a trust decision.
 */
export class VerificationKey {
  readonly key: KeyObject;
  /** sha256 of the DER SubjectPublicKeyInfo, hex: how messages name the key. */
  readonly fingerprint: string;
  readonly source: string;

  private constructor(key: KeyObject, fingerprint: string, source: string) {
    this.key = key;
    this.fingerprint = fingerprint;
    this.source = source;
  }

  static fromPem(pem: string | Uint8Array, source: string): VerificationKey {
    const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
    if (Buffer.byteLength(text) > MAX_PUBLIC_KEY_BYTES) throw keyInvalid(source, `is larger than ${MAX_PUBLIC_KEY_BYTES} bytes`);
    const match = PEM_PUBLIC_KEY.exec(text.trim() + '\n');
    if (!match) throw keyInvalid(source, 'is not one PEM block "-----BEGIN PUBLIC KEY-----"');
    const der = Buffer.from(match[1]!.replace(/\s/g, ''), 'base64');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch (error) {
      throw keyInvalid(source, 'cannot be decoded as a SubjectPublicKeyInfo public key', error);
    }
    const type = key.asymmetricKeyType;
    if (type !== 'ec' && type !== 'rsa' && type !== 'ed25519') {
      throw keyInvalid(source, `has unsupported key type ${String(type)} (supported: ECDSA, RSA, Ed25519)`);
    }
    const spki = key.export({ format: 'der', type: 'spki' });
    return new VerificationKey(key, createHash('sha256').update(spki).digest('hex'), source);
  }

  /** The KeyFinderFunc @sigstore/verify calls with a bundle's key hint. */
  keyFinder(): KeyFinderFunc {
    return () => ({ publicKey: this.key, validFor: () => true });
  }
}

function keyInvalid(source: string, what: string, cause?: unknown): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.keyInvalid, `public key (${source}) ${what}`, {
    hint: 'pass the PEM public key cosign wrote (cosign.pub)',
    cause,
  });
}
