/**
 * The one error type every module throws on purpose. `code` is stable so
 * callers and tests can branch on it; `message` is safe to print (it never
 * carries a secret or an unescaped attacker value); `hint` says what to do.
 */
export class CatalogError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CatalogError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isCatalogError(value: unknown): value is CatalogError {
  return value instanceof CatalogError;
}

/**
 * Renders an untrusted value for a human: JSON-escaped (so control
 * characters, bidi overrides and quotes are visible, not interpreted) and
 * truncated, so an attacker cannot flood or forge log lines.
 */
export function quoteUntrusted(value: string, maxChars = 64): string {
  const truncated = value.length > maxChars;
  const head = truncated ? value.slice(0, maxChars) : value;
  // JSON.stringify leaves non-ASCII as is; escape it so look-alikes and
  // bidi controls show as code points.
  const escaped = JSON.stringify(head).replace(/[\u007f-\uffff]/g, (ch) =>
    `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return truncated ? `${escaped}… (${value.length} chars)` : escaped;
}
