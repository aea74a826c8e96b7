import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import { extract as createTarExtract } from 'tar-stream';
import { CatalogError } from '../../errors.ts';
import type { LayerEntry } from '../../oci/tar-layer.ts';

/** Regular files and symlinks from an archive, paths relative and without "./"; owners are dropped on purpose. */
export type ExtractedEntry =
  | { type: 'file'; path: string; content: Buffer; mode: number }
  | { type: 'symlink'; path: string; target: string };

export type PathFilter = (path: string) => boolean;

/** Drops the "./" or "/" prefixes archives use and refuses paths that could escape the image root. */
export function cleanArchivePath(name: string): string | undefined {
  const path = name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (path === '' || path === '.') return undefined;
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new CatalogError('RUNTIME_ARCHIVE_PATH', `archive entry ${JSON.stringify(name).slice(0, 200)} is not a clean relative path`);
  }
  return path;
}

async function collect(source: Readable, select: PathFilter, what: string): Promise<ExtractedEntry[]> {
  const entries: ExtractedEntry[] = [];
  const extract = createTarExtract();
  extract.on('entry', (header, stream, next) => {
    const path = cleanArchivePath(header.name);
    const wanted = path !== undefined && select(path) && (header.type === 'file' || header.type === 'symlink');
    if (!wanted) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    if (header.type === 'symlink') {
      entries.push({ type: 'symlink', path, target: header.linkname ?? '' });
      stream.on('end', next);
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      // Only permission bits survive; setuid/setgid/sticky never come in from a package.
      entries.push({ type: 'file', path, content: Buffer.concat(chunks), mode: (header.mode ?? 0o644) & 0o777 });
      next();
    });
  });
  try {
    await pipeline(source, extract);
  } catch (cause) {
    if (cause instanceof CatalogError) throw cause;
    throw new CatalogError('RUNTIME_ARCHIVE_INVALID', `cannot read ${what} as a tar archive`, { cause });
  }
  return entries;
}

/** Reads selected entries from a gzip-compressed tar (an npm package tarball). */
export async function extractFromTgz(path: string, select: PathFilter): Promise<ExtractedEntry[]> {
  return collect(createReadStream(path).pipe(createGunzip()), select, path);
}

/** Reads selected entries from a .deb's data archive, via dpkg-deb so every compression the format allows is handled. */
export async function extractFromDeb(path: string, select: PathFilter): Promise<ExtractedEntry[]> {
  const child = execa('dpkg-deb', ['--fsys-tarfile', path], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false }, timeout: 120_000 });
  const [entries] = await Promise.all([
    collect(child.stdout, select, path),
    child.catch((cause: unknown) => {
      throw new CatalogError('RUNTIME_ARCHIVE_INVALID', `dpkg-deb cannot read ${path}`, { cause });
    }),
  ]);
  return entries;
}

export function toLayerEntry(entry: ExtractedEntry): LayerEntry {
  return entry.type === 'file'
    ? { type: 'file', path: entry.path, content: entry.content, mode: entry.mode, uid: 0, gid: 0 }
    : { type: 'symlink', path: entry.path, target: entry.target, uid: 0, gid: 0 };
}
