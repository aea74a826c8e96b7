import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MANIFEST_FORMAT, ManifestReader, ManifestWriter, manifestLine, type ManifestEntry } from '../../src/workspace/manifest.ts';
import { PreorderMerge } from '../../src/workspace/preorder.ts';
import { compareNames, comparePaths } from '../../src/workspace/paths.ts';
import { tempWorkspace } from './fixtures.ts';

const entry = (depth: number, name: string, type: ManifestEntry['type'] = 'file', extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  depth,
  name,
  path: '',
  type,
  mode: type === 'dir' ? '0755' : '0644',
  uid: 0,
  gid: 0,
  ...(type === 'file' ? { size: 1, sha256: 'a'.repeat(64) } : {}),
  ...extra,
});

const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function readAll(path: string, digest: string): ManifestEntry[] {
  return [...new ManifestReader(path, digest).entries()];
}

t.test('a line is exactly JSON.stringify of its fields in the fixed order', async (t) => {
  const names = ['plain', 'new\nline', 'quote"and\\slash', '\u202Ebidi', 'tab\there', '日本語', '\u{1F600}', '\u0000nul'];
  for (const name of names) {
    const e = entry(3, name, 'symlink', { target: `../${name}` });
    const expected = JSON.stringify({ depth: 3, name, type: 'symlink', mode: '0644', uid: 0, gid: 0, target: `../${name}` });
    t.equal(manifestLine(e), `${expected}\n`, JSON.stringify(name));
  }
  const file = entry(1, 'f', 'file', { size: 12, sha256: 'b'.repeat(64) });
  t.equal(manifestLine(file), `${JSON.stringify({ depth: 1, name: 'f', type: 'file', mode: '0644', uid: 0, gid: 0, size: 12, sha256: 'b'.repeat(64) })}\n`);
});

t.test('paths are rebuilt from depth and name, and a deep chain stays small', async (t) => {
  const dir = tempWorkspace(t);
  const path = join(dir, 'm.ndjson');
  const writer = new ManifestWriter(path, { format: MANIFEST_FORMAT, runUid: 'run', mtimes: false });
  writer.add(entry(0, '.', 'dir'));
  writer.add(entry(1, 'a', 'dir'));
  writer.add(entry(2, 'b', 'dir'));
  writer.add(entry(3, 'c'));
  writer.add(entry(2, 'z'));
  writer.add(entry(1, 'b'));
  const depth = 5_000;
  writer.add(entry(1, 'd', 'dir'));
  for (let i = 2; i <= depth; i++) writer.add(entry(i, 'd', 'dir'));
  const digest = writer.commit();
  const size = readFileSync(path).length;
  t.ok(size < 100 * (depth + 10), `the manifest grows with the entry count, not with path length (${size} bytes)`);
  const read = readAll(path, digest);
  t.same(read.slice(0, 6).map((e) => e.path), ['.', 'a', 'a/b', 'a/b/c', 'a/z', 'b']);
  t.equal(read[read.length - 1]!.path, Array(depth).fill('d').join('/'));
});

t.test('the reader refuses a manifest whose order is not a walk of one tree', async (t) => {
  const dir = tempWorkspace(t);
  const header = `${JSON.stringify({ format: MANIFEST_FORMAT, runUid: 'run', mtimes: false })}\n`;
  const cases: [string, ManifestEntry[], RegExp][] = [
    ['no root first', [entry(1, 'a')], /does not start with the root folder/],
    ['a second root', [entry(0, '.', 'dir'), entry(0, '.', 'dir')], /repeats the root/],
    ['a skipped level', [entry(0, '.', 'dir'), entry(1, 'a', 'dir'), entry(3, 'x')], /skips a level/],
    ['a child under a file', [entry(0, '.', 'dir'), entry(1, 'a'), entry(2, 'x')], /not a folder/],
    ['siblings out of order', [entry(0, '.', 'dir'), entry(1, 'b'), entry(1, 'a')], /out of order/],
    ['a repeated name', [entry(0, '.', 'dir'), entry(1, 'a'), entry(1, 'a')], /out of order or repeats/],
    ['a name with a slash', [entry(0, '.', 'dir'), entry(1, 'a/b')], /invalid name/],
    ['a dot-dot name', [entry(0, '.', 'dir'), entry(1, '..')], /invalid name/],
  ];
  for (const [label, entries, message] of cases) {
    const text = header + entries.map(manifestLine).join('');
    const path = join(dir, `${label.replace(/\W/g, '-')}.ndjson`);
    writeFileSync(path, text);
    // The digest is right: only the structure is wrong.
    t.throws(() => readAll(path, digestOf(text)), { code: 'WORKSPACE_MANIFEST_MALFORMED', message }, label);
  }
});

t.test('the writer refuses entries out of walk order', async (t) => {
  const dir = tempWorkspace(t);
  const writer = new ManifestWriter(join(dir, 'm.ndjson'), { format: MANIFEST_FORMAT, runUid: 'run', mtimes: false });
  writer.add(entry(0, '.', 'dir'));
  writer.add(entry(1, 'b'));
  t.throws(() => writer.add(entry(1, 'a')), { code: 'WORKSPACE_MANIFEST_ORDER' });
  writer.abort();
});

