import { readFile } from 'node:fs/promises';
import { CatalogError } from '../errors.ts';
import { VerificationKey, MAX_PUBLIC_KEY_BYTES } from '../sigstore/keys/public-key.ts';
import { KeylessPolicy } from '../sigstore/policy/keyless-policy.ts';
import { publicGoodTrustedRoot } from '../sigstore/trust/public-good.ts';
import { MAX_TRUSTED_ROOT_BYTES, SigstoreTrustedRoot } from '../sigstore/trust/trusted-root.ts';
import { BundleVerifier } from '../sigstore/verify/bundle-verifier.ts';
import type { PublishedIdentity } from './published-identity.ts';

export interface IdentityVerifierInput {
  /** A PEM public key file: keyed verification. */
  publicKeyPath?: string;
  /** Keyless: the exact identity and issuer (default: the published identity). */
  identity?: string;
  issuer?: string;
  trustedRootPath?: string;
  /** Keyed only: accept signatures without a transparency-log entry. */
  requireTlog?: boolean;
}

/**
 * The verifier for "signed by the catalog's identity": a public key, or an
 * exact keyless identity and issuer (the published one unless given), over
 * a trusted root (Sigstore's public-good root unless given).
 */
export async function identityVerifier(input: IdentityVerifierInput, published: PublishedIdentity): Promise<BundleVerifier> {
  const trustedRoot = await loadTrustedRoot(input.trustedRootPath);
  if (input.publicKeyPath !== undefined) {
    if (input.identity !== undefined || input.issuer !== undefined) {
      throw new CatalogError('CONFIG_SIGNING', 'give --public-key or a keyless identity (--certificate-identity, --certificate-oidc-issuer), not both');
    }
    const key = VerificationKey.fromPem(await readBounded(input.publicKeyPath, MAX_PUBLIC_KEY_BYTES, 'public key'), input.publicKeyPath);
    return new BundleVerifier({ trustedRoot, key, requireTlog: input.requireTlog ?? true });
  }
  const keyless = await KeylessPolicy.load({ identity: input.identity ?? published.identity, issuer: input.issuer ?? published.issuer });
  return new BundleVerifier({ trustedRoot, keyless });
}

/** A trusted_root.json file, or Sigstore's public-good root embedded in the package. */
export async function loadTrustedRoot(path: string | undefined): Promise<SigstoreTrustedRoot> {
  return path === undefined ? publicGoodTrustedRoot() : SigstoreTrustedRoot.fromBytes(await readBounded(path, MAX_TRUSTED_ROOT_BYTES, 'trusted root'), path);
}

async function readBounded(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new CatalogError('CONFIG_FILE', `cannot read the ${what} at ${path}`);
  }
  if (bytes.byteLength > maxBytes) throw new CatalogError('CONFIG_FILE', `the ${what} at ${path} is larger than ${maxBytes} bytes`);
  return bytes;
}
