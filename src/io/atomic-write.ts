import { dirname } from 'node:path';

/**
 * Writes a file so that readers see either the old content or the new, never
 * a half-written file: write a sibling temp file, fsync it, rename it over
 * the target. The temp file is removed if anything fails.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number; createDirs?: boolean } = {},
): Promise<void> {
  // Read on first use, not at import: step programs import this at start-up, and node:crypto and
  // node:fs/promises (which loads streams and readline) cost more than --help or a usage error.
  const { mkdir, open, rename, rm } = process.getBuiltinModule('node:fs/promises');
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  if (options.createDirs ?? true) await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
