import { CatalogError } from '../errors.ts';

/** An OCI content digest; this catalog only produces and accepts sha256. */
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(bytes: Uint8Array | string): Digest {
  // node:crypto is read when the first digest is made, not when this module loads: step programs
  // import the digest grammar at start-up, and --help or a usage error needs no hash.
  return `sha256:${process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex')}`;
}

export function isDigest(value: string): value is Digest {
  return DIGEST.test(value);
}

export function parseDigest(value: string, field = 'digest'): Digest {
  if (!isDigest(value)) {
    throw new CatalogError('OCI_DIGEST_INVALID', `${field} is not a sha256 digest (expected sha256:<64 lowercase hex>)`);
  }
  return value;
}

export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** Throws unless bytes hash to the expected digest; used on everything read back from disk or a registry. */
export function assertDigest(bytes: Uint8Array, expected: Digest, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new CatalogError('OCI_DIGEST_MISMATCH', `${what}: content digest ${actual} does not match expected ${expected}`, {
      hint: 'the content was corrupted or tampered with; do not use it',
    });
  }
}
