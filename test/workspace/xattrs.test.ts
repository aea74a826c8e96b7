// getfattr's output is parsed as bytes within bounds, and anything but its
// exact grammar fails closed. The parser is fed generated output here; the
// reader runs the real getfattr and stand-in tools that misbehave.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import {
  BATCH_ENTRIES,
  GetfattrParser,
  MAX_BATCH_OUTPUT_BYTES,
  MAX_LINE_BYTES,
  MAX_XATTRS_PER_ENTRY,
  XattrReader,
  unescape,
  type XattrSlot,
} from '../../src/workspace/xattrs.ts';
import { nfs4AclProblem, xattrViolation } from '../../src/workspace/xattr-rules.ts';
import { guard, requireXattrs, setXattr, tempWorkspace } from './fixtures.ts';

const sha = (value: Buffer | string) => createHash('sha256').update(value).digest('hex');

/** getfattr's quoting: backslash and the listed bytes as three octal digits. */
function quote(bytes: Buffer, special: number[]): Buffer {
  const out: number[] = [];
  for (const byte of bytes) {
    if (byte === 0x5c || special.includes(byte)) out.push(...Buffer.from(`\\${byte.toString(8).padStart(3, '0')}`));
    else out.push(byte);
  }
  return Buffer.from(out);
}

function slotsFor(addresses: string[]): { map: Map<string, XattrSlot>; slots: XattrSlot[] } {
  const slots = addresses.map((): XattrSlot => ({ done: false, batch: undefined }));
  return { map: new Map(addresses.map((a, i) => [a, slots[i]!])), slots };
}

function parse(addresses: string[], output: Buffer | string, chunk = 7): { parser: GetfattrParser; slots: XattrSlot[] } {
  const { map, slots } = slotsFor(addresses);
  const parser = new GetfattrParser(map);
  const bytes = Buffer.from(output);
  // Odd chunk sizes split lines, escapes and multi-byte characters.
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
  parser.end();
  return { parser, slots };
}

t.test('names with every byte getfattr quotes round-trip, in paths and attribute names', async (t) => {
  const awkward = ['new\nline', 'cr\rhere', 'back\\slash', 'eq=sign', '# file: /proc/self/fd/3/x', 'tab\tand space', '日本語', '\u{1F600}', '\\075', 'trailing\\'];
  let cases = 0;
  for (const name of awkward) {
    const address = `/proc/self/fd/3/${name}`;
    const attribute = `user.${name}`;
    const value = Buffer.from([0, 1, 0xff, 0x3d, 0x0a]);
    const output = Buffer.concat([
      Buffer.from('# file: '),
      quote(Buffer.from(address), [0x0a, 0x0d]),
      Buffer.from('\n'),
      quote(Buffer.from(attribute), [0x3d, 0x0a, 0x0d]),
      Buffer.from(`=0x${value.toString('hex')}\n\n`),
    ]);
    const { parser, slots } = parse([address, '/proc/self/fd/3/other'], output);
    t.same(parser.found.get(slots[0]!), [{ name: attribute, sha256: sha(value) }], JSON.stringify(name));
    t.notOk(parser.found.has(slots[1]!), 'an entry getfattr did not name has no attributes recorded by the parser');
    cases++;
  }
  // Every byte but NUL and "/" in a name, quoted as getfattr does.
  for (let byte = 1; byte < 256; byte++) {
    if (byte === 0x2f) continue;
    const raw = Buffer.from([0x61, byte, 0x62]);
    const decoded = raw.toString('utf8');
    if (!Buffer.from(decoded).equals(raw)) continue; // not UTF-8 alone: the walker reports such names instead
    const address = `/w/${decoded}`;
    const output = Buffer.concat([Buffer.from('# file: '), quote(Buffer.from(address), [0x0a, 0x0d]), Buffer.from('\nuser.a=0x00\n\n')]);
    const { parser, slots } = parse([address], output, 3);
    if (!parser.found.has(slots[0]!)) t.fail(`byte ${byte} did not round-trip`);
    cases++;
  }
  t.ok(cases > 130, `${cases} generated names`);
});

t.test('attributes are sorted, security.selinux is left out, NFSv4 ACL values are kept', async (t) => {
  const { parser, slots } = parse(
    ['/a'],
    '# file: /a\nuser.z=0x01\nsecurity.selinux=0x73797374656d5f75\nsystem.nfs4_acl=0x00000000\nuser.a=0x\n\n',
  );
  const found = parser.found.get(slots[0]!)!;
  t.same(found.map((x) => x.name), ['system.nfs4_acl', 'user.a', 'user.z']);
  t.same(found.find((x) => x.name === 'user.a'), { name: 'user.a', sha256: sha('') }, 'an empty value is recorded');
  t.same(found.find((x) => x.name === 'system.nfs4_acl')?.value, Buffer.from([0, 0, 0, 0]));
  t.notOk(found.find((x) => x.name === 'user.z')?.value, 'other values are reduced to a digest');
});

