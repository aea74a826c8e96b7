/**
 * Runs a program in an unpacked image root the way a Kubernetes container
 * with our hardened securityContext would see it, as far as a root process
 * on one machine can show it:
 *
 * - readOnlyRootFilesystem: the root is bind-mounted onto itself and
 *   remounted read-only in a private mount namespace (unshare --mount), so a
 *   write anywhere outside a mount fails with EROFS, even where the image's
 *   owner and modes would allow it (/home/nonroot belongs to 65532);
 * - volume mounts: each given host folder is bind-mounted at its path,
 *   read-only when the Kubernetes mount would be (readOnly workspaces,
 *   Secrets, ConfigMaps);
 * - the user: uid and gid from the securityContext, no supplementary groups;
 * - the working directory: the step's workingDir, else the image's, else "/";
 * - the environment: the image's Env, then the container's env over it,
 *   then HOME as runc sets it when neither has one (the user's home in the
 *   image's /etc/passwd, "/" without an entry) (runc libcontainer
 *   setupUser: "if we didn't get HOME already, set it based on the user's
 *   HOME");
 * - networking: the host's, or none at all (a new network namespace with
 *   only a loopback that is down).
 *
 * Not emulated: /proc, /dev, /sys, the /etc/hosts and /etc/resolv.conf
 * Kubernetes mounts, cgroup limits, seccomp and dropped capabilities
 * (the user is already unprivileged), and Kubernetes' service variables.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ContainerMount {
  /** Absolute path inside the container. */
  path: string;
  /** Host folder (or file) mounted there. */
  source: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  rootfs: string;
  /** Exactly what runs: the step's command and args; nothing comes from the image config here. */
  argv: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  workingDir: string;
  mounts: ContainerMount[];
  network?: 'host' | 'none';
  timeoutMs?: number;
}

/** Absolute path of a host program, since env -i drops the PATH it would be looked up in. */
export function hostTool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed on this host`);
}

/** The home runc gives a user without HOME in its environment: /etc/passwd of the image, else "/". */
export function passwdHome(rootfs: string, uid: number): string {
  const passwd = join(rootfs, 'etc', 'passwd');
  if (!existsSync(passwd)) return '/';
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 6 && Number(fields[2]) === uid && fields[2] !== '') return fields[5] || '/';
  }
  return '/';
}

/** The image Env list as a map, with the container's env over it and HOME as runc sets it. */
export function containerEnvironment(imageEnv: readonly string[] | undefined, env: Record<string, string>, rootfs: string, uid: number): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const pair of imageEnv ?? []) {
    const equals = pair.indexOf('=');
    if (equals > 0) merged[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  Object.assign(merged, env);
  if (merged.HOME === undefined || merged.HOME === '') merged.HOME = passwdHome(rootfs, uid);
  return merged;
}

// Runs inside the new mount namespace as root: the root bound onto itself, the mounts on it, then the root made
// read-only. A bind mount copies the read-only flag of the mount its source lives on, so the writable mounts are made
// while the root is still writable; remounting the root read-only afterwards changes that one mount only.
// Binds are recursive: a test may back a workspace with a tmpfs mounted inside the rootfs (an emptyDir with
// medium: Memory), and a plain bind would hide it behind the empty folder underneath.
const MOUNT_SCRIPT = `set -eu
mount=$1; root=$2; shift 2
"$mount" --rbind "$root" "$root"
readonly=""
while [ "$1" != "--" ]; do
  # The runtime makes a missing mount point inside whatever is mounted above it (e.g. /workspace/<name> in /workspace).
  if [ -d "$2" ]; then mkdir -p "$root$3"; elif [ ! -e "$root$3" ]; then mkdir -p "$(dirname "$root$3")"; : > "$root$3"; fi
  "$mount" --rbind "$2" "$root$3"
  if [ "$1" = ro ]; then readonly="$readonly $root$3"; fi
  shift 3
done
shift
"$mount" -o remount,bind,ro "$root"
for target in $readonly; do "$mount" -o remount,bind,ro "$target"; done
exec "$@"`;

export async function runContainer(spec: ContainerSpec): Promise<{ code: number; stdout: string; stderr: string }> {
  if (spec.argv.length === 0) throw new Error('nothing to run: the step has no command');
  for (const key of Object.keys(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`environment variable name ${JSON.stringify(key)} is not portable`);
  }
  for (const path of [spec.rootfs, ...spec.mounts.map((mount) => mount.path)]) {
    if (!path.startsWith('/') || path.split('/').includes('..') || /\s/.test(path)) throw new Error(`mount path ${path} must be absolute, without .. or spaces`);
  }
  const mountArgs = spec.mounts.flatMap((mount) => [mount.readOnly ? 'ro' : 'rw', mount.source, mount.path]);
  // chroot(1) always starts the program in /; util-linux unshare does the same root and user switch and can also set the
  // working directory, so it stands in whenever another one is asked for, as a container runtime would.
  const launcher =
    spec.workingDir === '/'
      ? [hostTool('chroot'), `--userspec=${spec.uid}:${spec.gid}`, spec.rootfs]
      : [hostTool('unshare'), `--root=${spec.rootfs}`, `--wd=${spec.workingDir}`, `--setgid=${spec.gid}`, `--setuid=${spec.uid}`, '--'];
  // The host's env(1) starts from an empty environment: tap wraps child_process and would otherwise slip its own
  // NODE_OPTIONS into the child, which the program inside the rootfs must not see (and could not load).
  const inner = [hostTool('env'), '-i', ...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`), ...launcher, ...spec.argv];
  const namespaces = ['--mount', '--propagation', 'private', ...(spec.network === 'none' ? ['--net'] : [])];
  const result = await execa(
    hostTool('unshare'),
    [...namespaces, '--', hostTool('sh'), '-c', MOUNT_SCRIPT, 'sh', hostTool('mount'), spec.rootfs, ...mountArgs, '--', ...inner],
    { reject: false, timeout: spec.timeoutMs ?? 30_000, stdin: 'ignore' },
  );
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh folder like a Kubernetes emptyDir: world-writable (kubelet creates it 0777). */
export async function emptyDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  await chmod(path, 0o777);
  return path;
}
