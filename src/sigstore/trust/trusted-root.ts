import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type KeyFinderFunc, type TrustMaterial } from '@sigstore/verify';
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';

/** A trusted root larger than this is not a trusted root; refuse before parsing. */
export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

const TRUSTED_ROOT_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
]);

type JsonObject = Record<string, unknown>;

/**
 * A parsed and checked Sigstore trusted root. @sigstore/verify reads a
 * missing `validFor.start` as "valid since the beginning of time"; a root
 * like that is malformed (the spec requires the start), so we reject it
 * instead of widening trust.
 */
export class SigstoreTrustedRoot {
  readonly root: TrustedRoot;
  /** Where the root came from, for messages ("embedded public-good root", a file path). */
  readonly source: string;

  private constructor(root: TrustedRoot, source: string) {
    this.root = root;
    this.source = source;
  }

  static fromBytes(bytes: Uint8Array, source: string): SigstoreTrustedRoot {
    if (bytes.byteLength > MAX_TRUSTED_ROOT_BYTES) {
      throw invalid(source, `is ${bytes.byteLength} bytes; the limit is ${MAX_TRUSTED_ROOT_BYTES}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      throw invalid(source, 'is not valid JSON');
    }
    return SigstoreTrustedRoot.fromJson(json, source);
  }

  static fromJson(json: unknown, source: string): SigstoreTrustedRoot {
    if (!isObject(json)) throw invalid(source, 'is not a JSON object');
    const mediaType = json.mediaType;
    if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.has(mediaType)) {
      throw invalid(source, 'has a missing or unsupported mediaType (expected a Sigstore trustedroot media type, v0.1 or v0.2)');
    }
    const problems = [
      ...checkLogs(json.tlogs, 'tlogs'),
      ...checkLogs(json.ctlogs, 'ctlogs'),
      ...checkAuthorities(json.certificateAuthorities, 'certificateAuthorities'),
      ...checkAuthorities(json.timestampAuthorities, 'timestampAuthorities'),
    ];
    if (problems.length > 0) throw invalid(source, `is malformed:\n  ${problems.join('\n  ')}`);
    let root: TrustedRoot;
    try {
      root = TrustedRoot.fromJSON(json);
    } catch (error) {
      throw invalid(source, 'could not be decoded as a Sigstore TrustedRoot', error);
    }
    if (root.tlogs.length === 0 && root.certificateAuthorities.length === 0 && root.timestampAuthorities.length === 0) {
      throw invalid(source, 'has no transparency log, CA or timestamp authority: it can verify nothing');
    }
    return new SigstoreTrustedRoot(root, source);
  }

  /** The material @sigstore/verify checks against; `keys` resolves keyed signatures. */
  trustMaterial(keys?: KeyFinderFunc): TrustMaterial {
    try {
      return toTrustMaterial(this.root, keys);
    } catch (error) {
      // A key or certificate inside the root that cannot be decoded.
      throw invalid(this.source, 'holds a key or certificate that cannot be read', error);
    }
  }
}

function invalid(source: string, what: string, cause?: unknown): VerificationFailure {
  return new VerificationFailure(VerifyErrorCode.trustRootInvalid, `trusted root (${source}) ${what}`, {
    hint: 'pass the trusted_root.json of your Sigstore instance unchanged (e.g. from its TUF repository)',
    cause,
  });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkValidFor(validFor: unknown, field: string): string[] {
  if (!isObject(validFor)) return [`${field}.validFor is missing; every key and CA needs a validity period`];
  const problems: string[] = [];
  if (typeof validFor.start !== 'string' || Number.isNaN(Date.parse(validFor.start))) {
    problems.push(`${field}.validFor.start is missing or not a timestamp; an open start would trust the key since 1970`);
  }
  if (validFor.end !== undefined && validFor.end !== null && (typeof validFor.end !== 'string' || Number.isNaN(Date.parse(validFor.end)))) {
    problems.push(`${field}.validFor.end is not a timestamp`);
  }
  return problems;
}

function checkLogs(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [`${field} must be an array`];
  return value.flatMap((log, i) => {
    const path = `${field}[${i}]`;
    if (!isObject(log) || !isObject(log.publicKey)) return [`${path}.publicKey is missing`];
    const problems = checkValidFor(log.publicKey.validFor, `${path}.publicKey`);
    if (typeof log.publicKey.rawBytes !== 'string' || log.publicKey.rawBytes === '') problems.push(`${path}.publicKey.rawBytes is missing`);
    if (!isObject(log.logId) || typeof log.logId.keyId !== 'string') problems.push(`${path}.logId.keyId is missing`);
    return problems;
  });
}

function checkAuthorities(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [`${field} must be an array`];
  return value.flatMap((authority, i) => {
    const path = `${field}[${i}]`;
    if (!isObject(authority)) return [`${path} is not an object`];
    const problems = checkValidFor(authority.validFor, path);
    const chain = authority.certChain;
    if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
      problems.push(`${path}.certChain.certificates is missing or empty`);
    }
    return problems;
  });
}
