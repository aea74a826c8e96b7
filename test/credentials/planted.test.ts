// Every generated attack from planted.ts against the domain code, in process:
// an injection without a digest refuses the planted workspace, a re-injection
// with the genuine injection's digest refuses it too, and cleanup empties it
// without touching anything outside. The same table runs against the step
// program (test/steps) and the real image under chroot (test/e2e).
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { cleanupCredentials } from '../../src/credentials/cleanup.ts';
import type { LoadedSecret } from '../../src/credentials/secret.ts';
import { CredentialsWorkspace } from '../../src/credentials/workspace.ts';
import { requireRoot } from '../harness/shared.ts';
import { GENUINE_FILE, listTree, plantedCases, prepareOutside, snapshotOutside, type MarkerAfter, type PlantContext } from './planted.ts';
import { token } from './fixtures.ts';

const secret: LoadedSecret = { label: 'secret registry-push-creds', type: 'kubernetes.io/dockerconfigjson', source: 'workspace', data: new Map() };
const PLANTER = 65532;

async function setup(t: Test, planter = PLANTER): Promise<PlantContext> {
  const root = await mkdtemp(join(tmpdir(), 'creds-planted-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const creds = join(root, 'creds');
  const outside = join(root, 'outside');
  await mkdir(creds, { mode: 0o755 });
  await prepareOutside(outside, process.getuid!());
  return { creds, outside, outsideSeen: outside, uid: planter, gid: planter, foreignUid: 65534 };
}

async function genuineInjection(creds: string): Promise<string> {
  const now = new Date();
  const workspace = await CredentialsWorkspace.open(creds, now);
  const content = Buffer.from(JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from(`bot:${token('ghp')}`).toString('base64') } } }));
  const { digest } = await workspace.write([{ path: GENUINE_FILE, content }], secret, new Date(now.getTime() + 3600_000), now);
  return digest;
}

async function assertCleanup(t: Test, ctx: PlantContext, markerAfter: MarkerAfter): Promise<void> {
  const outsideBefore = await snapshotOutside(ctx.outside);
  const report = await cleanupCredentials(ctx.creds);
  t.same(await listTree(ctx.creds), [], 'cleanup leaves the workspace empty');
  t.same(await snapshotOutside(ctx.outside), outsideBefore, 'nothing outside the workspace changed');
  if (markerAfter === 'invalid') t.match(report.violations, [/manifest\.json|\.inject-credentials/], 'the invalid marker is reported as a violation');
  else if (markerAfter === 'expired') t.match(report.violations, [/expired at/], 'the expired marker is reported as a violation');
  else t.same(report.violations, [], 'no violation: the marker, if any, is valid');
  t.same((await cleanupCredentials(ctx.creds)).removedCount, 0, 'a second cleanup finds nothing');
}

t.test('generated planted workspaces are refused and cleaned up', async (t) => {
  if (!requireRoot(t, 'planting entries owned by the step user, devices and hard links')) return;
  const cases = plantedCases();
  t.ok(cases.length >= 70, `${cases.length} generated cases`);
  for (const plantedCase of cases) {
    t.test(plantedCase.name, async (t) => {
      if (!plantedCase.needsGenuine) {
        const ctx = await setup(t);
        await plantedCase.plant(ctx);
        const planted = await listTree(ctx.creds);
        t.ok(planted.length > 0, 'something was planted');
        await t.rejects(
          CredentialsWorkspace.open(ctx.creds),
          { code: 'CREDENTIALS_WORKSPACE_NOT_EMPTY', violation: true, message: /previous-injection-digest is empty/ },
          'an injection without a digest refuses the workspace',
        );
        t.same(await listTree(ctx.creds), planted, 'nothing was written');
        await assertCleanup(t, ctx, plantedCase.markerAfterFresh);
      }

      const ctx = await setup(t);
      const digest = await genuineInjection(ctx.creds);
      await plantedCase.plant(ctx);
      await t.rejects(
        CredentialsWorkspace.open(ctx.creds, new Date(), { previousDigest: digest }),
        { code: 'CREDENTIALS_WORKSPACE_TAMPERED', violation: true, message: /not what the injection with previous-injection-digest sha256:[0-9a-f]{64} left/ },
        'a re-injection with the genuine digest refuses it',
      );
      await assertCleanup(t, ctx, plantedCase.markerAfter);
    });
  }
});

t.test('the digest names what differs from the marker', async (t) => {
  if (!requireRoot(t, 'planting entries owned by the step user')) return;
  const byName = new Map(plantedCases().map((c) => [c.name, c]));
  const expectations: [string, RegExp][] = [
    ['a FIFO at the root', /added "planted" \(a FIFO\)/],
    ['the credential file is made 0644', /"docker\/config\.json" is mode 0644, not 0400/],
    ['the credential file is hard-linked from outside', /"docker\/config\.json" has 2 hard links/],
    ['the credential file is removed', /removed "docker\/config\.json"/],
    ['the credential file is replaced by a link to an identical copy outside', /"docker\/config\.json" is a symbolic link, not a file/],
    ['the credential file is given to another user', /"docker\/config\.json" is owned by uid 65534/],
    ['the credential file is given to another group', /a group owner changed/],
    ['a marker that is a FIFO', /manifest\.json is not a regular file/],
    ['a planted git config that the marker lists with its true fingerprint (the reported attack)', /marker was rewritten to match/],
    ['a tree 40 folders deep with a file at the bottom', /more than 16 folders deep/],
    ['300 files in one folder', /more than 256 entries/],
    ['a 3 MiB file', /"large" is 3145728 bytes/],
  ];
  for (const [name, pattern] of expectations) {
    const plantedCase = byName.get(name);
    if (!plantedCase) {
      t.fail(`no generated case named ${name}`);
      continue;
    }
    // Planted by the step user itself, the strongest planter: ownership gives nothing away.
    const ctx = await setup(t, process.getuid!());
    const digest = await genuineInjection(ctx.creds);
    await plantedCase.plant(ctx);
    await t.rejects(CredentialsWorkspace.open(ctx.creds, new Date(), { previousDigest: digest }), { message: pattern }, name);
  }
});

t.test('cleanup of a planted tree deeper than PATH_MAX, reached only through folder descriptors', async (t) => {
  if (!requireRoot(t, 'planting as the step user')) return;
  const ctx = await setup(t);
  // 40 names of 200 bytes: 8 KB of path, twice PATH_MAX, built one folder at a time through /proc/self/fd.
  let handle = await open(ctx.creds, constants.O_RDONLY | constants.O_DIRECTORY);
  for (let i = 0; i < 40; i++) {
    const name = `${i}`.padStart(200, 'd');
    await mkdir(`/proc/self/fd/${handle.fd}/${name}`, { mode: 0o700 });
    const next = await open(`/proc/self/fd/${handle.fd}/${name}`, constants.O_RDONLY | constants.O_DIRECTORY);
    await handle.close();
    handle = next;
  }
  await writeFile(`/proc/self/fd/${handle.fd}/bottom`, 'planted');
  await handle.close();
  const report = await cleanupCredentials(ctx.creds);
  t.same(await readdir(ctx.creds), [], 'the deep tree is gone');
  t.equal(report.removedCount, 41, 'every folder and the file were removed');
});
