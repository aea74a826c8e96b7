import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Redactor } from '../../src/credentials/redactor.ts';
import { readMountedSecret } from '../../src/credentials/sources/mounted.ts';
import { token } from './fixtures.ts';

/** The layout the kubelet gives a Secret volume: key -> ..data/key, ..data -> ..<timestamp>/. */
async function kubeletSecretDir(t: { teardown(fn: () => Promise<void>): void }, data: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'secret-volume-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stamped = join(dir, '..2030_01_01_00_00_00.123456789');
  await mkdir(stamped);
  for (const [key, value] of Object.entries(data)) await writeFile(join(stamped, key), value, { mode: 0o444 });
  await symlink('..2030_01_01_00_00_00.123456789', join(dir, '..data'));
  for (const key of Object.keys(data)) await symlink(join('..data', key), join(dir, key));
  return dir;
}

t.test('reads a kubelet Secret volume through its ..data links, only the keys the type needs', async (t) => {
  const password = token('pw');
  const other = token('other');
  const dir = await kubeletSecretDir(t, { username: 'bot', password, unrelated: other });
  const redactor = new Redactor();
  const secret = await readMountedSecret({ dir, label: 'secret git', type: 'kubernetes.io/basic-auth', declaredKeys: [], redactor });
  t.same([...secret.data.keys()].sort(), ['password', 'username']);
  t.equal(secret.data.get('password')?.toString(), password);
  t.equal(redactor.redact(password), '[REDACTED]', 'values go to the redactor as they are read');
  t.equal(redactor.redact(other), other, 'keys the type does not need are never read');
});

t.test('refuses a key that links outside the mount, and names a missing key', async (t) => {
  const dir = await kubeletSecretDir(t, { username: 'bot' });
  await symlink('/etc/hostname', join(dir, 'password'));
  await t.rejects(readMountedSecret({ dir, label: 'secret git', type: 'kubernetes.io/basic-auth', declaredKeys: [], redactor: new Redactor() }), {
    code: 'CONFIG_SECRET_MALFORMED',
    message: /key "password" links outside the secret workspace/,
  });
  const missing = await kubeletSecretDir(t, { username: 'bot' });
  await t.rejects(readMountedSecret({ dir: missing, label: 'secret git', type: 'kubernetes.io/basic-auth', declaredKeys: [], redactor: new Redactor() }), {
    code: 'CONFIG_SECRET_KEY_MISSING',
    message: /secret git has no key "password"/,
  });
  await t.rejects(readMountedSecret({ dir: join(missing, 'nope'), label: 'secret git', type: 'Opaque', declaredKeys: ['k'], redactor: new Redactor() }), {
    code: 'CONFIG_SECRET_MISSING',
  });
});
