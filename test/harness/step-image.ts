/**
 * Unpacks a step image from an OCI layout with tools this project did not
 * write (skopeo picks the platform, umoci unpacks the layers) and runs a
 * program in it under chroot with a read-only root (container.ts), as the
 * image's user, with only the image's env and the step's. Needs root
 * (mount namespaces, chroot and umoci's ownership-preserving unpack) and
 * the Debian packages skopeo and umoci.
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { OciLayout } from '../../src/oci/layout.ts';
import type { ImageIndex, ImageManifest } from '../../src/oci/media-types.ts';
import { commandOfRenderedArgs } from './catalog-task.ts';
import { containerEnvironment, emptyDir, runContainer, type ContainerMount } from './container.ts';
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

function parseUser(user: string | undefined): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  if (!match) throw new Error(`image User ${JSON.stringify(user)} is not numeric uid[:gid]`);
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

/**
 * Where a Tekton step may write although its root filesystem is read-only:
 * the Task's /tmp emptyDir and Tekton's own emptyDirs for /workspace (where
 * workspaces are mounted by default), /tekton/home and /tekton/results
 * (tektoncd/pipeline pkg/pod/pod.go implicitVolumeMounts).
 */
export const WRITABLE_STEP_PATHS = ['/tmp', '/workspace', '/tekton/home', '/tekton/results'] as const;

export interface RunEntrypointOptions {
  args?: string[];
  /** The step's command; args rendered by renderStep carry theirs. */
  command?: string[];
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
  cwd?: string;
  /** More mounts; by default only WRITABLE_STEP_PATHS are writable, each backed by its own folder in the rootfs. */
  mounts?: ContainerMount[];
  network?: 'host' | 'none';
}

/**
 * Runs a program in an unpacked image as a Tekton step would run: the root
 * filesystem read-only to everyone, /tmp, /workspace, /tekton/home and
 * /tekton/results writable (their folders inside the rootfs are bound onto
 * themselves, so tests can prepare and read them there), as the image's
 * user, with the image's env plus `env` and HOME as runc sets it.
 *
 * What runs: `command` + `args` when a command is given or the args came
 * from renderStep (then the step's command from the YAML, and a step
 * without one fails: never the image's Entrypoint, which only a registry
 * lookup by Tekton's controller would supply). Without either, the image's
 * Entrypoint and Cmd, for tests of the image itself.
 */
export async function runEntrypoint(rootfs: string, config: ImageConfig, options: RunEntrypointOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const rendered = commandOfRenderedArgs(options.args);
  let argv: string[];
  if (options.command !== undefined) {
    argv = [...options.command, ...(options.args ?? [])];
  } else if (rendered !== 'not-rendered') {
    if (rendered === undefined || rendered.length === 0) throw new Error('the step has no command in the Task YAML; Tekton would have to look the entrypoint up in the registry');
    argv = [...rendered, ...(options.args ?? [])];
  } else {
    const entrypoint = config.Entrypoint ?? [];
    if (entrypoint.length === 0) throw new Error('image config has no Entrypoint');
    argv = [...entrypoint, ...(options.args ?? config.Cmd ?? [])];
  }
  const user = options.uid === undefined ? parseUser(config.User) : { uid: options.uid, gid: options.gid ?? options.uid };
  const mounts: ContainerMount[] = [];
  for (const path of WRITABLE_STEP_PATHS) {
    const source = join(rootfs, path);
    if (!existsSync(source)) await emptyDir(source);
    mounts.push({ path, source });
  }
  mounts.push(...(options.mounts ?? []));
  return runContainer({
    rootfs,
    argv,
    env: containerEnvironment(config.Env, options.env ?? {}, rootfs, user.uid),
    uid: user.uid,
    gid: user.gid,
    workingDir: options.cwd ?? config.WorkingDir ?? '/',
    mounts,
    ...(options.network ? { network: options.network } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
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
