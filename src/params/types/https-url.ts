import { CatalogError, quoteUntrusted } from '../../errors.ts';
import type { TypeValidator } from './validator.ts';

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * An https URL, parsed by the WHATWG URL parser (what Node's fetch uses),
 * and held to a stricter spelling so other parsers (curl, git, Go) read the
 * same host: printable ASCII only (write internationalised hosts in their
 * xn-- form, so look-alikes such as Cyrillic "а" or fullwidth letters cannot
 * pass as Latin ones), "https://" followed by the host, no backslash, no
 * user info ("user@", "user:pass@", even an empty "@").
 *
 * `allowedHosts` entries are host names, optionally with a port, normalised
 * by the same parser (IDNA, lower case); the URL's host must equal one
 * exactly. Without a port in the entry, only the default port 443 matches.
 */
export function httpsUrl(options: { allowedHosts?: readonly string[] | undefined }): TypeValidator {
  const allowed = options.allowedHosts?.map(normaliseAllowedHost);
  return {
    maxLength: 2048,
    check(value) {
      if (!PRINTABLE_ASCII.test(value)) return 'must be printable ASCII without spaces (percent-encode the rest; write IDN hosts as xn--)';
      if (!/^https:\/\//i.test(value)) return 'must start with https://';
      if (value.includes('\\')) return 'may not hold a backslash';
      const authority = value.slice('https://'.length).split(/[/?#]/, 1)[0]!;
      if (authority === '') return 'must name a host right after https://';
      if (authority.includes('@')) return 'may not hold user info (credentials belong in a Secret, not a param)';
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return 'is not a valid URL';
      }
      if (url.protocol !== 'https:') return 'must use https';
      if (url.hostname === '') return 'must name a host';
      if (allowed && !allowed.includes(url.host)) return `must point to an allowed host (${allowed.map((h) => quoteUntrusted(h, 80)).join(', ')})`;
      return undefined;
    },
  };
}

function normaliseAllowedHost(entry: string): string {
  let url: URL | undefined;
  try {
    url = new URL(`https://${entry}/`);
  } catch {
    url = undefined;
  }
  if (!url || url.pathname !== '/' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || /[/\\@?#\s]/.test(entry)) {
    throw new CatalogError('CONFIG_RULE_ALLOWED_HOST', `allowedHosts entry ${quoteUntrusted(entry, 80)} is not a host name (optionally host:port)`, {
      hint: 'list bare hosts such as "github.com" or "registry.example.com:8443"',
    });
  }
  return url.host;
}
