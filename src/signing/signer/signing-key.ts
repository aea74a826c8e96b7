import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SigningErrorCode, signingError } from '../errors.ts';

/** A PEM key is a few hundred bytes; refuse anything that is clearly not one before reading it all. */
export const MAX_SIGNING_KEY_BYTES = 16 * 1024;

export interface SigningKey {
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo PEM, as cosign.pub holds it: what verifiers are given. */
  publicKeyPem: string;
  /** sha256 of the DER public key, hex: how verify-image names the key. */
  fingerprint: string;
  /** The bundle's key hint: base64 of that sha256 (what cosign writes). */
  hint: string;
}

/**
 * Loads the keyed signer's private key: a PEM file path, or `env://NAME` for
 * a CI secret held in an environment variable. PKCS#8 ("PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") are read; an
 * encrypted key takes its passphrase from the variable `passphraseEnv`
 * names. Errors name the source and the rule, never a byte of the key or
 * the passphrase.
 */
export async function loadSigningKey(source: string, options: { passphraseEnv?: string; env?: NodeJS.ProcessEnv } = {}): Promise<SigningKey> {
  const env = options.env ?? process.env;
  const where = source.startsWith('env://') ? `environment variable ${source.slice('env://'.length)}` : `file ${source}`;
  const pem = await readKeyText(source, where, env);
  const passphrase = options.passphraseEnv === undefined ? undefined : env[options.passphraseEnv];
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase === undefined || passphrase === '' ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
  } catch {
    // Node's message can describe the key's structure; say only what to do.
    throw signingError(
      SigningErrorCode.keyInvalid,
      `the signing key in ${where} cannot be decoded${passphrase ? ' with the given passphrase' : ''}`,
      `give an unencrypted or passphrase-encrypted PKCS#8 PEM key (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)${options.passphraseEnv ? `; the passphrase comes from $${options.passphraseEnv}` : ''}`,
    );
  }
  const type = privateKey.asymmetricKeyType;
  if (type !== 'ec' && type !== 'ed25519' && type !== 'rsa') {
    throw signingError(SigningErrorCode.keyInvalid, `the signing key in ${where} is of type ${String(type)}; use ECDSA P-256 (like cosign), Ed25519 or RSA`);
  }
  if (type === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw signingError(SigningErrorCode.keyInvalid, `the signing key in ${where} is on curve ${privateKey.asymmetricKeyDetails?.namedCurve ?? 'unknown'}; Sigstore verifiers expect ECDSA P-256`);
  }
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const digest = createHash('sha256').update(spki).digest();
  return {
    privateKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    fingerprint: digest.toString('hex'),
    hint: digest.toString('base64'),
  };
}

async function readKeyText(source: string, where: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (source.startsWith('env://')) {
    const name = source.slice('env://'.length);
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw signingError(SigningErrorCode.configInvalid, `--key env://NAME needs a variable name, got ${JSON.stringify(name.slice(0, 40))}`);
    const value = env[name];
    if (value === undefined || value === '') throw signingError(SigningErrorCode.keyInvalid, `${where} is not set or empty`, 'export the PEM signing key in it (from your CI secret store)');
    if (Buffer.byteLength(value) > MAX_SIGNING_KEY_BYTES) throw signingError(SigningErrorCode.keyInvalid, `${where} is larger than ${MAX_SIGNING_KEY_BYTES} bytes: not a PEM key`);
    return value;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch {
    throw signingError(SigningErrorCode.keyInvalid, `cannot read the signing key ${where}`, 'pass --key <file> with a readable PEM private key, or --key env://NAME');
  }
  if (bytes.byteLength > MAX_SIGNING_KEY_BYTES) throw signingError(SigningErrorCode.keyInvalid, `${where} is larger than ${MAX_SIGNING_KEY_BYTES} bytes: not a PEM key`);
  return bytes.toString('utf8');
}
