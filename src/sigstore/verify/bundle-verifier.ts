import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import {
  PolicyError,
  VerificationError,
  Verifier,
  toSignedEntity,
  type SignedEntity,
  type Signer,
  type TrustMaterial,
} from '@sigstore/verify';
import { quoteUntrusted } from '../../errors.ts';
import { sha256Digest } from '../../oci/digest.ts';
import type { ParsedBundle } from '../bundle/parse.ts';
import { VerificationFailure, VerifyErrorCode, isVerificationFailure, type VerifyErrorCodeValue } from '../errors.ts';
import type { VerificationKey } from '../keys/public-key.ts';
import { assertSubject, parseInTotoStatement, type InTotoStatement } from '../payload/in-toto.ts';
import type { KeylessPolicy } from '../policy/keyless-policy.ts';
import type { SigstoreTrustedRoot } from '../trust/trusted-root.ts';

export interface BundleVerifierOptions {
  trustedRoot: SigstoreTrustedRoot;
  /** Keyless policy (certificate identity and issuer). Exactly one of keyless and key. */
  keyless?: KeylessPolicy;
  /** Public key for keyed signatures. */
  key?: VerificationKey;
  /**
   * Require at least one verified transparency-log entry. On by default;
   * turning it off is meant for keyed signatures made without a log.
   */
  requireTlog?: boolean;
}

export type VerifiedSigner =
  | { kind: 'keyless'; identity: string; issuer: string }
  | { kind: 'key'; fingerprint: string };

export interface VerifiedBundle {
  signer: VerifiedSigner;
  /** The signed in-toto statement, for a DSSE bundle; its subjects include the artifact. */
  statement?: InTotoStatement;
  /** Log index of the first transparency-log entry, when there is one. */
  tlogIndex?: string;
}

/**
 * Verifies one Sigstore bundle over one artifact with @sigstore/verify and
 * closes the gaps the library leaves to its caller: exact identities,
 * anchored regexps, the issuer and workflow claims on the returned signer,
 * a transparency-log requirement stated up front, the message digest
 * against the artifact, and the DSSE statement's subject against the
 * artifact's digest. Every failure is a VerificationFailure with a code.
 */
export class BundleVerifier {
  private readonly options: BundleVerifierOptions;
  private readonly requireTlog: boolean;
  private readonly trustMaterial: TrustMaterial;

  constructor(options: BundleVerifierOptions) {
    if ((options.keyless === undefined) === (options.key === undefined)) {
      throw new VerificationFailure(
        VerifyErrorCode.policyInvalid,
        'configure exactly one of a keyless policy (certificate identity and issuer) and a public key',
      );
    }
    this.options = options;
    this.requireTlog = options.requireTlog ?? true;
    if (options.keyless && !this.requireTlog) {
      throw new VerificationFailure(
        VerifyErrorCode.policyInvalid,
        'require-tlog can only be turned off for keyed signatures; keyless certificates live minutes and need the log',
      );
    }
    this.trustMaterial = options.trustedRoot.trustMaterial(options.key?.keyFinder());
  }

  /** Verifies `parsed` as a signature over `artifact` (the bytes a message signature signs, or a DSSE subject). */
  verify(parsed: ParsedBundle, artifact: Uint8Array, source: string): VerifiedBundle {
    const { bundle } = parsed;
    this.checkKeyMaterial(bundle, source);
    const tlogEntries = bundle.verificationMaterial.tlogEntries;
    if (this.requireTlog && tlogEntries.length === 0) {
      throw new VerificationFailure(VerifyErrorCode.tlogRequired, `signature ${source} has no transparency-log entry and the policy requires one`, {
        hint: 'sign with the transparency log enabled, or (keyed signatures only) accept signatures without a log: verify-image param require-tlog "false", cosign --insecure-ignore-tlog',
      });
    }
    const artifactDigest = sha256Digest(artifact);
    if (bundle.content.$case === 'messageSignature') checkMessageDigest(bundle, artifact, source);

    let entity: SignedEntity;
    try {
      entity = toSignedEntity(bundle, Buffer.from(artifact));
    } catch (error) {
      throw fail(VerifyErrorCode.bundleInvalid, `signature ${source} could not be read`, error);
    }
    const signer = this.runLibrary(entity, bundle, source);

    const result: VerifiedBundle = { signer: this.checkSigner(signer) };
    if (tlogEntries[0]) result.tlogIndex = tlogEntries[0].logIndex;
    if (bundle.content.$case === 'dsseEnvelope') {
      const envelope = bundle.content.dsseEnvelope;
      result.statement = parseInTotoStatement(envelope.payloadType, envelope.payload, source);
      assertSubject(result.statement, artifactDigest, source);
    }
    return result;
  }

