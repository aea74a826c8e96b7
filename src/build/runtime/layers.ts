import { link, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogError } from '../../errors.ts';
import { writeFileAtomic } from '../../io/atomic-write.ts';
import { assertDigest, parseDigest, sha256Digest, type Digest } from '../../oci/digest.ts';
import type { OciLayout } from '../../oci/layout.ts';
import { MediaType, type Descriptor } from '../../oci/media-types.ts';
import { buildTarLayer, type LayerEntry } from '../../oci/tar-layer.ts';
import { IsolatedApt } from './apt-fetch.ts';
import { extractFromDeb, extractFromTgz, toLayerEntry, type ExtractedEntry } from './extract.ts';
import type { Arch, DebLock, NodePackageLock, RuntimeLock } from './lock.ts';
import { fetchNodePackage } from './npm-fetch.ts';

/**
 * Bump when the contents this module puts into a runtime layer change, so
 * cached layers built by an older builder are not reused.
 */
export const RUNTIME_BUILDER_VERSION = 1;

export const NONROOT_UID = 65532;
export const NODE_PATH = '/usr/local/bin/node';
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';

/** A layer ready to reference from a manifest: its blob is in the layout. */
export interface BuiltLayer {
  descriptor: Descriptor;
  diffId: Digest;
  uncompressedSize: number;
  /** The image history's created_by text for this layer. */
  createdBy: string;
}

/** The shared objects node needs (its ELF NEEDED list plus the loader), by architecture. */
export const REQUIRED_LIBRARIES: Record<Arch, string[]> = {
  amd64: [
    'lib64/ld-linux-x86-64.so.2',
    'lib/x86_64-linux-gnu/libc.so.6',
    'lib/x86_64-linux-gnu/libm.so.6',
    'lib/x86_64-linux-gnu/libdl.so.2',
    'lib/x86_64-linux-gnu/libpthread.so.0',
    'lib/x86_64-linux-gnu/libgcc_s.so.1',
    'usr/lib/x86_64-linux-gnu/libstdc++.so.6',
  ],
  arm64: [
    'lib/ld-linux-aarch64.so.1',
    'lib/aarch64-linux-gnu/libc.so.6',
    'lib/aarch64-linux-gnu/libm.so.6',
    'lib/aarch64-linux-gnu/libdl.so.2',
    'lib/aarch64-linux-gnu/libpthread.so.0',
    'lib/aarch64-linux-gnu/libgcc_s.so.1',
    'usr/lib/aarch64-linux-gnu/libstdc++.so.6',
  ],
};

const GLIBC_LIBS = /^(lib|lib64)\/([a-z0-9_-]+\/)?(ld-linux[a-z0-9_-]*\.so\.\d+|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1)$/;

/**
 * Which files of each Debian package go into the image. Everything else
 * (gconv modules, docs, scripts) stays out; only the package's copyright
 * (or the doc symlink that points at it) comes along for licence compliance.
 */
function packageFilter(name: string): (path: string) => boolean {
  const licence = (path: string) => path === `usr/share/doc/${name}/copyright` || path === `usr/share/doc/${name}`;
  if (name === 'libc6') return (path) => licence(path) || GLIBC_LIBS.test(path);
  if (name === 'libgcc-s1') return (path) => licence(path) || /^lib\/[a-z0-9_-]+\/libgcc_s\.so\.1$/.test(path);
  if (name === 'libstdc++6') return (path) => licence(path) || /^usr\/lib\/[a-z0-9_-]+\/libstdc\+\+\.so\.6(\.\d+)*$/.test(path);
  if (name === 'ca-certificates') return (path) => licence(path) || /^usr\/share\/ca-certificates\/[^/]+\/[^/]+\.crt$/.test(path);
  // workspace-guard's only helper: getfattr reads extended attributes, which node cannot.
  if (name === 'attr') return (path) => licence(path) || path === 'usr/bin/getfattr';
  if (name === 'libattr1') return (path) => licence(path) || /^usr\/lib\/[a-z0-9_-]+\/libattr\.so\.1(\.\d+)*$/.test(path);
  // gcc-NN-base holds the copyright that libgcc-s1 and libstdc++6 point at.
  if (/^gcc-\d+-base$/.test(name)) return licence;
  throw new CatalogError('RUNTIME_LOCK_UNKNOWN_PACKAGE', `the runtime lock lists Debian package ${name}, which the image builder does not know how to use`, {
    hint: 'teach src/build/runtime/layers.ts which of its files belong in the image, or remove it from the lock',
  });
}

const PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n';
const GROUP = 'root:x:0:\nnonroot:x:65532:\n';
// Kubernetes mounts /etc/hosts; without this glibc would ask DNS first.
const NSSWITCH = 'passwd: files\ngroup: files\nhosts: files dns\n';

/** The base layer's files from already extracted package contents: users, /tmp, home, libraries and the CA bundle. */
/** The image history line of the base layer; the SBOM signer reads it back to tie an image to the lock. */
export function baseLayerCreatedBy(debs: readonly DebLock[]): string {
  return `runtime base (Debian ${debs.map((deb) => `${deb.package}=${deb.version}`).join(' ')})`;
}

/** The image history line of the node layer. */
export function nodeLayerCreatedBy(entry: NodePackageLock): string {
  return `node runtime (${entry.name}@${entry.version})`;
}

export function baseLayerEntries(arch: Arch, packages: { name: string; entries: ExtractedEntry[] }[]): LayerEntry[] {
  const entries: LayerEntry[] = [
    { type: 'file', path: 'etc/passwd', content: Buffer.from(PASSWD), mode: 0o644 },
    { type: 'file', path: 'etc/group', content: Buffer.from(GROUP), mode: 0o644 },
    { type: 'file', path: 'etc/nsswitch.conf', content: Buffer.from(NSSWITCH), mode: 0o644 },
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'directory', path: 'root', mode: 0o700 },
    { type: 'directory', path: 'home/nonroot', mode: 0o755, uid: NONROOT_UID, gid: NONROOT_UID },
  ];
  const certificates: { path: string; content: Buffer }[] = [];
  for (const pkg of packages) {
    for (const entry of pkg.entries) {
      if (entry.type === 'file' && entry.path.startsWith('usr/share/ca-certificates/')) certificates.push(entry);
      else entries.push(toLayerEntry(entry));
    }
  }
  if (certificates.length === 0) {
    throw new CatalogError('RUNTIME_CA_MISSING', `no CA certificates found for ${arch}`, { hint: 'the runtime lock must include ca-certificates' });
  }
  // The .deb leaves the bundle to its postinst (update-ca-certificates); this is the same concatenation, in byte order of the paths.
  certificates.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const bundle = Buffer.concat(certificates.flatMap(({ content }) => (content.at(-1) === 0x0a ? [content] : [content, Buffer.from('\n')])));
  entries.push({ type: 'file', path: CA_BUNDLE_PATH.slice(1), content: bundle, mode: 0o644 });

  const present = new Set(entries.map((entry) => entry.path));
  const missing = REQUIRED_LIBRARIES[arch].filter((path) => !present.has(path));
  if (missing.length > 0) {
    throw new CatalogError('RUNTIME_LIB_MISSING', `the ${arch} base layer lacks ${missing.join(', ')}, which node needs`, {
      hint: 'the locked Debian packages no longer ship these paths; check the lock',
    });
  }
  return entries;
}

interface CachedLayerMeta {
  digest: Digest;
  size: number;
  diffId: Digest;
  uncompressedSize: number;
}

/**
 * Builds runtime layers for one download/layer cache. Compressed layers are
 * cached under <cacheDir>/layers keyed by everything that goes into them
 * (lock entries, builder version, SOURCE_DATE_EPOCH), and memoised in the
 * process, so the runtime is built once for every step image of a catalog.
 */
