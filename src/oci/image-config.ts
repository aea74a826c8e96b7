import type { Digest } from './digest.ts';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from './media-types.ts';

/** The runtime part of an OCI image config (the `config` object), in the spec's field spelling. */
export interface ContainerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An OCI image config blob (application/vnd.oci.image.config.v1+json). */
export interface OciImageConfig {
  created?: string;
  architecture: string;
  variant?: string;
  os: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

export type ImageArch = 'amd64' | 'arm64';

/** The OCI platform of a linux image; arm64 carries the conventional v8 variant that registries and runtimes match on. */
export function linuxPlatform(arch: ImageArch): Platform {
  return arch === 'arm64' ? { architecture: 'arm64', os: 'linux', variant: 'v8' } : { architecture: 'amd64', os: 'linux' };
}

/** RFC 3339 in UTC with no fractional seconds, the form the image spec shows. */
export function createdFromEpoch(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface ImageConfigInput {
  arch: ImageArch;
  created: string;
  container: ContainerConfig;
  /** The layers of a base image this one builds on, with the history the base recorded for them. */
  base?: { diffIds: Digest[]; history: HistoryEntry[] };
  /** This image's own layers, bottom to top; each gets one history entry. */
  layers: { diffId: Digest; createdBy: string }[];
}

/**
 * Assembles the config with a fixed key order (JSON bytes follow insertion
 * order), so the same inputs always hash to the same config digest.
 */
export function buildImageConfig(input: ImageConfigInput): OciImageConfig {
  const platform = linuxPlatform(input.arch);
  return {
    created: input.created,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: orderedContainerConfig(input.container),
    rootfs: { type: 'layers', diff_ids: [...(input.base?.diffIds ?? []), ...input.layers.map((layer) => layer.diffId)] },
    history: [
      ...(input.base?.history ?? []),
      ...input.layers.map((layer) => ({ created: input.created, created_by: layer.createdBy })),
    ],
  };
}

function orderedContainerConfig(container: ContainerConfig): ContainerConfig {
  const ordered: ContainerConfig = {};
  if (container.User !== undefined) ordered.User = container.User;
  if (container.Env !== undefined) ordered.Env = [...container.Env];
  if (container.Entrypoint !== undefined) ordered.Entrypoint = [...container.Entrypoint];
  if (container.Cmd !== undefined) ordered.Cmd = [...container.Cmd];
  if (container.WorkingDir !== undefined) ordered.WorkingDir = container.WorkingDir;
  if (container.Labels !== undefined) {
    ordered.Labels = Object.fromEntries(Object.entries(container.Labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return ordered;
}

export function buildImageManifest(config: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): ImageManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size })),
  };
  if (annotations && Object.keys(annotations).length > 0) manifest.annotations = sortedRecord(annotations);
  return manifest;
}

/** An index of per-platform manifests, ordered by architecture so the order never depends on which build finished first. */
export function buildImageIndex(entries: { manifest: Descriptor; platform: Platform }[], annotations?: Record<string, string>): ImageIndex {
  const manifests = [...entries]
    .sort((a, b) => (a.platform.architecture < b.platform.architecture ? -1 : a.platform.architecture > b.platform.architecture ? 1 : 0))
    .map(({ manifest, platform }) => ({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform: { ...platform } }));
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests };
  if (annotations && Object.keys(annotations).length > 0) index.annotations = sortedRecord(annotations);
  return index;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
