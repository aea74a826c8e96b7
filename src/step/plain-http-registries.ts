import { CatalogError, quoteUntrusted } from '../errors.ts';
import { isLoopbackHost } from '../oci/registry/reference.ts';
import { inputLabel } from './task-inputs.ts';

/**
 * The PLAIN_HTTP_REGISTRIES a registry-reading step was given, as hosts:
 * space- or comma-separated, and every one a loopback host, since plain HTTP
 * anywhere else would hand the registry's answers to the network.
 */
export function plainHttpRegistries(list: string): string[] {
  const hosts = list.split(/[\s,]+/).filter(Boolean);
  for (const host of hosts) {
    if (!isLoopbackHost(host)) {
      throw new CatalogError('CONFIG_PLAIN_HTTP', `${inputLabel('PLAIN_HTTP_REGISTRIES')} lists ${quoteUntrusted(host)}, which is not a loopback host`, {
        hint: 'plain HTTP is only for registries on 127.0.0.1, [::1] or localhost; use TLS everywhere else',
      });
    }
  }
  return hosts;
}
