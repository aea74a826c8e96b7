// Credentials written by inject-credentials carry an expiry; the guard
// treats expired ones, and a manifest it cannot trust, as violations.
import t from 'tap';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { MANIFEST_PATH } from '../../src/credentials/marker.ts';
import type { LoadedSecret } from '../../src/credentials/secret.ts';
import { CredentialsWorkspace } from '../../src/credentials/workspace.ts';
import { guard, rulesAt, tempWorkspace } from './fixtures.ts';

const secret: LoadedSecret = { label: 'secret test', type: 'Opaque', source: 'workspace', data: new Map() };

async function inject(root: string, writtenAt: Date, expiresAt: Date): Promise<void> {
  const workspace = await CredentialsWorkspace.open(root, writtenAt);
  await workspace.write([{ path: 'files/settings', content: Buffer.from('not a secret shape\n') }], secret, expiresAt, writtenAt);
}

t.test('expired injected credentials are a violation in police and seal', async (t) => {
  const root = tempWorkspace(t);
  await inject(root, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T01:00:00Z'));
  const police = await guard(root, { allowedUids: [process.getuid!()] }).police();
  t.same(rulesAt(police, MANIFEST_PATH), ['expired-credentials']);
  t.match(police.findings.find((f) => f.rule === 'expired-credentials')?.detail, /expired at 2020-01-01T01:00:00\.000Z/);
  t.ok(police.violations > 0, 'police fails');
  const seal = await guard(root, { allowedUids: [process.getuid!()], manifestPath: join(root, '..', `${root.split('/').pop()}.manifest`) }).seal();
  t.ok(seal.findings.some((f) => f.rule === 'expired-credentials'), 'seal refuses it too');
});

t.test('credentials within their expiry are not an expiry violation', async (t) => {
  const root = tempWorkspace(t);
  const now = new Date();
  await inject(root, now, new Date(now.getTime() + 3600_000));
  const report = await guard(root, { allowedUids: [process.getuid!()] }).police();
  t.same(rulesAt(report, MANIFEST_PATH), [], 'no finding on the manifest');
  t.notOk(report.findings.some((f) => f.rule === 'expired-credentials'));
});

t.test('a manifest that cannot be read is never trusted', async (t) => {
  const root = tempWorkspace(t);
  const now = new Date();
  await inject(root, now, new Date(now.getTime() + 3600_000));
  await chmod(join(root, MANIFEST_PATH), 0o600);
  await writeFile(join(root, MANIFEST_PATH), '{"version": 1, "expiresAt": ');
  const report = await guard(root, { allowedUids: [process.getuid!()] }).police();
  t.same(rulesAt(report, MANIFEST_PATH), ['credentials-marker-invalid']);
  t.ok(report.violations > 0);
});

t.test('the credentials marker is attacker-writable: it only ever adds violations', async (t) => {
  const root = tempWorkspace(t);
  const outside = tempWorkspace(t, 'wsg-outside-');
  const now = new Date();
  await inject(root, now, new Date(now.getTime() + 3600_000));
  // Planted beside the injected files, each vouched for by a forged marker entry.
  const planted: [string, (path: string) => Promise<void>, string][] = [
    ['files/id_ed25519', (path) => writeFile(path, `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nAAAA\n-----END OPENSSH ${'PRIVATE'} KEY-----\n`), 'credential'],
    ['files/tool', async (path) => (await writeFile(path, '#!/bin/sh\n'), await chmod(path, 0o4755)), 'setuid'],
    ['files/escape', (path) => symlink(outside, path), 'symlink-escape'],
    ['files/pipe', async (path) => void (await execa('mkfifo', [path])), 'fifo'],
    ['.tekton-workspace-guard/hook', async (path) => (await mkdir(join(root, '.tekton-workspace-guard'), { recursive: true }), await writeFile(path, '#!/bin/sh\n', { mode: 0o755 })), 'reserved-folder'],
  ];
  for (const [path, plant] of planted) await plant(join(root, path));
  const markerPath = join(root, MANIFEST_PATH);
  const marker = JSON.parse(await readFile(markerPath, 'utf8')) as { files: { path: string; sha256: string }[]; expiresAt: string };
  for (const [path] of planted) marker.files.push({ path, sha256: '0'.repeat(64) });
  marker.expiresAt = new Date(now.getTime() + 60_000).toISOString();
  await chmod(markerPath, 0o600);
  await writeFile(markerPath, JSON.stringify(marker));
  const report = await guard(root, { allowedUids: [process.getuid!()] }).police();
  for (const [path, , rule] of planted) t.ok(rulesAt(report, path).includes(rule), `${path}: ${rule} despite the marker`);
});

t.test('a marker that is not a regular file is refused without being opened', async (t) => {
  for (const [label, plant] of [
    ['a FIFO (opening it would block)', (path: string) => execa('mkfifo', [path])],
    ['a folder', (path: string) => mkdir(path)],
    ['a symlink', (path: string) => symlink('/etc/hostname', path)],
  ] as const) {
    const root = tempWorkspace(t);
    await mkdir(join(root, MANIFEST_PATH, '..'), { recursive: true });
    await plant(join(root, MANIFEST_PATH));
    const report = await guard(root).police();
    t.ok(rulesAt(report, MANIFEST_PATH).includes('credentials-marker-invalid'), label);
  }
  const root = tempWorkspace(t);
  const elsewhere = tempWorkspace(t, 'wsg-elsewhere-');
  await symlink(elsewhere, join(root, MANIFEST_PATH, '..'));
  t.ok(rulesAt(await guard(root).police(), MANIFEST_PATH).includes('credentials-marker-invalid'), 'a linked state folder is not followed');
});
