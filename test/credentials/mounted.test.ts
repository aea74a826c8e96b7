import { mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
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

/**
 * Generated shapes of a secret workspace bound to a folder someone could
 * write instead of to the Secret: every way a key could lead out of the
 * mount, or block, or balloon, is refused with a clear code and never read.
 */
t.test('generated: links out of the mount, special files and oversized keys are refused without being read', async (t) => {
  const outsideSecret = token('outside');
  const outside = await mkdtemp(join(tmpdir(), 'secret-outside-'));
  t.teardown(() => rm(outside, { recursive: true, force: true }));
  await writeFile(join(outside, 'token'), outsideSecret);
  await mkdir(join(outside, 'dir'));
  await writeFile(join(outside, 'dir', 'token'), outsideSecret);

  type Shape = (dir: string) => Promise<void>;
  const shapes: Record<string, { make: Shape; code: string; message: RegExp }> = {};
  const refusedLink = (target: string): Shape => async (dir) => symlink(target, join(dir, 'token'));
  const linkTargets: Record<string, string> = {
    'an absolute link outside': join(outside, 'token'),
    'an absolute link to a file inside': '/proc/self/root/etc/hostname',
    'a relative link upwards': `../${outside.split('/').pop()}/token`,
    'a link up and down again': '..data/../../token',
    'a link through "."': './../token',
    'a link to ".."': '..',
  };
  for (const [name, target] of Object.entries(linkTargets)) {
    shapes[name] = { make: refusedLink(target), code: 'CONFIG_SECRET_MALFORMED', message: /links outside the secret workspace/ };
  }
  shapes['..data linked outside by an absolute path'] = {
    make: async (dir) => {
      await rm(join(dir, '..data'));
      await symlink(join(outside, 'dir'), join(dir, '..data'));
      await symlink('..data/token', join(dir, 'token'));
    },
    code: 'CONFIG_SECRET_MALFORMED',
    message: /links outside/,
  };
  shapes['..data linked outside by a relative path'] = {
    make: async (dir) => {
      await rm(join(dir, '..data'));
      await symlink(`../${outside.split('/').pop()}/dir`, join(dir, '..data'));
      await symlink('..data/token', join(dir, 'token'));
    },
    code: 'CONFIG_SECRET_MALFORMED',
    message: /links outside/,
  };
  shapes['a loop of links'] = {
    make: async (dir) => {
      await symlink('other', join(dir, 'token'));
      await symlink('token', join(dir, 'other'));
    },
    code: 'CONFIG_SECRET_MALFORMED',
    message: /more than 8 links/,
  };
  shapes['a chain of 9 links'] = {
    make: async (dir) => {
      await writeFile(join(dir, 'l9'), 'x');
      for (let i = 8; i >= 1; i--) await symlink(`l${i + 1}`, join(dir, `l${i}`));
      await symlink('l1', join(dir, 'token'));
    },
    code: 'CONFIG_SECRET_MALFORMED',
    message: /more than 8 links/,
  };
  shapes['a FIFO'] = { make: async (dir) => void (await execa('mkfifo', [join(dir, 'token')])), code: 'CONFIG_SECRET_MALFORMED', message: /is not a regular file/ };
  shapes['a link to a FIFO inside'] = {
    make: async (dir) => {
      await execa('mkfifo', [join(dir, 'pipe')]);
      await symlink('pipe', join(dir, 'token'));
    },
    code: 'CONFIG_SECRET_MALFORMED',
    message: /is not a regular file/,
  };
  shapes['a folder'] = { make: async (dir) => mkdir(join(dir, 'token')), code: 'CONFIG_SECRET_MALFORMED', message: /is not a regular file/ };
  shapes['a file over 1 MiB'] = {
    make: async (dir) => writeFile(join(dir, 'token'), Buffer.alloc(1024 * 1024 + 1, 0x61)),
    code: 'CONFIG_SECRET_MALFORMED',
    message: /larger than 1048576 bytes/,
  };
  shapes['a dangling link'] = { make: refusedLink('..data/token'), code: 'CONFIG_SECRET_KEY_MISSING', message: /has no key "token"/ };
  if (process.getuid?.() === 0) {
    shapes['a character device'] = {
      make: async (dir) => void (await execa('mknod', [join(dir, 'token'), 'c', '1', '3'])),
      code: 'CONFIG_SECRET_MALFORMED',
      message: /is not a regular file/,
    };
  } else {
    t.comment('character device shape needs root (mknod); not generated');
  }

  for (const [name, shape] of Object.entries(shapes)) {
    const dir = await kubeletSecretDir(t, { unrelated: 'x' });
    await shape.make(dir);
    const redactor = new Redactor();
    const error = await readMountedSecret({ dir, label: 'secret api', type: 'Opaque', declaredKeys: ['token'], redactor }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    t.match(error, { code: shape.code, message: shape.message }, name);
    t.notOk(String((error as Error | undefined)?.message).includes(outsideSecret), `${name}: nothing outside was read into the message`);
    t.equal(redactor.redact(outsideSecret), outsideSecret, `${name}: nothing outside was read at all`);
  }
});

t.test('generated: the layouts the kubelet really makes are read', async (t) => {
  const value = token('v');
  const layouts: Record<string, (dir: string) => Promise<void>> = {
    'key -> ..data/key, ..data -> ..<timestamp>': async () => undefined,
    'a plain file (a folder bound as the workspace)': async (dir) => {
      await rm(join(dir, 'token'));
      await writeFile(join(dir, 'token'), value);
    },
    'a key nested in a folder of the timestamped data': async (dir) => {
      await rm(join(dir, 'token'));
      const stamped = (await readlink(join(dir, '..data'))).toString();
      await mkdir(join(dir, stamped, 'nested'));
      await writeFile(join(dir, stamped, 'nested', 'token'), value);
      await symlink('..data/nested/token', join(dir, 'token'));
    },
    'links through "." segments and doubled slashes': async (dir) => {
      await rm(join(dir, 'token'));
      await symlink('./..data//./token', join(dir, 'token'));
    },
  };
  for (const [name, adjust] of Object.entries(layouts)) {
    const dir = await kubeletSecretDir(t, { token: value });
    await adjust(dir);
    const secret = await readMountedSecret({ dir, label: 'secret api', type: 'Opaque', declaredKeys: ['token'], redactor: new Redactor() });
    t.equal(secret.data.get('token')?.toString(), value, name);
  }
});
