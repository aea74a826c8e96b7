import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlibConstants } from 'node:zlib';
import { pack as createTarPack } from 'tar-stream';
import { CatalogError } from '../errors.ts';
import { sha256Digest, type Digest } from './digest.ts';

const gzip = promisify(gzipCallback);

/** One entry of a layer. Paths are relative, without a leading slash ("usr/bin/node"). */
export type LayerEntry =
  | { type: 'file'; path: string; content: Uint8Array; mode?: number; uid?: number; gid?: number }
  | { type: 'directory'; path: string; mode?: number; uid?: number; gid?: number }
  | { type: 'symlink'; path: string; target: string; uid?: number; gid?: number };

export interface TarLayer {
  /** The gzip-compressed tar: the layer blob. */
  compressed: Buffer;
  /** Digest of the uncompressed tar: the image config's diff_id. */
  diffId: Digest;
  uncompressedSize: number;
}

/**
 * Every input that could vary between machines is fixed, so the same entries
 * give the same bytes: entries sorted by path, owners and modes explicit,
 * every timestamp set to SOURCE_DATE_EPOCH, no user or group names, and gzip
 * at a fixed level with no name or time in its header.
 */
export const GZIP_LEVEL = 6;

export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,12}$/.test(raw)) {
    throw new CatalogError('CONFIG_SOURCE_DATE_EPOCH', 'SOURCE_DATE_EPOCH must be a whole number of seconds since 1970', {
      hint: 'unset it, or set it to e.g. $(git log -1 --format=%ct)',
    });
  }
  return Number(raw);
}

export async function buildTar(entries: LayerEntry[], mtimeSeconds: number): Promise<Buffer> {
  const sorted = normaliseEntries(entries);
  const tar = createTarPack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  const mtime = new Date(mtimeSeconds * 1000);
  for (const entry of sorted) {
    const common = { name: entry.path, mtime, uid: entry.uid ?? 0, gid: entry.gid ?? 0, uname: '', gname: '' };
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null) => (error ? reject(error) : resolve());
      if (entry.type === 'file') {
        tar.entry({ ...common, type: 'file', mode: entry.mode ?? 0o644, size: entry.content.byteLength }, Buffer.from(entry.content), callback);
      } else if (entry.type === 'directory') {
        tar.entry({ ...common, name: `${entry.path}/`, type: 'directory', mode: entry.mode ?? 0o755 }, callback);
      } else {
        tar.entry({ ...common, type: 'symlink', mode: 0o777, linkname: entry.target }, callback);
      }
    });
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function buildTarLayer(entries: LayerEntry[], mtimeSeconds: number): Promise<TarLayer> {
  const tar = await buildTar(entries, mtimeSeconds);
  return { compressed: await gzipDeterministic(tar), diffId: sha256Digest(tar), uncompressedSize: tar.byteLength };
}

/** zlib writes no file name and a zero mtime, so the output depends only on the input and the level. */
export async function gzipDeterministic(bytes: Uint8Array): Promise<Buffer> {
  return gzip(bytes, { level: GZIP_LEVEL, memLevel: 8, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
}

/**
 * Sorts entries and adds any missing parent directories, so the tar is
 * complete on its own and independent of the order callers listed entries in.
 */
function normaliseEntries(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
    if (path === '' || path.split('/').some((part) => part === '..' || part === '.')) {
      throw new CatalogError('OCI_LAYER_PATH', `layer entry path ${JSON.stringify(entry.path)} is not a clean relative path`);
    }
    if (byPath.has(path)) throw new CatalogError('OCI_LAYER_DUPLICATE', `layer entry ${path} is listed twice`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!byPath.has(parent)) byPath.set(parent, { type: 'directory', path: parent, mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