t.test('names compare by code point, like the walk sorts raw UTF-8 bytes', async (t) => {
  const names = ['a', 'B', 'a-b', 'é', '\uffff', '\u{1F600}', '\ue000', 'ab', ''];
  const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  t.same([...names].sort(compareNames), byBytes);
  t.same([...names].sort(comparePaths), byBytes, 'single names order the same as paths');
});

t.test('the preorder merge orders positions like full paths do', async (t) => {
  const paths = ['.', 'a', 'a/b', 'a/b/c', 'a/bb', 'a-b', 'b', 'b/a', '\u{1F600}', '\u{1F600}/x'];
  const position = (path: string): [number, string] => (path === '.' ? [0, '.'] : [path.split('/').length, path.split('/').pop()!]);
  // Walk both sides through every pair in stream order, as verify does.
  for (let i = 0; i < paths.length; i++) {
    for (let j = 0; j < paths.length; j++) {
      const merge = new PreorderMerge();
      for (const p of paths.slice(0, i + 1)) merge.setLeft(...position(p));
      for (const p of paths.slice(0, j + 1)) merge.setRight(...position(p));
      t.equal(Math.sign(merge.compare()), Math.sign(comparePaths(paths[i]!, paths[j]!)), `${paths[i]} vs ${paths[j]}`);
    }
  }
});

t.test('v3 lines carry mtimes and attributes, and the reader accepts only their canonical form', async (t) => {
  const dir = tempWorkspace(t);
  const sha = 'c'.repeat(64);
  const header = (mtimes: boolean) => `${JSON.stringify({ format: MANIFEST_FORMAT, runUid: 'run', mtimes })}\n`;
  const root = manifestLine(entry(0, '.', 'dir'));
  const file = (extra: Partial<ManifestEntry>) => manifestLine(entry(1, 'f', 'file', extra));
  const read = (label: string, text: string) => {
    const path = join(dir, `${label.replace(/\W/g, '-')}.ndjson`);
    writeFileSync(path, text);
    return () => readAll(path, digestOf(text));
  };
  const good = header(true) + root + file({ mtime: '-1', xattrs: [['security.ima', sha], ['user.a', sha]] });
  t.same(read('good', good)()[1]!.xattrs, [['security.ima', sha], ['user.a', sha]]);
  t.match(good, /"mtime":"-1","xattrs":\[\["security\.ima","c{64}"\],\["user\.a","c{64}"\]\]\}\n$/);

  const bad: [string, string, RegExp][] = [
    ['a v2 header', `${JSON.stringify({ format: 'tekton-workspace-guard/manifest/v2', runUid: 'run' })}\n${root}`, /older .*v2.* header/],
    ['a header without mtimes', `${JSON.stringify({ format: MANIFEST_FORMAT, runUid: 'run' })}\n${root}`, /whether mtimes/],
    ['a header with a space', `{"format": "${MANIFEST_FORMAT}","runUid":"run","mtimes":false}\n${root}`, /canonical/],
    ['an extra key', header(false) + root + file({}).replace('}\n', ',"note":1}\n'), /canonical/],
    ['keys reordered', header(false) + root + JSON.stringify({ name: 'f', depth: 1, type: 'file', mode: '0644', uid: 0, gid: 0, size: 1, sha256: 'a'.repeat(64) }) + '\n', /canonical/],
    ['a number written 1.0', header(false) + root + file({}).replace('"size":1', '"size":1.0'), /canonical/],
    ['unsorted attributes', header(false) + root + file({ xattrs: [['user.b', sha], ['user.a', sha]] }), /xattrs order/],
    ['an attribute twice', header(false) + root + file({ xattrs: [['user.a', sha], ['user.a', sha]] }), /xattrs order/],
    ['an empty attribute list', header(false) + root + file({}).replace('}\n', ',"xattrs":[]}\n'), /invalid xattrs/],
    ['a bad attribute digest', header(false) + root + file({ xattrs: [['user.a', 'xyz']] }), /xattr digest/],
    ['a file without mtime in strict mode', header(true) + root + file({}), /mtime/],
    ['an mtime without strict mode', header(false) + root + file({ mtime: '5' }), /mtime/],
    ['an mtime on a folder', header(true) + manifestLine(entry(0, '.', 'dir', { mtime: '5' })), /mtime/],
    ['a malformed mtime', header(true) + root + file({ mtime: '01' }), /invalid mtime/],
    ['a size on a folder', header(false) + manifestLine(entry(0, '.', 'dir', { size: 3 })), /size or sha256/],
    ['a target on a file', header(false) + root + file({ target: 'x' }), /target for its type/],
  ];
  for (const [label, text, message] of bad) t.throws(read(label, text), { code: 'WORKSPACE_MANIFEST_MALFORMED', message }, label);
});
