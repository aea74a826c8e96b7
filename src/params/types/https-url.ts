import { CatalogError, quoteUntrusted } from '../../errors.ts';
import { firstForbiddenCharacter } from '../characters.ts';
import { describeInternalHost } from './internal-hosts.ts';
import type { TypeValidator } from './validator.ts';

export interface HttpsUrlOptions {
  allowedHosts?: readonly string[] | undefined;
  /** Allows "?query" with "&" in it; the value is then only inert inside double quotes. */
  allowQuery?: boolean | undefined;
  /** Allows a bracketed IPv6 host; the value is then only inert inside double quotes. */
  allowIpv6?: boolean | undefined;
  /** Refuses IP addresses and internal names (localhost, *.internal, *.svc, single labels, ...). */
  publicHostsOnly?: boolean | undefined;
}

/** RFC 3986's characters: unreserved, gen-delims, sub-delims and "%". */
const RFC3986 = /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/;
/** Sub-delims a shell interprets; URLs can always percent-encode them instead. */
const SHELL_SUB_DELIMS = /[!$'()*;]/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PORT = /^[1-9][0-9]{0,4}$/;

/**
 * An https URL written the one way every client reads alike: RFC 3986
 * characters only, "https://" then a plain host (letters, digits, "-" and
 * "." in labels; IDN hosts as xn--; no percent-encoding, no user info, no
 * trailing dot, IPv4 only as four decimal octets), an optional port without
 * leading zeros, a path without dot segments (also not percent-encoded,
 * however deeply), and percent-encoding only where it is needed, for UTF-8
 * text without invisible characters. The WHATWG parser (Node's URL and
 * fetch) must then read back exactly what is written: same host, port,
 * path, query and fragment.
 *
 * Inert as one shell word (see ../shell.ts): "! $ ' ( ) * ;" must be
 * percent-encoded, and "? &" (a query) and "[ ]" (an IPv6 host) need
 * `allowQuery` and `allowIpv6`, which make the value one that scripts must
 * quote.
 *
 * `allowedHosts` entries are host names, optionally with a port, normalised
 * by the same parser (IDNA, lower case); the URL's host must equal one
 * exactly. Without a port in the entry, only the default port 443 matches.
 */
export function httpsUrl(options: HttpsUrlOptions): TypeValidator {
  const allowed = options.allowedHosts?.map(normaliseAllowedHost);
  return {
    maxLength: 2048,
    shell: options.allowQuery || options.allowIpv6 ? 'double-quoted' : 'word',
    check(value) {
      const problem = checkSpelling(value, options);
      if (problem) return problem;
      if (allowed) {
        const host = new URL(value).host;
        if (!allowed.includes(host)) return `must point to an allowed host (${allowed.map((h) => quoteUntrusted(h, 80)).join(', ')})`;
      }
      return undefined;
    },
  };
}

function checkSpelling(value: string, options: HttpsUrlOptions): string | undefined {
  for (const ch of value) {
    if (!RFC3986.test(ch)) {
      if (ch.codePointAt(0)! > 0x7e) return `holds the non-ASCII character ${quoteUntrusted(ch)}; write IDN hosts as xn--, and percent-encode the rest as UTF-8`;
      return `holds ${quoteUntrusted(ch)}, which a URL may not hold (RFC 3986); percent-encode it as ${percentEncode(ch)}`;
    }
    if (SHELL_SUB_DELIMS.test(ch)) return `holds ${quoteUntrusted(ch)}, which a shell would interpret; percent-encode it as ${percentEncode(ch)}`;
  }
  const badPercent = /%(?![0-9A-Fa-f]{2})/.exec(value);
  if (badPercent) return `holds a "%" at index ${badPercent.index} that does not start a percent-encoded byte (%XX); write a literal "%" as %25`;
  if (!/^https:\/\//i.test(value)) return 'must start with https://';

  const afterScheme = value.slice('https://'.length);
  const authorityEnd = afterScheme.search(/[/?#]/);
  const authority = authorityEnd === -1 ? afterScheme : afterScheme.slice(0, authorityEnd);
  const rest = authorityEnd === -1 ? '' : afterScheme.slice(authorityEnd);
  const hashAt = rest.indexOf('#');
  const beforeHash = hashAt === -1 ? rest : rest.slice(0, hashAt);
  const fragment = hashAt === -1 ? undefined : rest.slice(hashAt + 1);
  const queryAt = beforeHash.indexOf('?');
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : beforeHash.slice(queryAt + 1);

  const parsed = checkAuthority(authority, options);
  if (typeof parsed === 'string') return parsed;
  if (/[[\]]/.test(rest)) return 'holds "[" or "]" outside an IPv6 host; percent-encode them as %5B and %5D';

  if (query !== undefined) {
    if (!options.allowQuery) return 'has a query string ("?"); set "allowQuery": true in the rule, and quote the value wherever a script uses it';
    if (query === '') return 'has an empty query ("?" with nothing after it); leave the "?" out';
  }
  if (/&/.test(path) || (fragment !== undefined && /[&]/.test(fragment))) {
    return 'holds "&" outside a query, which a shell would interpret; percent-encode it as %26';
  }
  if (fragment !== undefined) {
    if (fragment === '') return 'has an empty fragment ("#" with nothing after it); leave the "#" out';
    if (fragment.includes('#')) return 'holds a second "#"; percent-encode it as %23';
    if (fragment.includes('?') && !options.allowQuery) return 'holds "?" in the fragment, which a shell would read as a wildcard; percent-encode it as %3F';
  }

  const dotSegment = findDotSegment(path);
  if (dotSegment) return dotSegment;
  const encoding = checkPercentEncoding(rest);
  if (encoding) return encoding;

  // The WHATWG parser must read back exactly what is written.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a valid URL';
  }
  const host = parsed.host.toLowerCase();
  if (url.hostname !== host) {
    if (/^[\d.]+$/.test(url.hostname)) return `writes the IPv4 address ${url.hostname} in a form other clients read differently; write it as ${url.hostname}`;
    if (url.hostname.startsWith('[')) return `writes an IPv6 address in a non-canonical form; write it as ${url.hostname}`;
    return 'has a host the URL standard reads differently than it is written';
  }
  const port = parsed.port === '443' ? '' : (parsed.port ?? '');
  if (url.port !== port || url.pathname !== (path || '/') || url.search !== (query ? `?${query}` : '') || url.hash !== (fragment ? `#${fragment}` : '')) {
    return 'is read differently by the URL standard than it is written; write it in canonical form';
  }
  if (options.publicHostsOnly) {
    const internal = describeInternalHost(url.hostname);
    if (internal) return `has a host that ${internal}; the rule sets "publicHostsOnly"`;
  }
  return undefined;
}

function checkAuthority(authority: string, options: HttpsUrlOptions): { host: string; port?: string } | string {
  if (authority === '') return 'must name a host right after https://';
  if (authority.includes('@')) return 'may not hold user info ("user@" before the host); credentials belong in a Secret, not a param';
  let host: string;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end === -1) return 'has an unclosed "[" in the host';
    host = authority.slice(0, end + 1);
    const after = authority.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return 'has something other than a port after the IPv6 host';
    port = after === '' ? undefined : after.slice(1);
    if (!options.allowIpv6) return 'has an IPv6 address as host; set "allowIpv6": true in the rule, and quote the value wherever a script uses it';
    if (!/^\[[0-9A-Fa-f:.]+\]$/.test(host)) return 'has an invalid IPv6 host';
  } else {
    const colon = authority.indexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    port = colon === -1 ? undefined : authority.slice(colon + 1);
    if (host.includes('%')) return 'has a percent-encoded host; write the host name plainly (IDN hosts as xn--)';
    if (/[[\]]/.test(authority)) return 'holds "[" or "]" outside an IPv6 host; percent-encode them as %5B and %5D';
    if (host === '') return 'must name a host right after https://';
    if (host.length > 253) return 'has a host name longer than 253 characters';
    const labels = host.split('.');
    if (labels.some((label) => label === '')) return 'has an empty label in the host ("..", or a "." at the start or end)';
    if (!labels.every((label) => LABEL.test(label))) {
      return 'has a host name with characters other than letters, digits and "-" (labels of 1-63, not starting or ending with "-")';
    }
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) return 'has an invalid port: write 1-65535 without leading zeros, or leave ":" out';
  return { host, ...(port === undefined ? {} : { port }) };
}

/**
 * Dot segments in any encoding: the path is split on "/" and "\" (servers
 * on Windows split there too), then percent-decoded and split again, as
 * many times as decoding changes it, so "%2e%2e", "..%2f" and "%252e%252e"
 * are caught as surely as "..".
 */
function findDotSegment(path: string): string | undefined {
  let text = path;
  for (let depth = 0; ; depth++) {
    if (text.split(/[/\\]/).some((segment) => segment === '.' || segment === '..')) {
      return depth === 0
        ? 'has a "." or ".." path segment; write the path without them'
        : 'has a percent-encoded "." or ".." path segment (a server that decodes it would walk up the path)';
    }
    const decoded = text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (decoded === text) return undefined;
    text = decoded;
  }
}

/**
 * Percent-encoding only where it is needed: an encoded unreserved character
 * (%41 for "A", %2E for ".") is a second spelling of the same URL, and the
 * encoded bytes must be UTF-8 text that passes the character rules every
 * param follows (no control, bidi or invisible characters, encoded or not).
 */
function checkPercentEncoding(text: string): string | undefined {
  for (const match of text.matchAll(/(?:%[0-9A-Fa-f]{2})+/g)) {
    const bytes = Buffer.from(match[0].replace(/%/g, ''), 'hex');
    for (const byte of bytes) {
      if (byte < 0x80 && UNRESERVED.test(String.fromCharCode(byte))) {
        return `percent-encodes ${JSON.stringify(String.fromCharCode(byte))}, which must be written plainly`;
      }
    }
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return 'holds percent-encoded bytes that are not UTF-8 text';
    }
    const forbidden = firstForbiddenCharacter(decoded);
    if (forbidden) return `holds ${forbidden.description}, percent-encoded`;
  }
  return undefined;
}

function percentEncode(ch: string): string {
  return [...Buffer.from(ch, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
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
