import { readFileSync } from 'node:fs';
import { CatalogError } from '../errors.ts';
import { createdFromEpoch, buildImageConfig, buildImageIndex, buildImageManifest, linuxPlatform, type ContainerConfig } from '../oci/image-config.ts';
import type { OciLayout } from '../oci/layout.ts';
import { Annotation, MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/media-types.ts';
import type { OciImageConfig } from '../oci/image-config.ts';
import { buildTarLayer, type LayerEntry } from '../oci/tar-layer.ts';
import { stepRefName } from './dist-layout.ts';
import { loadBaseImage, parseBaseReference, type BaseImageLayers } from './image/base.ts';
import { ARCHES, loadRuntimeLock, type Arch, type RuntimeLock } from './runtime/lock.ts';
import { CA_BUNDLE_PATH, NODE_PATH, NONROOT_UID, RuntimeLayers, type BuiltLayer } from './runtime/layers.ts';

export type { Arch } from './runtime/lock.ts';
export { parseBaseReference } from './image/base.ts';

export interface StepImagePlatform {
  arch: Arch;
  manifest: Descriptor;
  /** Config plus every layer blob, as a registry would transfer them. */
  compressedSize: number;
  /** Sum of the layers' uncompressed tar sizes: what the image takes unpacked. */
  uncompressedSize: number;
}

export interface StepImage {
  program: string;
  refName: string;
  index: Descriptor;
  platforms: StepImagePlatform[];
  /**
   * The Entrypoint of the image config, read back from the built blobs and
   * the same on every platform: what emitted steps set as their `command`,
   * so Tekton never has to look it up in a registry.
   */
  entrypoint: string[];
}

export interface BuildStepImageOptions {
  /** One shared layout (dist/oci) for all images: runtime layers are stored once. */
  layout: OciLayout;
  /** The step program's name, e.g. 'validate-params'. */
  program: string;
  /** The esbuild output (.mjs bytes). */
  bundle: Uint8Array;
  /** Download and layer cache, e.g. <repo>/.cache (ignored by git). */
  cacheDir: string;
  sourceDateEpoch: number;
  platforms?: Arch[];
  log?: (line: string) => void;
  /** `oci:<dir>@sha256:<digest>`: build on this upstream base instead of the pinned Debian libraries. */
  base?: string;
  /** org.opencontainers.image.source; defaults to package.json's repository URL when it has one. */
  source?: string;
  /** org.opencontainers.image.version; defaults to package.json's version. */
  version?: string;
  /** The runtime lock to use instead of the committed one (tests, lock refresh checks). */
  lock?: RuntimeLock;
  /** More org.opencontainers.image.* labels and index annotations (the catalog's title, revision, …); `created` is always the epoch. */
  annotations?: Record<string, string>;
}

const PROGRAM_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const APP_DIR = '/app';
export const WORKING_DIR = '/home/nonroot';
export const IMAGE_ENV = [
  'PATH=/usr/local/bin:/usr/bin:/bin',
  `SSL_CERT_FILE=${CA_BUNDLE_PATH}`,
  // Without it node trusts only its compiled-in roots and ignores SSL_CERT_FILE, so a cluster's private CA could not be added.
  'NODE_USE_SYSTEM_CA=1',
  'NODE_ENV=production',
];

export { stepRefName };

/** The Entrypoint every step image's config gets: node running the program's bundle. */
export function stepEntrypoint(program: string): string[] {
  return [NODE_PATH, `${APP_DIR}/${program}.mjs`];
}

/** The one file of an image's top layer; the SBOM signer rebuilds it to tie an image to this checkout's program. */
export function programLayerEntry(program: string, bundle: Uint8Array): LayerEntry {
  return { type: 'file', path: `${APP_DIR.slice(1)}/${program}.mjs`, content: bundle, mode: 0o644 };
}

/**
 * Builds the multi-arch image of one step program into a shared layout and
 * tags its index `step-<program>`. Layers, bottom to top: the base (users,
 * /tmp, glibc, libstdc++, CA bundle; or an upstream base image), the node
 * binary, and the program alone, so every step image shares the first two.
 */
export async function buildStepImage(options: BuildStepImageOptions): Promise<StepImage> {
  if (!PROGRAM_NAME.test(options.program)) {
    throw new CatalogError('IMAGE_PROGRAM_NAME', `step program name ${JSON.stringify(options.program).slice(0, 80)} is not a DNS-1123 label`, {
      hint: 'name the folder under steps/ with lowercase letters, digits and dashes',
    });
  }
  if (!Number.isSafeInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0) {
    throw new CatalogError('CONFIG_SOURCE_DATE_EPOCH', 'sourceDateEpoch must be a whole number of seconds since 1970');
  }
  const platforms = ARCHES.filter((arch) => (options.platforms ?? ARCHES).includes(arch));
  if (platforms.length === 0) throw new CatalogError('IMAGE_PLATFORMS', 'no platform to build: choose amd64, arm64 or both');
  const base = options.base === undefined ? undefined : parseBaseReference(options.base);
  const runtime = runtimeLayers(options.lock ?? (await loadRuntimeLock()), options.cacheDir, options.log);
  const created = createdFromEpoch(options.sourceDateEpoch);
  const metadata = packageMetadata();
  const labels: Record<string, string> = {
    [Annotation.title]: stepRefName(options.program),
    [Annotation.version]: options.version ?? metadata.version,
  };
  const source = options.source ?? metadata.source;
  if (source !== undefined) labels[Annotation.source] = source;
  Object.assign(labels, options.annotations);
  labels[Annotation.created] = created;

  const program = await buildTarLayer([programLayerEntry(options.program, options.bundle)], options.sourceDateEpoch);
  const programLayer: BuiltLayer = {
    descriptor: await options.layout.writeBlob(program.compressed, MediaType.layerTarGzip),
    diffId: program.diffId,
    uncompressedSize: program.uncompressedSize,
    createdBy: `step program ${options.program}`,
  };
  const container: ContainerConfig = {
    User: `${NONROOT_UID}:${NONROOT_UID}`,
    Env: IMAGE_ENV,
    Entrypoint: stepEntrypoint(options.program),
    WorkingDir: WORKING_DIR,
    Labels: labels,
  };

  // The architectures are independent; building them together keeps both cores busy on a cold cache.
  const built = await Promise.all(
    platforms.map(async (arch): Promise<StepImagePlatform> => {
      let baseLayers: BaseImageLayers;
      if (base) {
        baseLayers = await loadBaseImage(base, arch, options.layout);
      } else {
        const layer = await runtime.baseLayer(options.layout, arch, options.sourceDateEpoch);
        baseLayers = { layers: [layer], history: [{ created, created_by: layer.createdBy }] };
      }
      const node = await runtime.nodeLayer(options.layout, arch, options.sourceDateEpoch);
      // A tool only this program runs (the lock's stepPackages) gets a layer of its own in this image alone.
      const stepDebs = runtime.lock.stepPackages?.[options.program]?.[arch];
      const own = stepDebs ? [await runtime.stepPackagesLayer(options.layout, arch, options.program, stepDebs, options.sourceDateEpoch)] : [];
      const config = buildImageConfig({
        arch,
        created,
        container,
        base: { diffIds: baseLayers.layers.map((layer) => layer.diffId), history: baseLayers.history },
        layers: [node, ...own, programLayer],
      });
      const configBlob = await options.layout.writeJson(config, MediaType.imageConfig);
      const layers = [...baseLayers.layers, node, ...own, programLayer];
      const manifest = buildImageManifest(
        configBlob.descriptor,
        layers.map((layer) => layer.descriptor),
      );
      const manifestBlob = await options.layout.writeJson(manifest, MediaType.imageManifest);
      return {
        arch,
        manifest: manifestBlob.descriptor,
        compressedSize: configBlob.descriptor.size + layers.reduce((sum, layer) => sum + layer.descriptor.size, 0),
        uncompressedSize: layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0),
      };
    }),
  );

  const index = buildImageIndex(
    built.map((platform) => ({ manifest: platform.manifest, platform: linuxPlatform(platform.arch) })),
    labels,
  );
  const indexBlob = await options.layout.writeJson(index, MediaType.imageIndex);
  const refName = stepRefName(options.program);
  await options.layout.tag(refName, indexBlob.descriptor);
  options.log?.(`image: ${refName} ${indexBlob.descriptor.digest} (${built.map((p) => `${p.arch} ${formatMiB(p.compressedSize)} compressed`).join(', ')})`);
  const entrypoint = await imageEntrypoint(options.layout, indexBlob.descriptor, refName);
  return { program: options.program, refName, index: indexBlob.descriptor, platforms: built, entrypoint };
}