t.test('output that is not exactly the grammar is refused', async (t) => {
  const cases: [string, string[], Buffer | string, RegExp][] = [
    ['garbage', ['/a'], 'hello\n', /other than a "# file:" header/],
    ['an unknown path', ['/a'], '# file: /b\nuser.x=0x00\n\n', /not asked about/],
    ['a path that decodes to one asked about only lossily', ['/a\uFFFD'], '# file: /a\\377\nuser.x=0x00\n\n', /not asked about/],
    ['a path twice', ['/a'], '# file: /a\nuser.x=0x00\n\n# file: /a\nuser.y=0x00\n\n', /twice/],
    ['a header without attributes', ['/a'], '# file: /a\n\n', /without attributes/],
    ['an attribute twice', ['/a'], '# file: /a\nuser.x=0x00\nuser.x=0x01\n\n', /attribute twice/],
    ['a text value', ['/a'], '# file: /a\nuser.x="hello"\n\n', /not hex/],
    ['odd hex', ['/a'], '# file: /a\nuser.x=0x123\n\n', /not hex/],
    ['base64', ['/a'], '# file: /a\nuser.x=0sAQ==\n\n', /not hex/],
    ['a bad escape', ['/a'], '# file: /a\nuser.\\q=0x00\n\n', /invalid escape/],
    ['an escape beyond a byte', ['/a'], '# file: /a\nuser.\\777=0x00\n\n', /invalid escape/],
    ['a truncated escape', ['/a'], '# file: /a\nuser.\\07', /invalid escape|does not end/],
    ['an empty name', ['/a'], '# file: /a\n=0x00\n\n', /empty attribute name/],
    ['an escaped NUL in a name', ['/a'], '# file: /a\nuser.\\000x=0x00\n\n', /empty attribute name/],
    ['a missing final newline', ['/a'], '# file: /a\nuser.x=0x00\n\n# file', /does not end with a newline/],
    ['an unfinished entry', ['/a'], '# file: /a\nuser.x=0x00\n', /ends inside an entry/],
  ];
  for (const [label, addresses, output, message] of cases) {
    t.throws(() => parse(addresses, output), { code: 'WORKSPACE_XATTR_OUTPUT_MALFORMED', message }, label);
  }
});

t.test('bounds hold while reading: a long line, many attributes, too much output', async (t) => {
  const { map } = slotsFor(['/a']);
  const long = new GetfattrParser(map);
  long.push(Buffer.from('# file: /a\nuser.x=0x'));
  t.throws(() => long.push(Buffer.alloc(MAX_LINE_BYTES, 0x30)), { message: /longer than any attribute/ }, 'refused before the line ends');

  const many = Array.from({ length: MAX_XATTRS_PER_ENTRY + 1 }, (_, i) => `user.a${String(i).padStart(4, '0')}=0x00\n`).join('');
  const { parser, slots } = parse(['/a', '/b'], `# file: /a\n${many}\n# file: /b\nuser.ok=0x00\n\n`, 4096);
  t.match(parser.problems.get(slots[0]!), /more than 128 extended attributes/);
  t.notOk(parser.found.has(slots[0]!), 'nothing is recorded for it');
  t.equal(parser.found.get(slots[1]!)?.length, 1, 'the next entry is still read');

  const flood = new GetfattrParser(slotsFor(['/a']).map);
  const value = 'ab'.repeat(50_000);
  t.throws(() => {
    flood.push(Buffer.from('# file: /a\n'));
    for (let i = 0, sent = 0; sent <= MAX_BATCH_OUTPUT_BYTES; i++) {
      const line = Buffer.from(`user.x${i}=0x${value}\n`);
      flood.push(line);
      sent += line.length;
    }
  }, { message: /more than \d+ bytes/ }, 'the total is capped as it arrives');
});

t.test('a name that is not UTF-8 is a problem on its entry, not a lossy record', async (t) => {
  const { parser, slots } = parse(['/a'], '# file: /a\nuser.\\377\\376=0x00\n\n');
  t.match(parser.problems.get(slots[0]!), /not valid UTF-8/);
  t.equal(unescape(Buffer.from('a\\134b\\\\c')).toString(), 'a\\b\\c');
});

