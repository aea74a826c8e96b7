export { RegistryClient, MANIFEST_ACCEPT, type RegistryClientOptions, type PulledManifest, type ReferrersList, type BlobPushOutcome } from './client.ts';
export { parseReference, formatReference, referenceTarget, isLoopbackHost, type ImageReference } from './reference.ts';
export { credentialsFromDockerConfig, type BasicCredentials } from './credentials.ts';
export { parseChallenge, repositoryScope, type Challenge } from './auth.ts';
export type { TransportOptions } from './transport.ts';
