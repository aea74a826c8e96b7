import { getDomain } from 'tldts';

/**
 * The registrable domain of a DNS name (its public suffix plus one label,
 * private suffixes included), from the Public Suffix List that tldts
 * carries; undefined when the name has none. token-realm.ts imports this
 * module with import(), so the list loads only when a token realm is on
 * another host than its registry.
 */
export function registrableDomain(hostname: string): string | undefined {
  const domain = getDomain(hostname, { allowPrivateDomains: true, extractHostname: false, validateHostname: true });
  return domain === null || domain === '' ? undefined : domain;
}