t.test('police rules per attribute', async (t) => {
  const acl = (...whos: string[]) => {
    const parts = [Buffer.alloc(4)];
    parts[0]!.writeUInt32BE(whos.length);
    for (const who of whos) {
      const head = Buffer.alloc(16);
      head.writeUInt32BE(0, 0);
      head.writeUInt32BE(0, 4);
      head.writeUInt32BE(0x1f01ff, 8);
      head.writeUInt32BE(who.length, 12);
      parts.push(head, Buffer.from(who), Buffer.alloc((4 - (who.length % 4)) % 4));
    }
    return Buffer.concat(parts);
  };
  const rule = (name: string, value?: Buffer) => xattrViolation({ name, sha256: '', ...(value ? { value } : {}) })?.rule;
  t.equal(rule('security.capability'), 'file-capability');
  t.equal(rule('system.posix_acl_access'), 'acl');
  t.equal(rule('system.posix_acl_default'), 'acl');
  t.equal(rule('system.richacl'), 'system-xattr');
  t.equal(rule('system.sockprotoname'), 'system-xattr');
  for (const name of ['user.mime_type', 'trusted.overlay.opaque', 'security.ima', 'security.SMACK64', 'btrfs.compression']) t.equal(rule(name), undefined, name);
  t.equal(rule('system.nfs4_acl', acl('OWNER@', 'GROUP@', 'EVERYONE@')), undefined, 'an NFSv4 ACL that mirrors the mode passes');
  t.equal(rule('system.nfs4_acl', acl('OWNER@', 'alice@example.com')), 'acl', 'a named principal is refused');
  t.equal(rule('system.nfs4_acl', acl('OWNER@').subarray(0, 10)), 'acl', 'a truncated ACL is refused');
  t.equal(rule('system.nfs4_acl', Buffer.concat([acl('OWNER@'), Buffer.alloc(4)])), 'acl', 'trailing bytes are refused');
  t.equal(rule('system.nfs4_acl'), 'acl', 'an unread value is refused');
  t.match(nfs4AclProblem(Buffer.from([0xff, 0xff, 0xff, 0xff])), /cannot be decoded/, 'a count larger than the value is refused before looping');
});