  private checkKeyMaterial(bundle: Bundle, source: string): void {
    const material = bundle.verificationMaterial.content.$case;
    if (material === 'publicKey' && !this.options.key) {
      throw new VerificationFailure(VerifyErrorCode.keyRequired, `signature ${source} was made with a key, and no public key is configured`, {
        hint: 'pass the signer\'s public key through the public-key workspace',
      });
    }
    if (material !== 'publicKey' && this.options.key) {
      throw new VerificationFailure(
        VerifyErrorCode.identityMismatch,
        `signature ${source} is keyless (certificate); expected a signature by public key sha256:${this.options.key.fingerprint}`,
      );
    }
  }

  private runLibrary(entity: SignedEntity, bundle: Bundle, source: string): Signer {
    const keyless = this.options.keyless !== undefined;
    const verifier = new Verifier(this.trustMaterial, {
      tlogThreshold: this.requireTlog ? 1 : 0,
      ctlogThreshold: keyless ? 1 : 0,
      // A certificate is only checked at a verified time; a key has no lifetime.
      timestampThreshold: keyless || this.requireTlog ? 1 : 0,
    });
    const policy = this.options.keyless ? { subjectAlternativeName: this.options.keyless.subjectAlternativeName } : undefined;
    try {
      return verifier.verify(entity, policy);
    } catch (error) {
      throw this.explain(error, entity, bundle, source);
    }
  }

  private checkSigner(signer: Signer): VerifiedSigner {
    if (this.options.keyless) {
      const { identity, issuer } = this.options.keyless.check(signer);
      return { kind: 'keyless', identity, issuer };
    }
    return { kind: 'key', fingerprint: this.options.key!.fingerprint };
  }

  /** Turns a library error into a VerificationFailure with the code of what actually went wrong. */
  private explain(error: unknown, entity: SignedEntity, bundle: Bundle, source: string): VerificationFailure {
    if (isVerificationFailure(error)) return error;
    if (error instanceof PolicyError) {
      if (this.options.keyless) {
        try {
          // Our own check names expected and found, escaped.
          this.options.keyless.check(signerFromBundle(bundle));
        } catch (detailed) {
          if (isVerificationFailure(detailed)) return detailed;
        }
      }
      return fail(VerifyErrorCode.identityMismatch, `signature ${source}: the signer does not match the policy`, error);
    }
    if (!(error instanceof VerificationError)) {
      return fail(VerifyErrorCode.internal, `signature ${source} could not be verified`, error);
    }
    const cause = error.cause instanceof Error ? error.cause.message : '';
    switch (error.code) {
      case 'SIGNATURE_ERROR':
        return fail(VerifyErrorCode.signatureInvalid, `signature ${source} does not verify under its ${this.keyName()}`, error);
      case 'TIMESTAMP_ERROR':
        return fail(VerifyErrorCode.timestampInvalid, `signature ${source}: no trusted timestamp covers the signature`, error);
      case 'CERTIFICATE_ERROR':
        if (/SCT/.test(error.message)) return fail(VerifyErrorCode.sctInvalid, `signature ${source}: the certificate's SCT does not verify against a trusted CT log`, error);
        if (/expired|not valid/.test(cause)) {
          return fail(VerifyErrorCode.certificateExpired, `signature ${source}: the certificate was not valid when the signature was logged`, error);
        }
        return fail(VerifyErrorCode.untrustedRoot, `signature ${source}: the certificate does not chain to a CA of the trusted root (valid at signing time)`, error);
      case 'PUBLIC_KEY_ERROR':
        return fail(VerifyErrorCode.signatureInvalid, `signature ${source}: the public key is not valid for it`, error);
      case 'TLOG_ERROR':
        if (/expected \d+ tlog entries/.test(error.message)) {
          return fail(VerifyErrorCode.tlogRequired, `signature ${source} has no transparency-log entry and the policy requires one`, error);
        }
        return fail(VerifyErrorCode.tlogInvalid, `signature ${source}: its transparency-log entries are invalid`, error);
      case 'TLOG_BODY_ERROR':
        // The log entry disagrees with the bundle: say whether the signature itself is bad.
        if (!this.signatureVerifies(entity, bundle)) {
          return fail(VerifyErrorCode.signatureInvalid, `signature ${source} does not verify under its ${this.keyName()}`, error);
        }
        return fail(VerifyErrorCode.tlogInvalid, `signature ${source}: the transparency-log entry is for other content or another signature`, error);
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return fail(VerifyErrorCode.tlogInvalid, `signature ${source}: transparency-log inclusion could not be verified against the trusted root`, error);
      default:
        return fail(VerifyErrorCode.internal, `signature ${source} could not be verified`, error);
    }
  }