/**
 * The Entrypoint of a multi-platform image, read from each platform's
 * config blob in the layout. Every platform must agree: Tekton runs the
 * step's one `command` on whichever node architecture the pod lands on.
 */
export async function imageEntrypoint(layout: OciLayout, index: Descriptor, what: string): Promise<string[]> {
  const manifests = (await layout.readJson<ImageIndex>(index.digest)).manifests;
  const found: { platform: string; entrypoint: string[] | undefined }[] = [];
  for (const entry of manifests) {
    const manifest = await layout.readJson<ImageManifest>(entry.digest);
    const config = await layout.readJson<OciImageConfig>(manifest.config.digest);
    const platform = entry.platform ? `${entry.platform.os}/${entry.platform.architecture}` : entry.digest;
    found.push({ platform, entrypoint: config.config?.Entrypoint });
  }
  const missing = found.filter((item) => !item.entrypoint || item.entrypoint.length === 0);
  if (found.length === 0 || missing.length > 0) {
    throw new CatalogError('IMAGE_ENTRYPOINT_MISSING', `${what}: no Entrypoint in the image config for ${missing.map((item) => item.platform).join(', ') || 'any platform'}`, {
      hint: 'every step image must set an Entrypoint, which the generator writes into the step as its command',
    });
  }
  const first = JSON.stringify(found[0]!.entrypoint);
  const differing = found.filter((item) => JSON.stringify(item.entrypoint) !== first);
  if (differing.length > 0) {
    throw new CatalogError(
      'IMAGE_ENTRYPOINT_MISMATCH',
      `${what}: the platforms disagree on the Entrypoint: ${found.map((item) => `${item.platform} ${JSON.stringify(item.entrypoint)}`).join('; ')}`,
      { hint: 'a step has one command for every node architecture; build every platform with the same Entrypoint' },
    );
  }
  return found[0]!.entrypoint!;
}

/** Runtime layer builders are shared per cache and lock, so a catalog build assembles each runtime layer once. */
const runtimes = new Map<string, RuntimeLayers>();
function runtimeLayers(lock: RuntimeLock, cacheDir: string, log?: (line: string) => void): RuntimeLayers {
  const key = JSON.stringify([cacheDir, lock]);
  let runtime = runtimes.get(key);
  if (!runtime) {
    runtime = new RuntimeLayers(lock, cacheDir, log);
    runtimes.set(key, runtime);
  }
  return runtime;
}

function packageMetadata(): { version: string; source?: string } {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
      repository?: string | { url?: string };
    };
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    const source = repository?.replace(/^git\+/, '').replace(/\.git$/, '');
    return source === undefined ? { version: pkg.version ?? '0.0.0' } : { version: pkg.version ?? '0.0.0', source };
  } catch {
    return { version: '0.0.0' };
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
