/**
 * Unpacks a step image from an OCI layout with tools this project did not
 * write (skopeo picks the platform, umoci unpacks the layers) and runs its
 * entrypoint under chroot, as the image's user, with only the image's env.
 * Needs root (chroot and umoci's ownership-preserving unpack) and the
 * Debian packages skopeo and umoci.
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { repoRoot } from './shared.ts';

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
}

/** The image config (the runtime part) of one platform of a tagged index, read through the digest-checked layout. */
export async function readImageConfig(layoutDir: string, refName: string, arch: 'amd64' | 'arm64' = 'amd64'): Promise<ImageConfig> {
  const layout = await OciLayout.open(layoutDir);
  const tagged = await layout.resolve(refName);
  if (!tagged) throw new Error(`${layoutDir} has no image tagged ${refName}`);
  const index = await layout.readJson<ImageIndex>(tagged.digest);
  const entry = index.manifests.find((manifest) => manifest.platform?.os === 'linux' && manifest.platform.architecture === arch);
  if (!entry) throw new Error(`${refName} has no linux/${arch} manifest`);
  const manifest = await layout.readJson<ImageManifest>(entry.digest);
  const config = await layout.readJson<{ config?: ImageConfig }>(manifest.config.digest);
  return config.config ?? {};
}

export async function unpackImage(
  layoutDir: string,
  refName: string,
  arch: 'amd64' | 'arm64' = 'amd64',
): Promise<{ rootfs: string; config: ImageConfig; cleanup(): Promise<void> }> {
  const config = await readImageConfig(layoutDir, refName, arch);
  const work = await mkdtemp(join(tmpdir(), 'step-image-'));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    // umoci refuses a multi-platform tag as ambiguous, so skopeo first copies the one platform into its own layout.
    const single = join(work, 'single');
    await execa('skopeo', ['copy', '--quiet', '--override-os', 'linux', '--override-arch', arch, `oci:${layoutDir}:${refName}`, `oci:${single}:image`], {
      timeout: 120_000,
    });
    const bundle = join(work, 'bundle');
    await execa('umoci', ['unpack', '--image', `${single}:image`, bundle], { timeout: 120_000 });
    await rm(single, { recursive: true, force: true });
    return { rootfs: join(bundle, 'rootfs'), config, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Reads umoci's generated runtime-spec config.json, for checks that compare it with the image config. */
export async function readRuntimeSpec(rootfs: string): Promise<{ process?: { args?: string[]; env?: string[]; user?: { uid: number; gid: number } } }> {
  return JSON.parse(await readFile(join(rootfs, '..', 'config.json'), 'utf8'));
}

/** Absolute path of a host program, since env -i drops the PATH it would be looked up in. */
function hostTool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed on this host`);
}

function parseUser(user: string | undefined): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  if (!match) throw new Error(`image User ${JSON.stringify(user)} is not numeric uid[:gid]`);
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

export async function runEntrypoint(
  rootfs: string,
  config: ImageConfig,
  options: { args?: string[]; env?: Record<string, string>; uid?: number; gid?: number; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const entrypoint = config.Entrypoint ?? [];
  if (entrypoint.length === 0) throw new Error('image config has no Entrypoint');
  const user = options.uid === undefined ? parseUser(config.User) : { uid: options.uid, gid: options.gid ?? options.uid };
  const env: Record<string, string> = {};
  for (const pair of config.Env ?? []) {
    const equals = pair.indexOf('=');
    if (equals > 0) env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  Object.assign(env, options.env);
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`environment variable name ${JSON.stringify(key)} is not portable`);
  }
  const cwd = options.cwd ?? config.WorkingDir ?? '/';
  const command = [...entrypoint, ...(options.args ?? config.Cmd ?? [])];
  // chroot(1) always starts the program in /; util-linux unshare does the same root and user switch and can also set the
  // working directory, so it stands in whenever the image (or caller) asks for another one, as a container runtime would.
  const launcher =
    cwd === '/'
      ? [hostTool('chroot'), `--userspec=${user.uid}:${user.gid}`, rootfs]
      : [hostTool('unshare'), `--root=${rootfs}`, `--wd=${cwd}`, `--setgid=${user.gid}`, `--setuid=${user.uid}`, '--'];
  // The host's env(1) starts from an empty environment: tap wraps child_process and would otherwise slip its own
  // NODE_OPTIONS into the child, which the program inside the rootfs must not see (and could not load).
  const result = await execa(hostTool('env'), ['-i', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), ...launcher, ...command], {
    reject: false,
    timeout: options.timeoutMs ?? 30_000,
    stdin: 'ignore',
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Bundles a small TypeScript program the way step programs are bundled: one ESM file, no imports left at run time. */
export async function bundleProgram(source: string): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    stdin: { contents: source, loader: 'ts', resolveDir: process.cwd() },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output');
  return output.contents;
}

/** The repository's download cache, shared by the build and tests so .deb and node packages are fetched once. */
export const repoCacheDir = join(repoRoot, '.cache');

/**
 * A cache folder with no built layers that shares the repository's download
 * cache: what "a clean build with downloads cached" means. Apt state stays
 * private, so concurrent tests never update the same package lists.
 */
export async function freshLayerCache(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  await mkdir(join(repoCacheDir, 'downloads'), { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'layer-cache-'));
  await symlink(join(repoCacheDir, 'downloads'), join(dir, 'downloads'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