export class RuntimeLayers {
  readonly lock: RuntimeLock;
  readonly cacheDir: string;
  private readonly log: (line: string) => void;
  private readonly memo = new Map<string, Promise<CachedLayerMeta>>();
  private readonly apts = new Map<Arch, IsolatedApt>();

  constructor(lock: RuntimeLock, cacheDir: string, log: (line: string) => void = () => {}) {
    this.lock = lock;
    this.cacheDir = cacheDir;
    this.log = log;
  }

  async baseLayer(layout: OciLayout, arch: Arch, sourceDateEpoch: number): Promise<BuiltLayer> {
    const debs = this.lock.debs[arch];
    const key = cacheKey({ kind: 'base', arch, debs, debian: this.lock.debian, sourceDateEpoch });
    const meta = await this.cached(key, async () => {
      const paths = await this.apt(arch).fetch(debs, this.cacheDir);
      const packages = await Promise.all(
        debs.map(async (deb: DebLock) => ({ name: deb.package, entries: await extractFromDeb(paths.get(deb)!, packageFilter(deb.package)) })),
      );
      this.log(`runtime: building ${arch} base layer from ${debs.map((deb) => `${deb.package}=${deb.version}`).join(' ')}`);
      return buildTarLayer(baseLayerEntries(arch, packages), sourceDateEpoch);
    });
    return this.place(layout, key, meta, baseLayerCreatedBy(debs));
  }

  /**
   * The layer of Debian packages one step program needs on top of the
   * runtime (the lock's stepPackages): only that image carries it, so the
   * others keep their digests.
   */
  async stepPackagesLayer(layout: OciLayout, arch: Arch, program: string, debs: DebLock[], sourceDateEpoch: number): Promise<BuiltLayer> {
    const key = cacheKey({ kind: 'step-packages', arch, program, debs, debian: this.lock.debian, sourceDateEpoch });
    const meta = await this.cached(key, async () => {
      const paths = await this.apt(arch).fetch(debs, this.cacheDir);
      const entries: LayerEntry[] = [];
      for (const deb of debs) {
        const extracted = await extractFromDeb(paths.get(deb)!, packageFilter(deb.package));
        if (!extracted.some((entry) => !entry.path.startsWith('usr/share/doc/'))) {
          throw new CatalogError('RUNTIME_PACKAGE_EMPTY', `Debian package ${deb.package}=${deb.version} (${arch}) no longer ships the files ${program} needs`, {
            hint: 'check src/build/runtime/layers.ts against the package contents',
          });
        }
        entries.push(...extracted.map(toLayerEntry));
      }
      this.log(`runtime: building ${arch} ${program} layer from ${debs.map((deb) => `${deb.package}=${deb.version}`).join(' ')}`);
      return buildTarLayer(entries, sourceDateEpoch);
    });
    return this.place(layout, key, meta, `step packages for ${program} (Debian ${debs.map((deb) => `${deb.package}=${deb.version}`).join(' ')})`);
  }

  async nodeLayer(layout: OciLayout, arch: Arch, sourceDateEpoch: number): Promise<BuiltLayer> {
    const entry = this.lock.node[arch];
    const key = cacheKey({ kind: 'node', arch, entry, sourceDateEpoch });
    const meta = await this.cached(key, async () => {
      const tgz = await fetchNodePackage(entry, this.cacheDir);
      const files = await extractFromTgz(tgz, (path) => path === 'package/bin/node' || path === 'package/LICENSE');
      const node = files.find((file) => file.path === 'package/bin/node');
      const licence = files.find((file) => file.path === 'package/LICENSE');
      if (node?.type !== 'file' || licence?.type !== 'file') {
        throw new CatalogError('RUNTIME_ARCHIVE_INVALID', `${entry.name}@${entry.version} lacks bin/node or LICENSE as regular files`);
      }
      this.log(`runtime: building ${arch} node layer from ${entry.name}@${entry.version}`);
      return buildTarLayer(
        [
          { type: 'file', path: NODE_PATH.slice(1), content: node.content, mode: 0o755 },
          { type: 'file', path: 'usr/local/share/doc/node/LICENSE', content: licence.content, mode: 0o644 },
        ],
        sourceDateEpoch,
      );
    });
    return this.place(layout, key, meta, nodeLayerCreatedBy(entry));
  }

