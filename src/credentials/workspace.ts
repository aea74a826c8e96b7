import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteUntrusted } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError } from './errors.ts';
import { EXPIRES_AT_PATH, MANIFEST_PATH, readCredentialsMarker, type CredentialsMarker } from './marker.ts';
import { OutputPaths, type PlannedFile } from './plan.ts';
import type { LoadedSecret } from './secret.ts';

/**
 * The credentials workspace as the injector sees it. Opening it walks the
 * tree without following links and refuses anything we did not write: a
 * file there that is not in our manifest (with its fingerprint) could be a
 * trap laid for the credentials, or the sign that the workspace is shared
 * with a task it must not be. Folders are created 0700 and files 0400, owned
 * by the step user; every file is written atomically.
 */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o400;
/** A walk longer than this is not a credentials workspace. */
const MAX_ENTRIES = 10_000;

export interface WrittenFile {
  readonly path: string;
  readonly sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class CredentialsWorkspace {
  readonly root: string;
  readonly existing: CredentialsMarker | undefined;

  private constructor(root: string, existing: CredentialsMarker | undefined) {
    this.root = root;
    this.existing = existing;
  }

  static async open(root: string, now: Date = new Date()): Promise<CredentialsWorkspace> {
    await assertDirectory(root);
    const status = await readCredentialsMarker(root, now);
    if (status?.expired) {
      throw new CredentialsError(
        CredentialsErrorCode.expired,
        `the credentials workspace holds credentials that expired at ${status.marker.expiresAt}`,
        { violation: true, hint: 'run inject-credentials with mode cleanup (in the Pipeline\'s finally) so credentials never outlive their run' },
      );
    }
    const ours = new Map<string, string>((status?.marker.files ?? []).map((file) => [file.path, file.sha256]));
    if (status) {
      // The state files are ours by construction once the manifest parsed.
      ours.set(MANIFEST_PATH, '');
      ours.set(EXPIRES_AT_PATH, '');
    }
    const foreign = await findForeign(root, ours);
    if (foreign.length > 0) {
      const shown = foreign.slice(0, 5).map((path) => quoteUntrusted(path)).join(', ');
      throw new CredentialsError(
        CredentialsErrorCode.workspaceForeign,
        `the credentials workspace holds ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} inject-credentials did not write: ${shown}${foreign.length > 5 ? ', …' : ''}`,
        {
          violation: true,
          hint: 'bind the credentials workspace to a fresh emptyDir (medium: Memory) or per-run volume given only to trusted tasks',
        },
      );
    }
    return new CredentialsWorkspace(root, status?.marker);
  }

  /**
   * Writes the manifest first (so even a half-finished injection is fully
   * accounted for and cleanup knows every path), then each file.
   */
  async write(files: readonly PlannedFile[], secret: LoadedSecret, expiresAt: Date, now: Date = new Date()): Promise<WrittenFile[]> {
    const taken = new Set((this.existing?.files ?? []).map((file) => file.path));
    for (const file of files) {
      if (taken.has(file.path)) {
        throw new CredentialsError(
          CredentialsErrorCode.input,
          `${file.path} was already written by an earlier injection into this workspace`,
          { hint: 'inject one Secret per output kind (e.g. one dockerconfigjson Secret holding every registry)' },
        );
      }
    }
    const written: WrittenFile[] = files.map((file) => ({ path: file.path, sha256: sha256Hex(file.content) }));
    const previousExpiry = this.existing ? new Date(this.existing.expiresAt) : undefined;
    const effectiveExpiry = previousExpiry && previousExpiry < expiresAt ? previousExpiry : expiresAt;
    const marker: CredentialsMarker = {
      version: 1,
      writtenAt: now.toISOString(),
      expiresAt: effectiveExpiry.toISOString(),
      secrets: [...(this.existing?.secrets ?? []), { label: secret.label, type: secret.type, source: secret.source }],
      files: [...(this.existing?.files ?? []), ...written],
    };
    await this.writeOne(MANIFEST_PATH, Buffer.from(`${JSON.stringify(marker, null, 2)}\n`, 'utf8'));
    await this.writeOne(EXPIRES_AT_PATH, Buffer.from(`${marker.expiresAt}\n`, 'utf8'));
    for (const file of files) await this.writeOne(file.path, file.content);
    return written;
  }

  private async writeOne(relative: string, content: Buffer): Promise<void> {
    const segments = relative.split('/');
    let dir = this.root;
    for (const segment of segments.slice(0, -1)) {
      dir = join(dir, segment);
      await ensurePrivateDir(dir, relative);
    }
    const target = join(this.root, relative);
    try {
      await writeFileAtomic(target, content, { mode: FILE_MODE, createDirs: false });
      // The umask cannot widen 0400, but a pre-set ACL or odd umask must not either.
      await chmod(target, FILE_MODE);
    } catch (error) {
      throw new CredentialsError(
        CredentialsErrorCode.writeFailed,
        `cannot write ${relative} in the credentials workspace: ${describeSystemError(error)}`,
        { hint: 'the credentials workspace must be writable by the step user (65532) and have room (emptyDir medium: Memory counts against the pod\'s memory limit)' },
      );
    }
  }
}

async function ensurePrivateDir(dir: string, forPath: string): Promise<void> {
  try {
    await mkdir(dir, { mode: DIR_MODE });
  } catch (error) {
    if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST')) {
      throw new CredentialsError(
        CredentialsErrorCode.writeFailed,
        `cannot create the folder for ${forPath} in the credentials workspace: ${describeSystemError(error)}`,
        { hint: 'the credentials workspace must be writable by the step user (65532)' },
      );
    }
  }
  const info = await lstat(dir);
  if (!info.isDirectory()) {
    throw new CredentialsError(CredentialsErrorCode.workspaceForeign, `something other than a folder sits where the folder for ${forPath} goes`, { violation: true });
  }
  await chmod(dir, DIR_MODE);
}

async function assertDirectory(root: string): Promise<void> {
  let ok = false;
  try {
    ok = (await lstat(root)).isDirectory();
  } catch (error) {
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, `the credentials workspace cannot be opened: ${describeSystemError(error)}`, {
      hint: 'bind the credentials workspace and pass its path ($(workspaces.credentials.path))',
    });
  }
  if (!ok) {
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, 'the credentials workspace path is not a folder (or is a symbolic link)');
  }
}

/** Relative paths of every entry that is not ours; folders are ours only if they lead to a file of ours. */
async function findForeign(root: string, ours: ReadonlyMap<string, string>): Promise<string[]> {
  const ourDirs = new Set<string>();
  for (const path of ours.keys()) {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) ourDirs.add(segments.slice(0, i).join('/'));
  }
  const foreign: string[] = [];
  let seen = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) throw new CredentialsError(CredentialsErrorCode.workspaceForeign, `the credentials workspace holds more than ${MAX_ENTRIES} entries`, { violation: true });
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && ourDirs.has(path)) {
        await walk(path);
      } else if (entry.isFile() && ours.has(path)) {
        const expected = ours.get(path);
        if (expected !== '' && (await fileSha256(join(root, path))) !== expected) foreign.push(path);
      } else {
        foreign.push(path);
      }
    }
  };
  try {
    await walk('');
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    throw new CredentialsError(CredentialsErrorCode.workspaceInvalid, `the credentials workspace cannot be listed: ${describeSystemError(error)}`);
  }
  return foreign;
}

async function fileSha256(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return sha256Hex(await handle.readFile());
  } finally {
    await handle.close();
  }
}
