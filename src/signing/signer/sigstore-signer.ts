import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import {
  CIContextProvider,
  DSSEBundleBuilder,
  FulcioSigner,
  InternalError,
  MessageSignatureBundleBuilder,
  RekorWitness,
  type IdentityProvider,
  type Signature,
  type Signer,
  type Witness,
} from '@sigstore/sign';
import { sign as cryptoSign } from 'node:crypto';
import { CatalogError } from '../../errors.ts';
import { isLoopbackHost } from '../../oci/registry/index.ts';
import { IN_TOTO_PAYLOAD_TYPE } from '../../sigstore/payload/in-toto.ts';
import { SigningErrorCode, signingError } from '../errors.ts';
import type { SigningKey } from './signing-key.ts';

export type SignerMode = 'keyless' | 'key';

export interface SignerConfig {
  mode: SignerMode;
  /** The keyed signer's key (mode "key"). */
  key?: SigningKey;
  /**
   * Where keyless signing gets its OIDC token. Default: the ambient CI
   * identity (GitHub Actions' ID token endpoint, Buildkite, or
   * $SIGSTORE_ID_TOKEN), with audience "sigstore".
   */
  identityProvider?: IdentityProvider;
  fulcioUrl: string;
  rekorUrl: string;
  /** Log every signature in the transparency log. Always on for keyless. */
  tlog: boolean;
  timeoutMs?: number;
}

/** A signature as a Sigstore bundle, plus what cosign's legacy `.sig` annotations need. */
export interface SignedPayload {
  bundle: Bundle;
  signature: Buffer;
  /** Keyless: the signing certificate, PEM. */
  certificatePem?: string;
}

/**
 * Signs with @sigstore/sign: a key or a Fulcio certificate for the ambient
 * OIDC identity, witnessed by Rekor. In-toto statements are signed as DSSE
 * envelopes (cosign v3 signatures and attestations); raw payloads as message
 * signatures (cosign's legacy simple-signing `.sig` layers). Library errors
 * become CatalogErrors whose messages carry only an HTTP status: a
 * library's own message can hold the identity token.
 */
export class SigstoreSigner {
  readonly mode: SignerMode;
  private readonly dsse: DSSEBundleBuilder;
  private readonly message: MessageSignatureBundleBuilder;
  private readonly config: SignerConfig;

  constructor(config: SignerConfig) {
    if (config.mode === 'key' && config.key === undefined) throw signingError(SigningErrorCode.configInvalid, 'keyed signing needs --key');
    if (config.mode === 'keyless' && config.key !== undefined) throw signingError(SigningErrorCode.configInvalid, 'choose keyless signing or --key, not both');
    if (config.mode === 'keyless' && !config.tlog) {
      throw signingError(SigningErrorCode.configInvalid, 'keyless signatures must be logged: a certificate lives ten minutes, the log entry proves it was valid at signing time');
    }
    checkServiceUrl(config.rekorUrl, '--rekor-url');
    if (config.mode === 'keyless') checkServiceUrl(config.fulcioUrl, '--fulcio-url');
    this.config = config;
    this.mode = config.mode;
    const signer: Signer =
      config.mode === 'key'
        ? new KeySigner(config.key!)
        : new FulcioSigner({
            identityProvider: config.identityProvider ?? new CIContextProvider('sigstore'),
            fulcioBaseURL: config.fulcioUrl,
            timeout: config.timeoutMs ?? 30_000,
            retry: 2,
          });
    const witnesses: Witness[] = config.tlog ? [new RekorWitness({ rekorBaseURL: config.rekorUrl, timeout: config.timeoutMs ?? 30_000, retry: 2, fetchOnConflict: true })] : [];
    this.dsse = new DSSEBundleBuilder({ signer, witnesses });
    this.message = new MessageSignatureBundleBuilder({ signer, witnesses });
  }

