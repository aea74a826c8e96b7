// Credentials written by inject-credentials carry an expiry; the guard
// treats expired ones, and a manifest it cannot trust, as violations.
import t from 'tap';
import { chmod, writeFile } from 'node:fs/promises';
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
