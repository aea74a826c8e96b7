import type { TypeValidator } from './validator.ts';

/** The OCI distribution spec's tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function imageTag(): TypeValidator {
  return {
    maxLength: 128,
    shell: 'word',
    check: (value) =>
      TAG.test(value) ? undefined : 'must be an image tag: up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -',
  };
}

// distribution/reference grammar, component by component.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_NAME_LENGTH = 255;

/**
 * registry/repository[:tag][@sha256:digest], per the distribution reference
 * grammar: the first path part is a registry when it holds "." or ":" or is
 * "localhost" (as docker and containerd decide it); repository parts are
 * lower case. Only sha256 digests are accepted. With `requireDigest`, a
 * reference without a digest fails: a tag can be moved, a digest cannot.
 * A registry written as a bracketed IPv6 address ([::1]:5000/app) needs
 * `allowIpv6`: "[" and "]" are shell wildcards, so such a value is only
 * inert inside double quotes.
 */
export function imageReference(options: { requireDigest?: boolean | undefined; allowIpv6?: boolean | undefined }): TypeValidator {
  return {
    maxLength: MAX_NAME_LENGTH + 1 + 128 + 1 + 71,
    shell: options.allowIpv6 ? 'double-quoted' : 'word',
    check(value) {
      if (value.startsWith('[') && !options.allowIpv6) {
        return 'has an IPv6 registry address; set "allowIpv6": true in the rule, and quote the value wherever a script uses it';
      }
      let rest = value;
      let digest: string | undefined;
      const at = rest.indexOf('@');
      if (at !== -1) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) return 'has a digest that is not sha256: followed by 64 lower-case hex digits';
      } else if (options.requireDigest) {
        return 'must be pinned by digest (name@sha256:<64 hex digits>)';
      }
      const lastSlash = rest.lastIndexOf('/');
      const colon = rest.indexOf(':', lastSlash + 1);
      let name = rest;
      if (colon !== -1) {
        const tag = rest.slice(colon + 1);
        name = rest.slice(0, colon);
        if (!TAG.test(tag)) return 'has an invalid tag: up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -';
      }
      if (name.length === 0) return 'must name a repository';
      if (name.length > MAX_NAME_LENGTH) return `has a name longer than ${MAX_NAME_LENGTH} characters`;
      const parts = name.split('/');
      const first = parts[0]!;
      if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
        const problem = checkRegistry(first);
        if (problem) return problem;
        parts.shift();
      }
      for (const part of parts) {
        if (!PATH_COMPONENT.test(part)) {
          return 'has an invalid repository path: lower-case letters and digits, separated by "/" and single ".", "_", "__" or runs of "-"';
        }
      }
      return undefined;
    },
  };
}

function checkRegistry(registry: string): string | undefined {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith('[')) {
    const end = registry.indexOf(']');
    if (end === -1 || !isIPv6Literal(registry.slice(1, end))) return 'has an invalid registry IPv6 address';
    const after = registry.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return 'has an invalid registry';
    port = after === '' ? undefined : after.slice(1);
    host = '';
  } else {
    const colon = registry.indexOf(':');
    if (colon !== -1) {
      port = registry.slice(colon + 1);
      host = registry.slice(0, colon);
    }
    if (host.length > 253 || !host.split('.').every((part) => DOMAIN_COMPONENT.test(part))) {
      return 'has an invalid registry host name';
    }
  }
  if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535 || Number(port) === 0)) {
    return 'has an invalid registry port';
  }
  return undefined;
}

/** The WHATWG URL parser validates IPv6 literals, without loading node:net at start-up. */
function isIPv6Literal(address: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(address) || !address.includes(':')) return false;
  try {
    return new URL(`http://[${address}]/`).hostname !== '';
  } catch {
    return false;
  }
}
