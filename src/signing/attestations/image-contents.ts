import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleStep, type StepBundle } from '../../build/bundle-step.ts';
import { programLayerEntries } from '../../build/image.ts';
import { baseLayerCreatedBy, nodeLayerCreatedBy } from '../../build/runtime/layers.ts';
import { ARCHES, type Arch, type DebLock, type NodePackageLock, type RuntimeLock } from '../../build/runtime/lock.ts';
import { sha256Digest, type Digest } from '../../oci/digest.ts';
import type { ImageIndex, ImageManifest } from '../../oci/media-types.ts';
import type { RegistryClient } from '../../oci/registry/index.ts';
import { buildTarLayer } from '../../oci/tar-layer.ts';
import { SigningErrorCode, signingError } from '../errors.ts';
import { PACKAGE_LOCK_FILE } from './build-context.ts';

/** What one step image holds, from the pinned inputs, checked against the image itself. */
export interface StepImageContents {
  program: string;
  /** registry/repository and the digest the SBOM describes (an index or one platform manifest). */
  image: { name: string; digest: Digest };
  /** SOURCE_DATE_EPOCH the image was built with (its config's `created`). */
  sourceDateEpoch: number;
  platforms: { arch: Arch; manifest: Digest; node: NodePackageLock; debs: DebLock[] }[];
  /** The bundled program as it lies in the image: its entry (which node runs) first, then the chunks it loads on demand. */
  programFiles: { path: string; digest: Digest; size: number }[];
  /** npm packages esbuild bundled into the program, with package-lock's version, integrity and licence. */
  npmPackages: { name: string; version: string; path: string; integrity?: string; license?: string }[];
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads what a step image contains without unpacking it: the Debian packages
 * and Node binary from runtime.lock.json and the npm packages from esbuild's
 * metafile of steps/<program>, each tied to the image: its config history
 * must name exactly the locked Debian packages and Node package, and the
 * program rebuilt from this checkout must give the image's top layer byte
 * for byte. An image built from other inputs (another commit, an upstream
 * --base) fails here instead of getting an SBOM that lies.
 */
export class StepImageInspector {
  private readonly repoRoot: string;
  private readonly lock: RuntimeLock;
  private readonly bundles = new Map<string, Promise<StepBundle>>();
  private packageLock: Promise<Record<string, { version?: string; integrity?: string; license?: string }>> | undefined;

  constructor(repoRoot: string, lock: RuntimeLock) {
    this.repoRoot = repoRoot;
    this.lock = lock;
  }

  async contents(client: RegistryClient, repository: string, program: string, digest: Digest, mediaType: string, manifestBytes: Buffer): Promise<StepImageContents> {
    const where = `${client.registry}/${repository}@${digest}`;
    const platforms = this.platformManifests(manifestBytes, mediaType, digest, where);
    const bundle = await this.bundle(program);
    const out: StepImageContents = {
      program,
      image: { name: `${client.registry}/${repository}`, digest },
      sourceDateEpoch: 0,
      platforms: [],
      programFiles: programLayerEntries(program, bundle.files).flatMap((entry) =>
        entry.type === 'file' ? [{ path: `/${entry.path}`, digest: sha256Digest(entry.content), size: entry.content.byteLength }] : [],
      ),
      npmPackages: await this.npmPackages(bundle),
    };
    const epochs = new Set<number>();
    for (const platform of platforms) {
      const manifestJson = platform.digest === digest ? (JSON.parse(manifestBytes.toString('utf8')) as ImageManifest) : ((await client.getManifest(repository, platform.digest)).manifest as ImageManifest);
      const config = JSON.parse((await client.getBlob(repository, manifestJson.config.digest, { maxBytes: MAX_CONFIG_BYTES })).toString('utf8')) as {
        architecture?: string;
        created?: string;
        history?: { created_by?: string }[];
      };
      const arch = platform.arch ?? (ARCHES as readonly string[]).find((candidate) => candidate === config.architecture);
      if (arch === undefined) throw mismatch(where, `platform ${platform.digest} is for architecture ${JSON.stringify(String(config.architecture)).slice(0, 40)}, not amd64 or arm64`);
      const history = new Set((config.history ?? []).map((entry) => entry.created_by));
      const node = this.lock.node[arch as Arch];
      const debs = this.lock.debs[arch as Arch];
      if (!history.has(nodeLayerCreatedBy(node))) throw mismatch(where, `the ${arch} image was not built from the locked Node package ${node.name}@${node.version}`);
      if (!history.has(baseLayerCreatedBy(debs))) throw mismatch(where, `the ${arch} image was not built on the locked Debian packages (an upstream --base, or another runtime.lock.json)`);
      const created = Date.parse(config.created ?? '');
      if (!Number.isFinite(created)) throw mismatch(where, `the ${arch} image config has no creation time`);
      const epoch = Math.floor(created / 1000);
      epochs.add(epoch);
      const rebuilt = await buildTarLayer(programLayerEntries(program, bundle.files), epoch);
      const top = manifestJson.layers.at(-1)?.digest;
      if (top !== sha256Digest(rebuilt.compressed)) {
        throw mismatch(where, `steps/${program} in this checkout does not rebuild the ${arch} image's program layer`);
      }
      out.platforms.push({ arch: arch as Arch, manifest: platform.digest, node, debs });
    }
    out.sourceDateEpoch = Math.min(...epochs);
    return out;
  }

  private platformManifests(bytes: Buffer, mediaType: string, digest: Digest, where: string): { digest: Digest; arch?: Arch }[] {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<ImageIndex>;
    if (!Array.isArray(value.manifests)) return [{ digest }];
    const platforms = value.manifests.flatMap((entry) => {
      const arch = (ARCHES as readonly string[]).find((candidate) => candidate === entry.platform?.architecture && entry.platform?.os === 'linux');
      return arch === undefined ? [] : [{ digest: entry.digest, arch: arch as Arch }];
    });
    if (platforms.length === 0) throw mismatch(where, `the ${mediaType} lists no linux/amd64 or linux/arm64 image`);
    return platforms;
  }

  private bundle(program: string): Promise<StepBundle> {
    let pending = this.bundles.get(program);
    if (pending === undefined) {
      pending = bundleStep(this.repoRoot, program);
      this.bundles.set(program, pending);
    }
    return pending;
  }

  private async npmPackages(bundle: StepBundle): Promise<StepImageContents['npmPackages']> {
    this.packageLock ??= readFile(join(this.repoRoot, PACKAGE_LOCK_FILE), 'utf8').then(
      (text) => (JSON.parse(text) as { packages?: Record<string, { version?: string; integrity?: string; license?: string }> }).packages ?? {},
    );
    const lock = await this.packageLock;
    const paths = new Set<string>();
    for (const input of bundle.inputs) {
      const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) paths.add(match[1]!);
    }
    return [...paths].sort().map((path) => {
      const entry = lock[path];
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (entry?.version === undefined) {
        throw signingError(SigningErrorCode.sbomSourceMismatch, `${path} is bundled into steps/${bundle.program} but package-lock.json does not list it`, 'run `npm ci` so node_modules matches the lock, then rebuild');
      }
      const out: StepImageContents['npmPackages'][number] = { name, version: entry.version, path };
      if (entry.integrity !== undefined) out.integrity = entry.integrity;
      if (entry.license !== undefined) out.license = entry.license;
      return out;
    });
  }
}

function mismatch(where: string, what: string) {
  return signingError(SigningErrorCode.sbomSourceMismatch, `${where}: ${what}`, 'sign from the checkout (commit and lock files) that built the published catalog');
}
