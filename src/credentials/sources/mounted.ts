import { realpath } from 'node:fs/promises';
import { quoteUntrusted } from '../../errors.ts';
import { CredentialsError, CredentialsErrorCode, describeSystemError } from '../errors.ts';
import { Folder } from '../folder.ts';
import type { Redactor } from '../redactor.ts';
import { MAX_SECRET_BYTES, SECRET_KEY, secretKeys, type LoadedSecret, type SecretType } from '../secret.ts';
import { readMountedFile, type MountedRead } from './mount.ts';

/**
 * Reads a Secret mounted as a workspace: one file per key. Kubernetes
 * mounts each key as a symlink into a timestamped "..data" folder, so links
 * are followed, but only downwards inside the mount (readMountedFile). Only
 * the keys the type needs are read; each value is handed to the redactor
 * before anything else happens to it.
 */
export async function readMountedSecret(options: {
  dir: string;
  label: string;
  type: SecretType;
  declaredKeys: readonly string[];
  redactor: Redactor;
}): Promise<LoadedSecret> {
  const { dir, label, type, redactor } = options;
  let root: Folder;
  try {
    root = await Folder.open(await realpath(dir));
  } catch (error) {
    throw new CredentialsError(
      CredentialsErrorCode.secretMissing,
      `${label}: the secret workspace cannot be read: ${describeSystemError(error)}`,
      { hint: 'bind the "secret" workspace to the Secret (workspaces: - name: secret, secret: {secretName: ...})' },
    );
  }
  try {
    return await readKeys(root, options);
  } finally {
    await root.close();
  }
}

async function readKeys(
  root: Folder,
  options: { label: string; type: SecretType; declaredKeys: readonly string[]; redactor: Redactor },
): Promise<LoadedSecret> {
  const { label, type, redactor } = options;
  const { required, optional } = secretKeys(type, options.declaredKeys);
  const data = new Map<string, Buffer>();
  for (const key of [...required, ...optional]) {
    if (!SECRET_KEY.test(key)) {
      throw new CredentialsError(CredentialsErrorCode.input, `secret key ${quoteUntrusted(key)} is not a valid Secret key name`);
    }
    const value = await readKey(root, key, label);
    if (value === undefined) {
      if (required.includes(key)) {
        throw new CredentialsError(
          CredentialsErrorCode.secretKeyMissing,
          `${label} has no key ${quoteUntrusted(key)}, which type ${type} needs`,
          { hint: 'check that the bound Secret has that key and the declared secret-type is right' },
        );
      }
      continue;
    }
    redactor.add(value);
    data.set(key, value);
  }
  return { label, type, source: 'workspace', data };
}

const REFUSALS: Record<Exclude<MountedRead, { kind: 'found' | 'missing' }>['reason'], string> = {
  outside: 'links outside the secret workspace',
  'not-a-file': 'is not a regular file',
  'too-large': `is larger than ${MAX_SECRET_BYTES} bytes, the most a Secret holds`,
  'too-many-links': `goes through more than 8 links`,
  replaced: 'was replaced while it was read',
};

async function readKey(root: Folder, key: string, label: string): Promise<Buffer | undefined> {
  let read: MountedRead;
  try {
    read = await readMountedFile(root, key, MAX_SECRET_BYTES);
  } catch (error) {
    throw readFailure(label, key, error);
  }
  if (read.kind === 'missing') return undefined;
  if (read.kind === 'found') return read.bytes;
  throw new CredentialsError(CredentialsErrorCode.secretMalformed, `${label} key ${quoteUntrusted(key)} ${REFUSALS[read.reason]}`, {
    hint: 'bind the secret workspace to the Secret itself (workspaces: - name: secret, secret: {secretName: ...}), not to a folder a task can write',
  });
}

function readFailure(label: string, key: string, error: unknown): CredentialsError {
  return new CredentialsError(
    CredentialsErrorCode.secretMissing,
    `${label} key ${quoteUntrusted(key)} cannot be read: ${describeSystemError(error)}`,
    { hint: 'the step user (65532) must be able to read the Secret volume; check defaultMode' },
  );
}
