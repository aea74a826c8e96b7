/**
 * Test secrets and the independent leak scanner. Every secret value is
 * random and long, so finding one of its forms in an output can only mean
 * it leaked. The scanner derives the forms itself rather than trusting the
 * Redactor under test.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const token = (prefix: string) => `${prefix}_${randomBytes(18).toString('base64url')}`;

export interface SshFixture {
  privateKey: string;
  encryptedKey: string;
  hostPublicKey: string;
  otherHostPublicKey: string;
}

/** Real keys from ssh-keygen: an unencrypted client key, an encrypted one, and two host keys. */
export function makeSshFixture(): SshFixture {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-fixture-'));
  try {
    const keygen = (file: string, passphrase: string) =>
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', join(dir, file)], { stdio: 'pipe', timeout: 30_000 });
    keygen('client', '');
    keygen('encrypted', 'correct horse battery');
    keygen('host', '');
    keygen('other', '');
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    return {
      privateKey: read('client'),
      encryptedKey: read('encrypted'),
      hostPublicKey: read('host.pub').trim(),
      otherHostPublicKey: read('other.pub').trim(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every form a secret could take in an output, derived independently of the code under test. */
export function leakForms(secret: string): string[] {
  const forms = new Set<string>();
  for (const value of [secret, secret.trim()]) {
    if (value.length < 8) continue;
    const bytes = Buffer.from(value, 'utf8');
    forms.add(value);
    forms.add(bytes.toString('base64'));
    forms.add(bytes.toString('base64').replace(/=+$/, ''));
    forms.add(bytes.toString('base64url'));
    forms.add(JSON.stringify(value).slice(1, -1));
    forms.add(encodeURIComponent(value));
  }
  for (const line of secret.split('\n')) if (line.trim().length >= 24 && !line.startsWith('-----')) forms.add(line.trim());
  return [...forms];
}

export interface Haystack {
  readonly name: string;
  readonly content: string | Buffer;
}

/** Names every (haystack, secret) pair where some form of the secret occurs. */
export function findLeaks(haystacks: readonly Haystack[], secrets: readonly string[]): string[] {
  const leaks: string[] = [];
  for (const haystack of haystacks) {
    const text = Buffer.isBuffer(haystack.content) ? haystack.content.toString('latin1') : haystack.content;
    secrets.forEach((secret, index) => {
      if (leakForms(secret).some((form) => text.includes(form))) leaks.push(`secret #${index} in ${haystack.name}`);
    });
  }
  return leaks;
}

/** Every regular file under dir (not following links), except below the excluded folders. */
export async function filesUnder(dir: string, exclude: readonly string[] = []): Promise<Haystack[]> {
  const out: Haystack[] = [];
  const walk = async (path: string): Promise<void> => {
    if (exclude.includes(path)) return;
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (info.isDirectory()) {
      for (const name of await readdir(path)) await walk(join(path, name));
    } else if (info.isFile()) {
      out.push({ name: path, content: await readFile(path) });
    }
  };
  await walk(dir);
  return out;
}
