import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { cleanupCredentials } from '../../src/credentials/cleanup.ts';
import { EXPIRES_AT_PATH, MANIFEST_PATH, parseExpiry, readCredentialsMarker } from '../../src/credentials/marker.ts';
import type { LoadedSecret } from '../../src/credentials/secret.ts';
import { CredentialsWorkspace, sha256Hex } from '../../src/credentials/workspace.ts';
import { token } from './fixtures.ts';

const secret: LoadedSecret = { label: 'secret test', type: 'Opaque', source: 'workspace', data: new Map() };
const now = new Date('2030-01-01T00:00:00Z');
const inAnHour = new Date('2030-01-01T01:00:00Z');

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'creds-ws-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('writes folders 0700 and files 0400, manifest first, with fingerprints', async (t) => {
  const dir = await tempDir(t);
  const value = token('v');
  const workspace = await CredentialsWorkspace.open(dir, now);
  const written = await workspace.write([{ path: 'files/a/b/token', content: Buffer.from(value) }], secret, inAnHour, now);
  t.same(written, [{ path: 'files/a/b/token', sha256: sha256Hex(Buffer.from(value)) }]);
  for (const folder of ['files', 'files/a', 'files/a/b', '.inject-credentials']) {
    t.equal((await lstat(join(dir, folder))).mode & 0o777, 0o700, `${folder} is 0700`);
  }
  for (const file of ['files/a/b/token', MANIFEST_PATH, EXPIRES_AT_PATH]) {
    const info = await lstat(join(dir, file));
    t.equal(info.mode & 0o777, 0o400, `${file} is 0400`);
    t.equal(info.uid, process.getuid!(), `${file} is owned by the step user`);
  }
  t.equal((await readFile(join(dir, EXPIRES_AT_PATH), 'utf8')).trim(), inAnHour.toISOString());
  const status = await readCredentialsMarker(dir, now);
  t.same(status?.marker.files, written);
  t.equal(status?.expired, false);
  t.equal((await readCredentialsMarker(dir, new Date('2030-01-01T01:00:01Z')))?.expired, true, 'past expires-at, the marker says expired');
  t.notOk((await readdir(join(dir, 'files/a/b'))).some((name) => name.includes('.tmp-')), 'no temp files remain');
});

t.test('refuses a workspace holding anything it did not write', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'planted'), 'x');
  await t.rejects(CredentialsWorkspace.open(dir, now), { code: 'CREDENTIALS_WORKSPACE_FOREIGN', violation: true, message: /"planted"/ });

  const linked = await tempDir(t);
  await symlink('/etc', join(linked, 'docker'));
  await t.rejects(CredentialsWorkspace.open(linked, now), { code: 'CREDENTIALS_WORKSPACE_FOREIGN', message: /"docker"/ });

  const tampered = await tempDir(t);
  await (await CredentialsWorkspace.open(tampered, now)).write([{ path: 'files/x', content: Buffer.from('ours') }], secret, inAnHour, now);
  await chmod(join(tampered, 'files/x'), 0o600);
  await writeFile(join(tampered, 'files/x'), 'changed');
  await t.rejects(CredentialsWorkspace.open(tampered, now), { code: 'CREDENTIALS_WORKSPACE_FOREIGN', message: /"files\/x"/ }, 'a changed file is not ours any more');

  await t.rejects(CredentialsWorkspace.open(join(dir, 'planted'), now), { code: 'CREDENTIALS_WORKSPACE_INVALID' });
});

t.test('a second injection adds to the manifest, keeps the earlier expiry and refuses to overwrite', async (t) => {
  const dir = await tempDir(t);
  await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/one', content: Buffer.from('1') }], secret, inAnHour, now);
  const second = await CredentialsWorkspace.open(dir, now);
  await second.write([{ path: 'files/two', content: Buffer.from('2') }], secret, new Date('2030-01-01T05:00:00Z'), now);
  const status = await readCredentialsMarker(dir, now);
  t.same(status?.marker.files.map((file) => file.path), ['files/one', 'files/two']);
  t.equal(status?.marker.expiresAt, inAnHour.toISOString(), 'the earliest expiry wins');
  await t.rejects((await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/one', content: Buffer.from('x') }], secret, inAnHour, now), {
    message: /already written by an earlier injection/,
  });
  await t.rejects(CredentialsWorkspace.open(dir, new Date('2030-01-01T02:00:00Z')), { code: 'CREDENTIALS_EXPIRED', violation: true });
});

t.test('a tampered marker is a violation, not an absent one', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, '.inject-credentials'));
  await writeFile(join(dir, MANIFEST_PATH), '{"version":1,"files":"nope"}');
  await t.rejects(readCredentialsMarker(dir, now), { code: 'CREDENTIALS_MARKER_INVALID', violation: true });
  t.equal(await readCredentialsMarker(await tempDir(t), now), undefined, 'no marker reads as undefined');
});

t.test('cleanup overwrites then removes everything, even after a half-finished injection, and is idempotent', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/a', content: Buffer.from(token('a')) }], secret, inAnHour, now);
  // The manifest also lists a file the "failed" injection never wrote, and a stray temp file is left behind.
  await writeFile(join(dir, 'files', 'b.tmp-1-abcd'), 'partial');
  // A hard link to a file outside: cleanup must unlink it, never write through it.
  await writeFile(join(outside, 'precious'), 'keep me');
  await link(join(outside, 'precious'), join(dir, 'files', 'hardlink'));
  await symlink(join(outside, 'precious'), join(dir, 'symlink'));
  const report = await cleanupCredentials(dir, now);
  t.same(await readdir(dir), [], 'the workspace is empty');
  t.equal(await readFile(join(outside, 'precious'), 'utf8'), 'keep me', 'linked files outside are untouched');
  t.ok(report.removed.includes('files/a'));
  t.same(report.unlisted.sort(), ['files/b.tmp-1-abcd', 'files/hardlink', 'symlink']);
  t.equal(report.overwritten, 4, 'our files (a, temp, manifest, expires-at) were overwritten; the hard link was not');
  t.same(report.violations, []);
  const again = await cleanupCredentials(dir, now);
  t.same(again.removed, [], 'a second cleanup finds nothing and succeeds');
});

t.test('cleanup of expired credentials still empties the workspace and reports a violation', async (t) => {
  const dir = await tempDir(t);
  await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/a', content: Buffer.from('x') }], secret, inAnHour, now);
  const report = await cleanupCredentials(dir, new Date('2030-01-01T03:00:00Z'));
  t.same(await readdir(dir), []);
  t.match(report.violations, [/expired at 2030-01-01T01:00:00.000Z/]);
});

t.test('expires: TTLs and RFC 3339 times, in the future and at most 24h ahead', async (t) => {
  t.equal(parseExpiry('15m', now).toISOString(), '2030-01-01T00:15:00.000Z');
  t.equal(parseExpiry('2030-01-01T02:00:00+01:00', now).toISOString(), '2030-01-01T01:00:00.000Z');
  for (const bad of ['0s', '25h', '2029-12-31T23:00:00Z', 'tomorrow', '15']) {
    t.throws(() => parseExpiry(bad, now), { code: 'CONFIG_CREDENTIALS_INPUT' }, bad);
  }
});
