import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { assertDigest, digestHex, sha256Digest, type Digest } from './digest.ts';
import { Annotation, MediaType, type Descriptor, type ImageIndex } from './media-types.ts';

const LAYOUT_MARKER = { imageLayoutVersion: '1.0.0' };

/** JSON bytes as we write them: compact and in the key order the object was built in, so digests are stable. */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * An OCI image layout on disk (oci-layout, index.json, blobs/sha256/...).
 * Blobs are content-addressed, so one layout can hold many images that share
 * layers without storing them twice. Every blob read back is checked
 * against its digest.
 */
export class OciLayout {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens a layout, creating an empty one if the folder has none. */
  static async create(dir: string): Promise<OciLayout> {
    const layout = new OciLayout(dir);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    if (!(await exists(join(dir, 'oci-layout')))) {
      await writeFileAtomic(join(dir, 'oci-layout'), JSON.stringify(LAYOUT_MARKER));
    }
    if (!(await exists(join(dir, 'index.json')))) {
      await layout.writeIndex({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] });
    }
    return layout;
  }

  /** Opens an existing layout; fails if the folder is not one. */
  static async open(dir: string): Promise<OciLayout> {
    let marker: unknown;
    try {
      marker = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'));
    } catch {
      throw new CatalogError('OCI_LAYOUT_MISSING', `${dir} is not an OCI image layout (no readable oci-layout file)`, {
        hint: 'run `npm run build` first',
      });
    }
    if ((marker as { imageLayoutVersion?: unknown }).imageLayoutVersion !== '1.0.0') {
      throw new CatalogError('OCI_LAYOUT_VERSION', `${dir}: unsupported imageLayoutVersion`);
    }
    return new OciLayout(dir);
  }

  blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /** Stores bytes as a blob (a no-op if already present) and returns its descriptor. */
  async writeBlob(bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    if (!(await this.hasBlob(digest))) await writeFileAtomic(this.blobPath(digest), bytes);
    const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength };
    if (annotations && Object.keys(annotations).length > 0) descriptor.annotations = annotations;
    return descriptor;
  }

  async writeJson(value: unknown, mediaType: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const bytes = jsonBytes(value);
    return { descriptor: await this.writeBlob(bytes, mediaType), bytes };
  }

  /** Reads a blob and checks it against its digest. */
  async readBlob(digest: Digest): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch {
      throw new CatalogError('OCI_BLOB_MISSING', `blob ${digest} is missing from layout ${this.dir}`);
    }
    assertDigest(bytes, digest, `blob in ${this.dir}`);
    return bytes;
  }

  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as T;
  }

  async index(): Promise<ImageIndex> {
    return JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')) as ImageIndex;
  }

  /** Points a ref name at a descriptor, replacing an earlier entry of that name. Entries stay sorted by name. */
  async tag(refName: string, descriptor: Descriptor): Promise<void> {
    const index = await this.index();
    const others = index.manifests.filter((entry) => entry.annotations?.[Annotation.refName] !== refName);
    const entry: Descriptor = {
      ...descriptor,
      annotations: { ...descriptor.annotations, [Annotation.refName]: refName },
    };
    const manifests = [...others, entry].sort((a, b) =>
      (a.annotations?.[Annotation.refName] ?? '').localeCompare(b.annotations?.[Annotation.refName] ?? ''),
    );
    await this.writeIndex({ ...index, manifests });
  }

  /** Sets annotations on the layout's own index.json (what the layout as a whole is). */
  async annotate(annotations: Record<string, string>): Promise<void> {
    const index = await this.index();
    await this.writeIndex({ ...index, annotations: { ...index.annotations, ...annotations } });
  }

  async resolve(refName: string): Promise<Descriptor | undefined> {
    const index = await this.index();
    return index.manifests.find((entry) => entry.annotations?.[Annotation.refName] === refName);
  }

  private async writeIndex(index: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