  /** "keyless (Fulcio https://…)" or "key sha256:<fingerprint>", for logs. */
  describe(): string {
    return this.mode === 'key' ? `key sha256:${this.config.key!.fingerprint}` : `keyless (Fulcio ${this.config.fulcioUrl}, Rekor ${this.config.rekorUrl})`;
  }

  /** A DSSE bundle (v0.3) over an in-toto statement. */
  async signStatement(statement: Buffer): Promise<Bundle> {
    return this.run(() => this.dsse.create({ data: statement, type: IN_TOTO_PAYLOAD_TYPE }));
  }

  /** A message-signature bundle over a payload, with the raw signature and certificate for legacy annotations. */
  async signPayload(payload: Buffer): Promise<SignedPayload> {
    const bundle = await this.run(() => this.message.create({ data: payload }));
    if (bundle.content.$case !== 'messageSignature') throw signingError(SigningErrorCode.configInvalid, 'the signer returned no message signature');
    const result: SignedPayload = { bundle, signature: Buffer.from(bundle.content.messageSignature.signature) };
    const material = bundle.verificationMaterial.content;
    const der = material.$case === 'certificate' ? material.certificate.rawBytes : material.$case === 'x509CertificateChain' ? material.x509CertificateChain.certificates[0]?.rawBytes : undefined;
    if (der !== undefined) result.certificatePem = pem('CERTIFICATE', Buffer.from(der));
    return result;
  }

  private async run(create: () => Promise<Bundle>): Promise<Bundle> {
    try {
      return await create();
    } catch (error) {
      throw explain(error, this.config);
    }
  }
}

/** The bundle as JSON bytes, the form stored in registries. */
export function bundleBytes(bundle: Bundle): Buffer {
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}

/** Signs with a PEM key; the bundle carries the key hint, verifiers bring the public key. */
class KeySigner implements Signer {
  private readonly key: SigningKey;

  constructor(key: SigningKey) {
    this.key = key;
  }

  async sign(data: Buffer): Promise<Signature> {
    const algorithm = this.key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    return { signature: cryptoSign(algorithm, data, this.key.privateKey), key: { $case: 'publicKey', publicKey: this.key.publicKeyPem, hint: this.key.hint } };
  }
}

function checkServiceUrl(value: string, flag: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw signingError(SigningErrorCode.configInvalid, `${flag} ${JSON.stringify(value.slice(0, 120))} is not a URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.host)) return;
  throw signingError(SigningErrorCode.configInvalid, `${flag} must be https (plain http only for a loopback test instance)`);
}

function explain(error: unknown, config: SignerConfig): CatalogError {
  if (error instanceof CatalogError) return error;
  const status = httpStatus(error);
  const suffix = status === undefined ? '' : ` (HTTP ${status})`;
  if (error instanceof InternalError) {
    switch (error.code) {
      case 'IDENTITY_TOKEN_READ_ERROR':
        return signingError(
          SigningErrorCode.identityUnavailable,
          'keyless signing found no ambient OIDC identity token',
          'run in GitHub Actions with `permissions: id-token: write`, or set $SIGSTORE_ID_TOKEN, or sign with --key',
        );
      case 'IDENTITY_TOKEN_PARSE_ERROR':
        return signingError(SigningErrorCode.identityUnavailable, 'the ambient OIDC identity token is not a JWT with a subject', 'check the CI identity provider; the token is not shown');
      case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
        return signingError(SigningErrorCode.certificateFailed, `the certificate authority ${config.fulcioUrl} did not issue a signing certificate${suffix}`, 'check --fulcio-url and that the token audience is "sigstore"');
      case 'TLOG_CREATE_ENTRY_ERROR':
      case 'TLOG_FETCH_ENTRY_ERROR':
        return signingError(SigningErrorCode.tlogFailed, `the transparency log ${config.rekorUrl} did not log the signature${suffix}`, 'check --rekor-url and that the log is up');
      default:
        break;
    }
  }
  return signingError(SigningErrorCode.certificateFailed, `signing failed${suffix}`);
}

function httpStatus(error: unknown): number | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const status = (current as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

function pem(label: string, der: Buffer): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
