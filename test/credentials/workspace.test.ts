import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { cleanupCredentials } from '../../src/credentials/cleanup.ts';
import { EXPIRES_AT_PATH, MANIFEST_PATH, parseExpiry, readCredentialsMarker } from '../../src/credentials/marker.ts';
import type { LoadedSecret } from '../../src/credentials/secret.ts';
import { CredentialsWorkspace, sha256Hex } from '../../src/credentials/workspace.ts';
import { requireRoot } from '../harness/shared.ts';
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
  const { written, digest } = await workspace.write([{ path: 'files/a/b/token', content: Buffer.from(value) }], secret, inAnHour, now);
  t.same(written, [{ path: 'files/a/b/token', sha256: sha256Hex(Buffer.from(value)) }]);
  t.match(digest, /^sha256:[0-9a-f]{64}$/);
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

t.test('refuses a workspace that is not empty when no digest vouches for it', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'planted'), 'x');
  await t.rejects(CredentialsWorkspace.open(dir, now), {
    code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY',
    violation: true,
    message: /not empty \("planted"\) and previous-injection-digest is empty/,
  });

  const linked = await tempDir(t);
  await symlink('/etc', join(linked, 'docker'));
  await t.rejects(CredentialsWorkspace.open(linked, now), { code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY', message: /"docker"/ });

  const injected = await tempDir(t);
  await (await CredentialsWorkspace.open(injected, now)).write([{ path: 'files/x', content: Buffer.from('ours') }], secret, inAnHour, now);
  const error = await CredentialsWorkspace.open(injected, now).catch((caught: unknown) => caught);
  t.match(error, { code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY' }, 'even a genuine earlier injection needs its digest');
  t.match((error as { hint?: string }).hint, /previous-injection-digest: \$\(tasks\.<that task>\.results\.injection-digest\)/, 'the hint says which param to pass');

  await t.rejects(CredentialsWorkspace.open(join(dir, 'planted'), now), { code: 'CREDENTIALS_WORKSPACE_INVALID' });
  const link = join(await tempDir(t), 'link');
  await symlink(dir, link);
  await t.rejects(CredentialsWorkspace.open(link, now), { code: 'CREDENTIALS_WORKSPACE_INVALID', message: /symbolic link/ });
});

t.test('previous-injection-digest must look like a digest, and an empty workspace matches no injection', async (t) => {
  const dir = await tempDir(t);
  for (const bad of ['sha256:abc', 'SHA256:' + 'a'.repeat(64), 'a'.repeat(64), `sha256:${'A'.repeat(64)}`, '$(tasks.inject.results.injection-digest)']) {
    await t.rejects(CredentialsWorkspace.open(dir, now, { previousDigest: bad }), { code: 'CONFIG_CREDENTIALS_INPUT', message: /^previous-injection-digest / }, bad);
  }
  await t.rejects(CredentialsWorkspace.open(dir, now, { previousDigest: `sha256:${'0'.repeat(64)}` }), {
    code: 'CREDENTIALS_WORKSPACE_TAMPERED',
    message: /manifest\.json is missing/,
  });
});

t.test('re-injection: the digest of the previous injection, and only the most recent one, vouches for the workspace', async (t) => {
  const dir = await tempDir(t);
  const first = await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/one', content: Buffer.from('1') }], secret, inAnHour, now);
  const second = await (await CredentialsWorkspace.open(dir, now, { previousDigest: first.digest })).write(
    [{ path: 'files/two', content: Buffer.from('2') }],
    secret,
    new Date('2030-01-01T05:00:00Z'),
    now,
  );
  t.not(second.digest, first.digest, 'each injection returns a new digest');
  const status = await readCredentialsMarker(dir, now);
  t.same(status?.marker.files.map((file) => file.path), ['files/one', 'files/two']);
  t.equal(status?.marker.expiresAt, inAnHour.toISOString(), 'the earliest expiry wins');
  await t.rejects(CredentialsWorkspace.open(dir, now, { previousDigest: first.digest }), {
    code: 'CREDENTIALS_WORKSPACE_TAMPERED',
    hint: /the most recent inject-credentials task/,
  }, 'a stale digest is refused');
  await t.rejects((await CredentialsWorkspace.open(dir, now, { previousDigest: second.digest })).write([{ path: 'files/one', content: Buffer.from('x') }], secret, inAnHour, now), {
    message: /already written by an earlier injection/,
  });
  await t.rejects(CredentialsWorkspace.open(dir, new Date('2030-01-01T02:00:00Z'), { previousDigest: second.digest }), {
    code: 'CREDENTIALS_EXPIRED',
    violation: true,
  }, "the verified marker's expiry holds");
});

t.test('the digest covers the state, not inode numbers or times: a faithful copy keeps it', async (t) => {
  const dir = await tempDir(t);
  const { digest } = await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'ssh/id_credentials', content: Buffer.from(token('k')) }], secret, inAnHour, now);
  const copy = join(await tempDir(t), 'copy');
  await execa('cp', ['-a', dir, copy]);
  await execa('touch', ['-d', '2001-01-01', join(copy, 'ssh/id_credentials')]);
  const reopened = await CredentialsWorkspace.open(copy, now, { previousDigest: digest });
  t.ok(reopened.existing, 'the copy matches and its marker is trusted');
});

