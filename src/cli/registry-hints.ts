import { CatalogError } from '../errors.ts';
import { isLoopbackHost } from '../oci/registry/reference.ts';

/**
 * TLS failures that mean "the other end speaks plain HTTP": OpenSSL reads
 * the first bytes of an HTTP response as a TLS record header and gives up
 * with one of these.
 */
const PLAIN_HTTP_TLS_ERRORS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_RECORD_LAYER_FAILURE',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_HTTP_REQUEST',
  'EPROTO',
]);

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * Gives a registry error from the command line its real cause: a TLS
 * handshake that failed because the registry answered in plain HTTP says
 * so, and suggests --plain-http where that is allowed (loopback only).
 */
export function explainRegistryError(error: unknown, host: string, plainHttp: boolean): unknown {
  if (!(error instanceof CatalogError) || plainHttp || error.code !== 'REGISTRY_UNREACHABLE') return error;
  if (!causeCodes(error).some((code) => PLAIN_HTTP_TLS_ERRORS.has(code))) return error;
  const hint = isLoopbackHost(host)
    ? `${host} answers in plain HTTP, not TLS: for a loopback test registry add --plain-http`
    : `${host} answers in plain HTTP, not TLS; plain HTTP is allowed only for a loopback registry, so put this one behind TLS (or check the port)`;
  return new CatalogError('REGISTRY_PLAIN_HTTP', `${error.message}: the registry does not speak TLS`, { hint, cause: error });
}
