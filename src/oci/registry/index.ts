export {
  RegistryClient,
  MANIFEST_ACCEPT,
  DEFAULT_TAG_LIMITS,
  DEFAULT_REFERRER_LIMITS,
  type RegistryClientOptions,
  type PulledManifest,
  type ManifestPullOptions,
  type ReferrersList,
  type BlobPushOutcome,
  type ListLimits,
} from './client.ts';
export { RegistryClientPool, registryClientOptions, type RegistryAccessOptions } from './client-pool.ts';
export { parseReference, formatReference, referenceTarget, isLoopbackHost, type ImageReference } from './reference.ts';
export { credentialsFromDockerConfig, type BasicCredentials } from './credentials.ts';
export { parseChallenge, repositoryScope, type Challenge } from './auth.ts';
export { parseTrustedRealms } from './token-realm.ts';
export { MANIFEST_JSON_LIMITS, type JsonShapeLimits } from './bounded-json.ts';
export type { TransportOptions } from './transport.ts';
