import { CatalogError } from '../errors.ts';

/**
 * Codes of the credentials domain. `CONFIG_*` codes are the pipeline
 * author's to fix (bad params, malformed secret, missing RBAC) and exit 2;
 * violations exit 1; everything else is an operational failure and exits 3.
 */
export const CredentialsErrorCode = {
  input: 'CONFIG_CREDENTIALS_INPUT',
  secretMissing: 'CONFIG_SECRET_MISSING',
  secretKeyMissing: 'CONFIG_SECRET_KEY_MISSING',
  secretMalformed: 'CONFIG_SECRET_MALFORMED',
  secretTypeMismatch: 'CONFIG_SECRET_TYPE_MISMATCH',
  hostNotInSecret: 'CONFIG_HOST_NOT_IN_SECRET',
  knownHosts: 'CONFIG_SSH_KNOWN_HOSTS',
  apiForbidden: 'CONFIG_KUBE_API_FORBIDDEN',
  apiUnauthorized: 'CONFIG_KUBE_API_UNAUTHORIZED',
  apiNotFound: 'CONFIG_KUBE_API_NOT_FOUND',
  serviceAccount: 'CONFIG_SERVICE_ACCOUNT',
  apiFailure: 'KUBE_API_FAILURE',
  workspaceForeign: 'CREDENTIALS_WORKSPACE_FOREIGN',
  /** Something is in the workspace and no previous-injection-digest vouches for it. */
  workspaceNotEmpty: 'CREDENTIALS_WORKSPACE_NOT_EMPTY',
  /** The workspace is not what the injection named by previous-injection-digest left. */
  workspaceTampered: 'CREDENTIALS_WORKSPACE_TAMPERED',
  workspaceInvalid: 'CREDENTIALS_WORKSPACE_INVALID',
  writeFailed: 'CREDENTIALS_WRITE_FAILED',
  markerInvalid: 'CREDENTIALS_MARKER_INVALID',
  expired: 'CREDENTIALS_EXPIRED',
  cleanupIncomplete: 'CREDENTIALS_CLEANUP_INCOMPLETE',
} as const;

export type CredentialsErrorCodeValue = (typeof CredentialsErrorCode)[keyof typeof CredentialsErrorCode];

/**
 * The credentials domain's error. Its message never carries a secret value:
 * it names the secret, the key and the rule. `violation` marks a security
 * finding (foreign files, expired credentials) rather than a malfunction.
 */
export class CredentialsError extends CatalogError {
  readonly violation: boolean;

  constructor(
    code: CredentialsErrorCodeValue,
    message: string,
    options: { hint?: string; violation?: boolean } = {},
  ) {
    // No `cause`: causes from fs, JSON or TLS can quote the secret's bytes.
    super(code, message, options.hint === undefined ? {} : { hint: options.hint });
    this.name = 'CredentialsError';
    this.violation = options.violation ?? false;
  }
}

export function isCredentialsError(value: unknown): value is CredentialsError {
  return value instanceof CredentialsError;
}

/** A Node system error's code (ENOSPC, EACCES, ...) without its message, which may quote paths or data. */
export function systemErrorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return /^[A-Z0-9_]{1,32}$/.test(error.code) ? error.code : 'UNKNOWN';
  }
  return 'UNKNOWN';
}

const SYSTEM_ERROR_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  ELOOP: 'is a symbolic link',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ESTALE: 'replaced while open',
  EISDIR: 'is a directory',
  EFBIG: 'file too large',
};

export function describeSystemError(error: unknown): string {
  const code = systemErrorCode(error);
  const text = SYSTEM_ERROR_TEXT[code];
  return text ? `${code} (${text})` : code;
}
