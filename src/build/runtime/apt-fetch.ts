import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CatalogError } from '../../errors.ts';
import type { Arch, AptSource, DebLock, RuntimeLock } from './lock.ts';

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The file name `apt-get download` gives a package (an epoch colon is URL-escaped). */
export function debFileName(entry: DebLock): string {
  return `${entry.package}_${entry.version.replace(/:/g, '%3a')}_${entry.architecture}.deb`;
}

export function sourcesList(lock: RuntimeLock['debian']): string {
  return lock.sources
    .map((source: AptSource) => `deb [signed-by=${lock.keyring}] ${source.uri} ${source.suite} ${source.components.join(' ')}\n`)
    .join('');
}

/**
 * apt-get for one foreign or native architecture with its own package lists,
 * empty dpkg status, own sources and no host pinning, so it neither reads nor
 * changes the system's package state. Host apt.conf.d still applies, which is
 * where proxies and mirror settings live.
 */
export class IsolatedApt {
  readonly arch: Arch;
  readonly stateDir: string;
  private readonly debian: RuntimeLock['debian'];
  private prepared = false;
  private updated = false;

  constructor(arch: Arch, debian: RuntimeLock['debian'], cacheDir: string) {
    this.arch = arch;
    this.debian = debian;
    this.stateDir = join(cacheDir, 'apt', arch);
  }

  options(): string[] {
    const dir = this.stateDir;
    return [
      `-oAPT::Architecture=${this.arch}`,
      `-oAPT::Architectures=${this.arch}`,
      `-oDir::Etc::SourceList=${join(dir, 'sources.list')}`,
      `-oDir::Etc::SourceParts=${join(dir, 'sources.list.d')}`,
      `-oDir::Etc::Preferences=${join(dir, 'preferences')}`,
      `-oDir::Etc::PreferencesParts=${join(dir, 'preferences.d')}`,
      `-oDir::State::Lists=${join(dir, 'lists')}`,
      `-oDir::State::Status=${join(dir, 'status')}`,
      `-oDir::Cache=${join(dir, 'cache')}`,
      '-oDebug::NoLocking=1',
      // The _apt sandbox user cannot write into a cache owned by whoever runs the build.
      '-oAPT::Sandbox::User=root',
      '-oAcquire::Languages=none',
      '-qq',
    ];
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    const dir = this.stateDir;
    for (const sub of ['sources.list.d', 'preferences.d', 'lists/partial', 'cache/archives/partial']) {
      await mkdir(join(dir, sub), { recursive: true });
    }
    await writeFile(join(dir, 'sources.list'), sourcesList(this.debian));
    await writeFile(join(dir, 'status'), '');
    await writeFile(join(dir, 'preferences'), '');
    this.prepared = true;
  }

  async run(args: string[], cwd?: string): Promise<string> {
    await this.prepare();
    const result = await execa('apt-get', [...this.options(), ...args], {
      cwd: cwd ?? this.stateDir,
      env: { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
      stdin: 'ignore',
    });
    return result.stdout;
  }

  async cache(args: string[]): Promise<string> {
    await this.prepare();
    const result = await execa('apt-cache', [...this.options(), ...args], { env: { LC_ALL: 'C' }, timeout: 120_000, stdin: 'ignore' });
    return result.stdout;
  }

  async update(): Promise<void> {
    if (this.updated) return;
    try {
      await this.run(['update']);
    } catch (cause) {
      throw new CatalogError('RUNTIME_APT_UPDATE_FAILED', `apt-get update for ${this.arch} failed (Debian mirrors unreachable?)`, {
        hint: 'check network access to the mirrors named in src/build/runtime/runtime.lock.json',
        cause,
      });
    }
    this.updated = true;
  }

  /**
   * Returns the path of each locked .deb in the download cache, downloading
   * the missing ones. Every file is checked against the lock's sha256.
   */
  async fetch(entries: DebLock[], cacheDir: string): Promise<Map<DebLock, string>> {
    const dir = join(cacheDir, 'downloads', 'deb');
    await mkdir(dir, { recursive: true });
    const paths = new Map<DebLock, string>();
    const missing: DebLock[] = [];
    for (const entry of entries) {
      const path = join(dir, debFileName(entry));
      const actual = await fileSha256(path).catch(() => undefined);
      if (actual === entry.sha256) paths.set(entry, path);
      else missing.push(entry);
    }
    if (missing.length === 0) return paths;

    await this.update();
    const staging = await mkdtemp(join(dir, `.download-${this.arch}-`));
    try {
      try {
        await this.run(['download', ...missing.map((entry) => `${entry.package}=${entry.version}`)], staging);
      } catch (cause) {
        // apt names only the first missing version; ask about each so the error lists them all.
        const unavailable: string[] = [];
        for (const entry of missing) {
          const shown = await this.cache(['show', `${entry.package}=${entry.version}`]).catch(() => '');
          if (!shown.includes(`Version: ${entry.version}`)) unavailable.push(`${entry.package}=${entry.version} (${this.arch})`);
        }
        throw new CatalogError(
          'RUNTIME_PACKAGE_UNAVAILABLE',
          unavailable.length > 0
            ? `pinned Debian package${unavailable.length > 1 ? 's' : ''} ${unavailable.join(', ')} can no longer be fetched from the mirrors`
            : `apt-get download failed for ${missing.map((entry) => `${entry.package}=${entry.version}`).join(', ')} (${this.arch})`,
          { hint: 'refresh the lock with `npx node scripts/lock-runtime.ts`, review the diff, and commit it', cause },
        );
      }
      for (const entry of missing) {
        const fetched = join(staging, debFileName(entry));
        const actual = await fileSha256(fetched).catch(() => undefined);
        if (actual === undefined) {
          throw new CatalogError('RUNTIME_PACKAGE_UNAVAILABLE', `apt-get did not produce ${debFileName(entry)} for ${entry.package}=${entry.version} (${this.arch})`, {
            hint: 'refresh the lock with `npx node scripts/lock-runtime.ts`',
          });
        }
        if (actual !== entry.sha256) {
          throw new CatalogError(
            'RUNTIME_INTEGRITY_MISMATCH',
            `Debian package ${entry.package}=${entry.version} (${this.arch}) has sha256 ${actual}, but the lock pins ${entry.sha256}`,
            { hint: 'the mirror served different bytes than were locked; do not use them' },
          );
        }
        const path = join(dir, debFileName(entry));
        await rename(fetched, path);
        paths.set(entry, path);
      }
      return paths;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}