  private apt(arch: Arch): IsolatedApt {
    let apt = this.apts.get(arch);
    if (!apt) {
      apt = new IsolatedApt(arch, this.lock.debian, this.cacheDir);
      this.apts.set(arch, apt);
    }
    return apt;
  }

  private cached(key: string, build: () => Promise<{ compressed: Buffer; diffId: Digest; uncompressedSize: number }>): Promise<CachedLayerMeta> {
    let pending = this.memo.get(key);
    if (!pending) {
      pending = this.loadOrBuild(key, build);
      this.memo.set(key, pending);
      pending.catch(() => this.memo.delete(key));
    }
    return pending;
  }

  private async loadOrBuild(
    key: string,
    build: () => Promise<{ compressed: Buffer; diffId: Digest; uncompressedSize: number }>,
  ): Promise<CachedLayerMeta> {
    const dir = join(this.cacheDir, 'layers');
    const existing = await readMeta(join(dir, `${key}.json`));
    if (existing) return existing;
    const layer = await build();
    const meta: CachedLayerMeta = {
      digest: sha256Digest(layer.compressed),
      size: layer.compressed.byteLength,
      diffId: layer.diffId,
      uncompressedSize: layer.uncompressedSize,
    };
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, `${key}.tar.gz`), layer.compressed);
    // The meta file is written last: its presence means the blob beside it is complete.
    await writeFileAtomic(join(dir, `${key}.json`), JSON.stringify(meta));
    return meta;
  }

  /**
   * Makes sure the layout holds the layer blob. The cached blob is checked
   * against its digest, then hard-linked into the layout (copied when the
   * two are on different file systems): a runtime layer is tens of MiB.
   */
  private async place(layout: OciLayout, key: string, meta: CachedLayerMeta, createdBy: string): Promise<BuiltLayer> {
    if (!(await layout.hasBlob(meta.digest))) {
      const cachedPath = join(this.cacheDir, 'layers', `${key}.tar.gz`);
      let bytes: Buffer;
      try {
        bytes = await readFile(cachedPath);
      } catch (cause) {
        throw new CatalogError('RUNTIME_CACHE_CORRUPT', `cached layer ${key} is missing from ${this.cacheDir}`, {
          hint: `delete ${join(this.cacheDir, 'layers')} and build again`,
          cause,
        });
      }
      assertDigest(bytes, meta.digest, `cached runtime layer ${key}`);
      try {
        await link(cachedPath, layout.blobPath(meta.digest));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') await layout.writeBlob(bytes, MediaType.layerTarGzip);
      }
    }
    return {
      descriptor: { mediaType: MediaType.layerTarGzip, digest: meta.digest, size: meta.size },
      diffId: meta.diffId,
      uncompressedSize: meta.uncompressedSize,
      createdBy,
    };
  }
}

function cacheKey(inputs: Record<string, unknown>): string {
  return sha256Digest(JSON.stringify({ builder: RUNTIME_BUILDER_VERSION, ...inputs })).slice('sha256:'.length, 'sha256:'.length + 32);
}

async function readMeta(path: string): Promise<CachedLayerMeta | undefined> {
  let value: Partial<CachedLayerMeta>;
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as Partial<CachedLayerMeta>;
  } catch {
    return undefined;
  }
  try {
    if (typeof value.size !== 'number' || typeof value.uncompressedSize !== 'number') return undefined;
    return { digest: parseDigest(String(value.digest)), diffId: parseDigest(String(value.diffId)), size: value.size, uncompressedSize: value.uncompressedSize };
  } catch {
    return undefined;
  }
}
