import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CatalogError } from '../../errors.ts';

/** The two architectures every step image is built for. */
export const ARCHES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

/** The committed lock sits beside this module so the build never depends on the working directory. */
export const RUNTIME_LOCK_PATH = fileURLToPath(new URL('./runtime.lock.json', import.meta.url));

const Sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters');
const Sha512Integrity = z.string().regex(/^sha512-[A-Za-z0-9+/]{86}==$/, 'must be an npm sha512 integrity string');
/** Debian and npm names and versions end up on command lines, so only their documented alphabets are accepted. */
const DebName = z.string().regex(/^[a-z0-9][a-z0-9+.-]{1,80}$/, 'must be a Debian package name');
const DebVersion = z.string().regex(/^[A-Za-z0-9.+~:-]{1,80}$/, 'must be a Debian version');
const NpmName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,100}$/, 'must be an unscoped npm package name');
const NpmVersion = z.string().regex(/^\d+\.\d+\.\d+$/, 'must be an exact semver version');

export const NodePackageLockSchema = z.strictObject({
  name: NpmName,
  version: NpmVersion,
  integrity: Sha512Integrity,
});
export type NodePackageLock = z.infer<typeof NodePackageLockSchema>;

export const DebLockSchema = z.strictObject({
  package: DebName,
  version: DebVersion,
  /** The .deb's own architecture: the image arch, or `all` for arch-independent packages such as ca-certificates. */
  architecture: z.enum(['amd64', 'arm64', 'all']),
  sha256: Sha256Hex,
  size: z.number().int().positive(),
});
export type DebLock = z.infer<typeof DebLockSchema>;

export const AptSourceSchema = z.strictObject({
  uri: z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/, 'must be an http(s) mirror URL'),
  suite: z.string().regex(/^[a-z0-9-]+$/),
  components: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1),
});
export type AptSource = z.infer<typeof AptSourceSchema>;

/** Both architectures' packages of one kind. */
const PerArchDebsSchema = z.strictObject({ amd64: z.array(DebLockSchema).min(1), arm64: z.array(DebLockSchema).min(1) });

export const RuntimeLockSchema = z.strictObject({
  lockVersion: z.literal(1),
  debian: z.strictObject({
    /** Release files are checked against this keyring, never the host's apt configuration. */
    keyring: z.string().startsWith('/'),
    sources: z.array(AptSourceSchema).min(1),
  }),
  node: z.strictObject({ amd64: NodePackageLockSchema, arm64: NodePackageLockSchema }),
  debs: PerArchDebsSchema,
  /**
   * Packages for one step image only, keyed by step program: a tool that one
   * program runs (workspace-guard's getfattr) goes into that image's own
   * layer, so every other image keeps its digest.
   */
  stepPackages: z.record(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a step program name'), PerArchDebsSchema).optional(),
});
export type RuntimeLock = z.infer<typeof RuntimeLockSchema>;

export function parseRuntimeLock(value: unknown, source = RUNTIME_LOCK_PATH): RuntimeLock {
  const parsed = RuntimeLockSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new CatalogError('RUNTIME_LOCK_INVALID', `${source}: field ${field} ${issue?.message ?? 'is invalid'}`, {
      hint: 'regenerate the lock with `npx node scripts/lock-runtime.ts`',
    });
  }
  return parsed.data;
}

export async function loadRuntimeLock(path = RUNTIME_LOCK_PATH): Promise<RuntimeLock> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CatalogError('RUNTIME_LOCK_MISSING', `cannot read the runtime lock ${path}`, {
      hint: 'create it with `npx node scripts/lock-runtime.ts`',
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CatalogError('RUNTIME_LOCK_INVALID', `${path} is not valid JSON`, { hint: 'regenerate it with `npx node scripts/lock-runtime.ts`', cause });
  }
  return parseRuntimeLock(json, path);
}