t.test('an entry planted while the injection writes is caught when the workspace is read back', async (t) => {
  const dir = await tempDir(t);
  const workspace = await CredentialsWorkspace.open(dir, now);
  await mkdir(join(dir, 'docker'), { mode: 0o700 });
  await writeFile(join(dir, 'docker', 'helper'), '#!/bin/sh\n', { mode: 0o755 });
  await t.rejects(workspace.write([{ path: 'docker/config.json', content: Buffer.from('{}') }], secret, inAnHour, now), {
    code: 'CREDENTIALS_WORKSPACE_FOREIGN',
    violation: true,
    message: /changed while inject-credentials wrote to it: "docker\/helper" \(a file\) appeared/,
  });
  const swapped = await tempDir(t);
  const ws = await CredentialsWorkspace.open(swapped, now);
  const elsewhere = await tempDir(t);
  await symlink(elsewhere, join(swapped, 'docker'));
  await t.rejects(ws.write([{ path: 'docker/config.json', content: Buffer.from(token('c')) }], secret, inAnHour, now), {
    code: 'CREDENTIALS_WORKSPACE_FOREIGN',
    message: /something other than a folder .* sits where the folder docker goes/,
  });
  t.same(await readdir(elsewhere), [], 'nothing was written through the planted link');
});

t.test("a fresh volume's lost+found (root-owned, 0700, empty) is the one entry an empty workspace may hold", async (t) => {
  if (!requireRoot(t, 'creating a root-owned lost+found')) return;
  const dir = await tempDir(t);
  await mkdir(join(dir, 'lost+found'), { mode: 0o700 });
  const { digest } = await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/x', content: Buffer.from('1') }], secret, inAnHour, now);
  t.ok(await CredentialsWorkspace.open(dir, now, { previousDigest: digest }), 're-injection with lost+found works');
  await cleanupCredentials(dir, now);
  t.same(await readdir(dir), ['lost+found'], 'cleanup leaves lost+found in place');
  t.ok(await CredentialsWorkspace.open(dir, now), 'and the workspace counts as empty');

  const shapes: [string, (path: string) => Promise<void>][] = [
    ['owned by the step user', async (path) => { await mkdir(path, { mode: 0o700 }); await chown(path, 65532, 65532); }],
    ['0755', async (path) => { await mkdir(path, { mode: 0o755 }); await chmod(path, 0o755); }],
    ['a file', async (path) => writeFile(path, 'x')],
    ['a link', async (path) => symlink('/tmp', path)],
    ['not empty', async (path) => { await mkdir(path, { mode: 0o700 }); await writeFile(join(path, '#1234'), 'x'); }],
  ];
  for (const [shape, make] of shapes) {
    const other = await tempDir(t);
    await make(join(other, 'lost+found'));
    await t.rejects(CredentialsWorkspace.open(other, now), { code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY', message: /"lost\+found"/ }, `a lost+found that is ${shape} is not the volume's`);
  }
});

t.test('group bits changed on every entry, as the kubelet does for fsGroup, get a hint about fsGroupChangePolicy', async (t) => {
  const dir = await tempDir(t);
  const { digest } = await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'docker/config.json', content: Buffer.from('{}') }], secret, inAnHour, now);
  for (const path of ['docker', '.inject-credentials']) await chmod(join(dir, path), 0o2770);
  for (const path of ['docker/config.json', MANIFEST_PATH, EXPIRES_AT_PATH]) await chmod(join(dir, path), 0o460);
  await t.rejects(CredentialsWorkspace.open(dir, now, { previousDigest: digest }), { code: 'CREDENTIALS_WORKSPACE_TAMPERED', hint: /fsGroupChangePolicy: OnRootMismatch/ });
});

t.test('a tampered marker is a violation, not an absent one', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, '.inject-credentials'));
  await writeFile(join(dir, MANIFEST_PATH), '{"version":1,"files":"nope"}');
  await t.rejects(readCredentialsMarker(dir, now), { code: 'CREDENTIALS_MARKER_INVALID', violation: true });
  t.equal(await readCredentialsMarker(await tempDir(t), now), undefined, 'no marker reads as undefined');
  const fifo = await tempDir(t);
  await mkdir(join(fifo, '.inject-credentials'));
  await execa('mkfifo', [join(fifo, MANIFEST_PATH)]);
  await t.rejects(readCredentialsMarker(fifo, now), { code: 'CREDENTIALS_MARKER_INVALID', message: /not a regular file/ }, 'a FIFO is refused without waiting for a writer');
});

t.test('cleanup overwrites then removes everything, even after a half-finished injection, and is idempotent', async (t) => {
  const dir = await tempDir(t);
  const outside = await tempDir(t);
  await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/a', content: Buffer.from(token('a')) }], secret, inAnHour, now);
  // A stray temp file is left behind, as by a failed injection.
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
  t.equal(again.removedCount, 0);
});

t.test('cleanup overwrites only what could be ours, and at most 256 files of a planted flood', async (t) => {
  const dir = await tempDir(t);
  await (await CredentialsWorkspace.open(dir, now)).write([{ path: 'files/a', content: Buffer.from(token('a')) }], secret, inAnHour, now);
  await writeFile(join(dir, 'elsewhere'), 'planted outside our output folders');
  await mkdir(join(dir, 'files', 'flood'));
  for (let i = 0; i < 300; i++) await writeFile(join(dir, 'files', 'flood', `f${i}`), 'x');
  const report = await cleanupCredentials(dir, now);
  t.same(await readdir(dir), []);
  t.equal(report.removedCount, 307, 'everything was removed: 304 files and 3 folders');
  t.equal(report.overwritten, 256, 'of the 303 candidates in our folders (the marker, expires-at, files/a and the flood), 256 were overwritten');
  t.match(report.notOverwritten, [/^47 more file\(s\): past 256 candidates, files are only unlinked$/]);
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
