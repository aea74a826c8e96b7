import { CatalogError, quoteUntrusted } from '../errors.ts';
import { isLoopbackHost } from './registry/reference.ts';

/**
 * The registry prefix every catalog reference starts with:
 * `host[:port]/namespace`, e.g. `ghcr.io/hardened-tekton/catalog`. The build
 * writes it into every Task (step image references) and records it in
 * catalog/index.json; publish pushes only to the prefix the build used. One
 * parser for both, so the two can never disagree on what a prefix is.
 */
export interface RegistryPrefix {
  /** "ghcr.io", "127.0.0.1:5000", "[::1]:5000" */
  host: string;
  /** "hardened-tekton/catalog": one or more repository path components. */
  namespace: string;
  /** host/namespace, exactly as written into references. */
  prefix: string;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::(\\d{1,5}))?$`);
// The distribution spec's path component: lower-case alphanumerics joined by ".", "_", "__" or dashes.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** Room left for "/tasks/<name>" and "/steps/<program>" inside the spec's 255-character repository name. */
export const MAX_NAMESPACE_LENGTH = 180;

export function parseRegistryPrefix(value: string, options: { flag?: string; plainHttp?: boolean } = {}): RegistryPrefix {
  const flag = options.flag ?? '--registry';
  const fail = (rule: string, hint = 'write it as host[:port]/namespace, e.g. ghcr.io/my-org/tekton or 127.0.0.1:5000/catalog'): never => {
    throw new CatalogError('USAGE_REGISTRY', `${flag} ${quoteUntrusted(value, 120)} is invalid: ${rule}`, { hint });
  };
  if (value.length === 0 || value.length > 255) fail('it must be 1 to 255 characters');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) fail('it holds a URL scheme', `leave out the scheme: ${flag} ${quoteUntrusted(value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''), 120)}`);
  if (/[@\s]/.test(value)) fail('a registry prefix holds no tag, digest or spaces');
  const slash = value.indexOf('/');
  if (slash < 0) fail('it has no namespace after the host', `add a namespace: ${flag} ${quoteUntrusted(`${value}/catalog`, 120)} (a bare host would put the catalog's repositories at the registry's top level)`);
  const host = value.slice(0, slash);
  const namespace = value.slice(slash + 1);
  const hostMatch = HOST.exec(host);
  if (!hostMatch) fail('the host must be a lower-case DNS name or IP address, with an optional :port');
  const port = hostMatch![1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) fail('the port must be 1 to 65535');
  if (namespace.length > MAX_NAMESPACE_LENGTH) fail(`the namespace is longer than ${MAX_NAMESPACE_LENGTH} characters`);
  if (!namespace.split('/').every((part) => COMPONENT.test(part))) {
    fail('the namespace must be lower-case path components (letters, digits, ".", "_", "-") separated by single "/", with none empty and no trailing "/"');
  }
  if (options.plainHttp && !isLoopbackHost(host)) {
    fail('--plain-http is allowed only for a loopback registry (127.0.0.1, localhost, [::1])', 'drop --plain-http; a remote registry must be reached over TLS');
  }
  return { host, namespace, prefix: `${host}/${namespace}` };
}