  private keyName(): string {
    return this.options.key ? `public key sha256:${this.options.key.fingerprint}` : 'certificate';
  }

  private signatureVerifies(entity: SignedEntity, bundle: Bundle): boolean {
    try {
      const key: KeyObject = this.options.key ? this.options.key.key : derPublicKey(leafCertificate(bundle).publicKey);
      return entity.signature.verifySignature(key);
    } catch {
      return false;
    }
  }
}

function checkMessageDigest(bundle: Bundle, artifact: Uint8Array, source: string): void {
  if (bundle.content.$case !== 'messageSignature') return;
  const { messageDigest } = bundle.content.messageSignature;
  const algorithm = messageDigest?.algorithm;
  const name =
    algorithm === HashAlgorithm.SHA2_256 ? 'sha256' : algorithm === HashAlgorithm.SHA2_384 ? 'sha384' : algorithm === HashAlgorithm.SHA2_512 ? 'sha512' : undefined;
  if (name === undefined || messageDigest === undefined) {
    throw new VerificationFailure(VerifyErrorCode.bundleInvalid, `signature ${source} uses an unsupported message digest algorithm`);
  }
  const actual = createHash(name).update(artifact).digest();
  if (!actual.equals(Buffer.from(messageDigest.digest))) {
    throw new VerificationFailure(
      VerifyErrorCode.digestMismatch,
      `signature ${source} is over digest ${name}:${Buffer.from(messageDigest.digest).toString('hex').slice(0, 64)}, not over the artifact (${name}:${actual.toString('hex')})`,
      { hint: 'the signature belongs to other content' },
    );
  }
}

function leafCertificate(bundle: Bundle): X509Certificate {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') return X509Certificate.parse(Buffer.from(material.certificate.rawBytes));
  if (material.$case === 'x509CertificateChain') return X509Certificate.parse(Buffer.from(material.x509CertificateChain.certificates[0]!.rawBytes));
  throw new Error('bundle has no certificate');
}

/** The identity claimed by the bundle's certificate, for the message of a policy failure only. */
function signerFromBundle(bundle: Bundle): Signer {
  const cert = leafCertificate(bundle);
  const issuerV2 = cert.extension('1.3.6.1.4.1.57264.1.8')?.valueObj.subs?.[0]?.value.toString('utf8');
  const issuer = issuerV2 ?? cert.extension('1.3.6.1.4.1.57264.1.1')?.value.toString('utf8');
  const identity: NonNullable<Signer['identity']> = { extensions: { issuer } };
  if (cert.subjectAltName !== undefined) identity.subjectAlternativeName = cert.subjectAltName;
  return { key: derPublicKey(cert.publicKey), identity };
}

function derPublicKey(spki: Buffer): KeyObject {
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

function fail(code: VerifyErrorCodeValue, message: string, cause: unknown): VerificationFailure {
  const detail = cause instanceof Error ? cause.message : String(cause);
  // Library messages can quote bundle fields; escape them like any untrusted value.
  return new VerificationFailure(code, `${message} (${quoteUntrusted(detail, 160)})`, { cause });
}

