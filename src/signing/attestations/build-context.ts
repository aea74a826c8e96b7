import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sha256Digest, type Digest } from '../../oci/digest.ts';
import { sourceDateEpoch } from '../../oci/tar-layer.ts';
import { SigningErrorCode, signingError } from '../errors.ts';

const execFileAsync = promisify(execFile);

/** What the provenance says about how the catalog was built. */
export interface BuildContext {
  /** https URL of the source repository. */
  sourceRepository: string;
  /** The 40-hex git commit the catalog was built from. */
  sourceCommit: string;
  /** The git ref that commit was checked out as, when known. */
  sourceRef?: string;
  builderId: string;
  builderVersion: Record<string, string>;
  buildCommand: string;
  registry: string;
  sourceDateEpoch: number;
  /** The pinned inputs, by repository path, with the sha256 of their bytes. */
  lockFiles: { path: string; digest: Digest }[];
  /** The CI run that signed, when known. */
  invocationId?: string;
}

export interface BuildContextInput {
  registry: string;
  sourceRepository?: string;
  sourceCommit?: string;
  sourceRef?: string;
  builderId?: string;
  buildCommand?: string;
  /** Accept a working tree with uncommitted changes (never for a release). */
  allowDirty?: boolean;
}

export const RUNTIME_LOCK_FILE = 'src/build/runtime/runtime.lock.json';
export const PACKAGE_LOCK_FILE = 'package-lock.json';
export const LOCAL_BUILDER_ID = 'urn:hardened-tekton-catalog:builder:local';

/**
 * Resolves the build context from explicit options first, then the GitHub
 * Actions environment, then git. A commit found in the working tree counts
 * only when the tree has no uncommitted changes to tracked files: otherwise
 * no commit describes what was built.
 */
export async function resolveBuildContext(repoRoot: string, input: BuildContextInput, env: NodeJS.ProcessEnv = process.env): Promise<BuildContext> {
  const github = env.GITHUB_ACTIONS === 'true' ? githubContext(env) : {};
  let sourceCommit = input.sourceCommit ?? github.sourceCommit;
  if (sourceCommit === undefined) {
    sourceCommit = await git(repoRoot, ['rev-parse', 'HEAD']);
    if (sourceCommit === undefined) throw signingError(SigningErrorCode.sourceUnknown, `cannot find the source commit of ${repoRoot}`, 'run from a git checkout, or pass --source-commit');
    const dirty = await git(repoRoot, ['status', '--porcelain', '--untracked-files=no']);
    if (dirty !== undefined && dirty !== '' && !input.allowDirty) {
      throw signingError(SigningErrorCode.sourceDirty, `${repoRoot} has uncommitted changes, so no commit describes what was built`, 'commit (or stash) and rebuild before signing');
    }
  }
  if (!/^[0-9a-f]{40}$/.test(sourceCommit)) throw signingError(SigningErrorCode.sourceUnknown, 'the source commit must be 40 lowercase hex characters (a full git SHA-1)');
  const rawRepository = input.sourceRepository ?? github.sourceRepository ?? (await git(repoRoot, ['config', '--get', 'remote.origin.url']));
  if (rawRepository === undefined || rawRepository === '') {
    throw signingError(SigningErrorCode.sourceUnknown, 'cannot find the source repository URL', 'pass --source-repository https://github.com/<org>/<repo>');
  }
  const sourceRepository = normaliseRepositoryUrl(rawRepository);
  const context: BuildContext = {
    sourceRepository,
    sourceCommit,
    builderId: input.builderId ?? github.builderId ?? LOCAL_BUILDER_ID,
    builderVersion: await builderVersion(repoRoot),
    buildCommand: input.buildCommand ?? `npm ci && npm run build -- --registry ${input.registry}`,
    registry: input.registry,
    sourceDateEpoch: sourceDateEpoch(env),
    lockFiles: [],
  };
  const ref = input.sourceRef ?? github.sourceRef;
  if (ref !== undefined) context.sourceRef = ref;
  if (github.invocationId !== undefined) context.invocationId = github.invocationId;
  for (const path of [RUNTIME_LOCK_FILE, PACKAGE_LOCK_FILE]) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(repoRoot, path));
    } catch {
      throw signingError(SigningErrorCode.sourceUnknown, `cannot read ${path} in ${repoRoot}`, 'sign from the checkout the catalog was built from');
    }
    context.lockFiles.push({ path, digest: sha256Digest(bytes) });
  }
  return context;
}

/** git@github.com:org/repo.git and https://github.com/org/repo.git both become https://github.com/org/repo. */
export function normaliseRepositoryUrl(raw: string): string {
  let url = raw.trim().replace(/^git\+/, '');
  const scp = /^[A-Za-z0-9._-]+@([A-Za-z0-9.-]+):(.+)$/.exec(url);
  if (scp) url = `https://${scp[1]}/${scp[2]}`;
  url = url.replace(/^ssh:\/\/[^@/]+@/, 'https://').replace(/\.git$/, '').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw signingError(SigningErrorCode.sourceUnknown, 'the source repository is not a URL', 'pass --source-repository https://github.com/<org>/<repo>');
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw signingError(SigningErrorCode.sourceUnknown, 'the source repository must be a plain https URL without credentials', 'pass --source-repository https://github.com/<org>/<repo>');
  }
  return `${parsed.origin}${parsed.pathname}`;
}

function githubContext(env: NodeJS.ProcessEnv): Partial<Pick<BuildContext, 'sourceRepository' | 'sourceCommit' | 'sourceRef' | 'builderId' | 'invocationId'>> {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const out: Partial<Pick<BuildContext, 'sourceRepository' | 'sourceCommit' | 'sourceRef' | 'builderId' | 'invocationId'>> = {};
  if (env.GITHUB_REPOSITORY) out.sourceRepository = `${server}/${env.GITHUB_REPOSITORY}`;
  if (env.GITHUB_SHA) out.sourceCommit = env.GITHUB_SHA;
  if (env.GITHUB_REF) out.sourceRef = env.GITHUB_REF;
  // The workflow file and ref: the same string Fulcio puts in the certificate's SAN.
  if (env.GITHUB_WORKFLOW_REF) out.builderId = `${server}/${env.GITHUB_WORKFLOW_REF}`;
  if (env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) out.invocationId = `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT ?? '1'}`;
  return out;
}

async function builderVersion(repoRoot: string): Promise<Record<string, string>> {
  const version: Record<string, string> = { node: process.versions.node };
  try {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (pkg.name && pkg.version) version[pkg.name] = pkg.version;
    const lock = JSON.parse(await readFile(join(repoRoot, PACKAGE_LOCK_FILE), 'utf8')) as { packages?: Record<string, { version?: string }> };
    const esbuild = lock.packages?.['node_modules/esbuild']?.version;
    if (esbuild) version.esbuild = esbuild;
  } catch {
    // The versions are informative; the lock files' digests are what pins the inputs.
  }
  return version;
}

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('git', ['-C', cwd, ...args], { timeout: 10_000, maxBuffer: 1024 * 1024 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}
