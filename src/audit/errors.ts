import { CatalogError } from '../errors.ts';

/**
 * Stable codes of the errors the audit throws. A `USAGE_*` or `CONFIG_*`
 * code exits 2 (see src/step/run.ts); the rest exit 3. Problems found in
 * the audited YAML are never thrown: they are findings (rules TA001-TA004),
 * so one bad file cannot stop the others.
 */
export const AuditErrorCodes = {
  /** A path given on the command line does not exist or cannot be read. */
  inputMissing: 'USAGE_AUDIT_INPUT_MISSING',
  /** No file matched the paths and globs given. */
  inputEmpty: 'USAGE_AUDIT_INPUT_EMPTY',
  /** More files or bytes than the limits allow. */
  inputTooLarge: 'USAGE_AUDIT_INPUT_TOO_LARGE',
  /** A bad flag or flag value. */
  usage: 'USAGE_AUDIT',
  /** The config file is missing, malformed or names an unknown rule. */
  config: 'CONFIG_AUDIT',
  /** The catalog index or a catalog Task could not be read. */
  catalog: 'AUDIT_CATALOG_UNREADABLE',
} as const;

export type AuditErrorCode = (typeof AuditErrorCodes)[keyof typeof AuditErrorCodes];

export class AuditError extends CatalogError {
  constructor(code: AuditErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'AuditError';
  }
}
