import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CatalogError } from '../../errors.ts';
import type { NodePackageLock } from './lock.ts';

/** Computes an npm-style integrity string ("sha512-<base64>") of a file without reading it whole into memory. */
export async function fileIntegrity(path: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/**
 * Returns the path of the package tarball in the download cache, fetching it
 * with `npm pack` (npm's own registry and proxy configuration) when it is not
 * there yet. The file is checked against the locked integrity every time, so
 * a tampered cache fails as loudly as a tampered registry.
 */
export async function fetchNodePackage(entry: NodePackageLock, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, 'downloads', 'npm');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${entry.name}-${entry.version}.tgz`);
  const cached = await fileIntegrity(path).catch(() => undefined);
  if (cached === entry.integrity) return path;
  if (cached !== undefined) await rm(path, { force: true });

  // npm pack names its output itself, so it writes into a private folder that is renamed into place only after checking.
  const staging = await mkdtemp(join(dir, '.pack-'));
  try {
    try {
      await execa('npm', ['pack', `${entry.name}@${entry.version}`, '--pack-destination', staging, '--json', '--ignore-scripts'], {
        timeout: 300_000,
        stdin: 'ignore',
      });
    } catch (cause) {
      throw new CatalogError(
        'RUNTIME_PACKAGE_UNAVAILABLE',
        `cannot fetch the pinned npm package ${entry.name}@${entry.version} from the npm registry`,
        { hint: 'check the network and npm registry settings; if the version is gone, refresh the lock with `npx node scripts/lock-runtime.ts`', cause },
      );
    }
    const files = (await readdir(staging)).filter((name) => name.endsWith('.tgz'));
    if (files.length !== 1) {
      throw new CatalogError('RUNTIME_PACKAGE_UNAVAILABLE', `npm pack ${entry.name}@${entry.version} produced ${files.length} tarballs, expected one`);
    }
    const fetched = join(staging, files[0]!);
    const actual = await fileIntegrity(fetched);
    if (actual !== entry.integrity) {
      throw new CatalogError(
        'RUNTIME_INTEGRITY_MISMATCH',
        `npm package ${entry.name}@${entry.version} has integrity ${actual}, but the lock pins ${entry.integrity}`,
        { hint: 'the registry served different bytes than were locked; do not use them. Investigate before refreshing the lock' },
      );
    }
    await rename(fetched, path);
    return path;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