t.test('the reader fails closed when getfattr is missing or misbehaves', async (t) => {
  t.throws(() => new XattrReader('/nonexistent/getfattr'), { code: 'WORKSPACE_XATTR_TOOL_MISSING' });
  const ws = tempWorkspace(t);
  mkdirSync(join(ws, 'src'));
  writeFileSync(join(ws, 'src/main.ts'), 'export {}\n');
  const tools = tempWorkspace(t, 'wsg-tools-');
  const tool = (name: string, script: string) => {
    const path = join(tools, name);
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const liars: [string, string, RegExp][] = [
    ['exits 1', 'exit 1', /exited with code 1/],
    ['writes to stderr', 'echo "something odd" >&2', /reported "something odd"/],
    ['prints garbage', 'echo "no attributes here"', /other than a "# file:" header/],
    ['names another path', 'printf "# file: /etc/passwd\\nuser.x=0x00\\n\\n"', /not asked about/],
    ['floods', 'yes "user.x=0x00" | head -c 80000000', /other than a "# file:" header|more than/],
    ['dies by a signal', 'kill -9 $$', /exited with SIGKILL/],
    ['says a path it was not asked about is missing', 'echo "getfattr: /etc/shadow: No such file or directory" >&2; exit 1', /reported "\/etc\/shadow: No such file or directory"/],
    ['says an entry is missing but exits 2', 'for last; do :; done; echo "getfattr: $last: No such file or directory" >&2; exit 2', /exited with code 2/],
    ['complains at length', 'yes "getfattr: /x: No such file or directory" | head -c 100000 >&2; exit 1', /more than \d+ bytes of complaints/],
  ];
  // A workspace of one batch is read by getfattr run directly; a larger one
  // sends every batch after the first through the launcher process. Three
  // folders of BATCH_ENTRIES - 2 files, with the root and the folders: three batches.
  const large = tempWorkspace(t, 'wsg-large-');
  for (let d = 0; d < 3; d++) {
    mkdirSync(join(large, `d${d}`));
    for (let f = 0; f < BATCH_ENTRIES - 2; f++) writeFileSync(join(large, `d${d}`, `f${f}`), 'x');
  }
  for (const [label, script, reason] of liars) {
    const report = await guard(ws, { xattrTool: tool(label.replace(/\W/g, '-'), script) }).police();
    const problem = report.findings.find((f) => f.rule === 'xattrs-unreadable');
    t.match(problem?.detail, reason, label);
    t.equal(report.findings.filter((f) => f.rule === 'xattrs-unreadable').length, 1, `${label}: one finding per failed batch`);
    const sealed = await guard(ws, { xattrTool: tool(`${label.replace(/\W/g, '-')}-seal`, script) }).seal();
    t.equal(sealed.manifestDigest, undefined, `${label}: nothing is sealed`);
    const many = await guard(large, { xattrTool: tool(`${label.replace(/\W/g, '-')}-large`, script) }).police();
    const failed = many.findings.filter((f) => f.rule === 'xattrs-unreadable');
    t.equal(failed.length, 3, `${label}: each of the three batches fails, through the launcher too`);
    t.ok(failed.every((f) => reason.test(f.detail ?? '')), `${label}: with the reason`);
  }
  await t.rejects(guard(ws, { xattrTool: join(tools, 'missing') }).police(), { code: 'WORKSPACE_XATTR_TOOL_MISSING' });

  // The one complaint understood: an entry asked about is gone. It vanished during the walk, once.
  const missing = tool('missing-last', 'for last; do :; done; echo "getfattr: $last: No such file or directory" >&2; exit 1');
  const report = await guard(ws, { xattrTool: missing }).police();
  t.same(report.findings.map((f) => `${f.rule}:${f.path}`), ['vanished-during-walk:src/main.ts'], 'the last entry asked about is reported vanished, nothing else');
});

t.test('an entry deleted between the walk and getfattr is one vanished finding', async (t) => {
  const ws = tempWorkspace(t);
  writeFileSync(join(ws, 'keeps'), 'x');
  writeFileSync(join(ws, 'goes'), 'x');
  const report = await guard(ws, {
    threads: 0,
    // Runs after the lstat of the next entry: the file is gone before its batch goes to getfattr.
    beforeOpen: (path) => {
      if (path === 'keeps') rmSync(join(ws, 'goes'), { force: true });
    },
  }).police();
  t.same(report.findings.map((f) => `${f.rule}:${f.path}`), ['vanished-during-walk:goes']);
});

t.test('the real getfattr: attributes of files, folders, links and the root, at any depth', async (t) => {
  const ws = tempWorkspace(t);
  if (!(await requireXattrs(t, ws))) return;
  const deep = join(ws, ...Array(300).fill('deep'));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'bottom'), 'x');
  await setXattr(join(deep, 'bottom'), 'user.deep', 'value');
  mkdirSync(join(ws, 'dir'));
  await setXattr(join(ws, 'dir'), 'user.on-dir', '1');
  await setXattr(ws, 'user.on-root', '1');
  symlinkSync('dir', join(ws, 'link'));
  await setXattr(join(ws, 'link'), 'trusted.on-link', '1', { onLink: true });
  const sealed = await guard(ws, { threads: 0 }).seal();
  t.equal(sealed.violations, 0, JSON.stringify(sealed.findings.slice(0, 3)));
  const lines = readFileSync(join(ws, '.tekton-workspace-guard/manifest.ndjson'), 'utf8').split('\n');
  const recorded = (name: string) => lines.find((line) => line.includes(`"name":"${name}"`) && line.includes('"xattrs"'));
  t.match(recorded('bottom'), `["user.deep","${sha('value')}"]`, '300 levels down (beyond PATH_MAX) through the folder descriptor');
  t.match(recorded('dir'), 'user.on-dir');
  t.match(recorded('.'), 'user.on-root');
  t.match(recorded('link'), 'trusted.on-link', 'a link\'s own attribute, not its target\'s');
});

t.test('batches after the first go through the launcher and read the same attributes', async (t) => {
  const ws = tempWorkspace(t);
  if (!(await requireXattrs(t, ws))) return;
  for (let d = 0; d < 4; d++) {
    mkdirSync(join(ws, `d${d}`));
    for (let f = 0; f < 800; f++) writeFileSync(join(ws, `d${d}`, `f${f}`), `${d}/${f}`);
  }
  // Late in the walk: in the third or fourth batch of 1024.
  await setXattr(join(ws, 'd3', 'f700'), 'user.late', 'value');
  await setXattr(join(ws, 'd3'), 'user.folder', 'value');
  const sealed = await guard(ws).seal();
  t.equal(sealed.violations, 0);
  t.equal(sealed.counts.entries, 3206, 'root, reserved folder, 4 folders, 3200 files');
  const lines = readFileSync(join(ws, '.tekton-workspace-guard/manifest.ndjson'), 'utf8').split('\n');
  t.equal(lines.filter((line) => line.includes('"xattrs"')).length, 2, 'exactly the two entries with attributes');
  t.match(lines.find((line) => line.includes('"name":"f700"') && line.includes('"depth":2') && line.includes('user.late')), `["user.late","${sha('value')}"]`);
  await execa('setcap', ['cap_net_raw+ep', join(ws, 'd3', 'f799')]);
  const police = await guard(ws).police();
  t.same(police.findings.map((f) => `${f.rule}:${f.path}`), ['file-capability:d3/f799']);
});
