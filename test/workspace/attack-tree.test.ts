import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { execa } from 'execa';
import { requireRoot } from '../harness/shared.ts';
import { RESERVED_DIR } from '../../src/workspace/marker.ts';
import { guard, rulesAt, tempWorkspace } from './fixtures.ts';

const PEM = `-----BEGIN OPENSSH ${'PRIVATE'} KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH ${'PRIVATE'} KEY-----\n`;

t.test('symlinks leaving the workspace are caught, and never followed', async (t) => {
  const ws = tempWorkspace(t);
  const outside = mkdtempSync(join(tmpdir(), 'wsg-outside-'));
  t.teardown(() => execa('rm', ['-rf', outside]));
  writeFileSync(join(outside, 'id_ed25519'), PEM);
  mkdirSync(join(ws, 'sub'));
  writeFileSync(join(ws, 'sub', 'file'), 'ok');
  symlinkSync('/', join(ws, 'to-root'));
  symlinkSync('../', join(ws, 'to-parent'));
  symlinkSync('/var/run/secrets', join(ws, 'to-secrets'));
  symlinkSync(outside, join(ws, 'to-outside'));
  symlinkSync('../../etc/passwd', join(ws, 'sub', 'climb'));
  // A chain: each hop looks harmless alone, together they climb out.
  symlinkSync('.', join(ws, 'here'));
  symlinkSync('here/..', join(ws, 'chain'));
  symlinkSync('chain/x', join(ws, 'chain2'));
  // Loops and harmless links.
  symlinkSync('loop-b', join(ws, 'loop-a'));
  symlinkSync('loop-a', join(ws, 'loop-b'));
  symlinkSync('sub/file', join(ws, 'inside'));
  symlinkSync('../sub/../inside', join(ws, 'sub', 'back-inside'));
  symlinkSync('missing/target', join(ws, 'dangling-inside'));

  const report = await guard(ws).police();
  for (const path of ['to-root', 'to-parent', 'to-secrets', 'to-outside', 'sub/climb', 'chain', 'chain2']) {
    t.same(rulesAt(report, path), ['symlink-escape'], path);
  }
  t.same(rulesAt(report, 'loop-a'), ['symlink-loop']);
  for (const path of ['inside', 'sub/back-inside', 'dangling-inside', 'here', 'sub/file']) t.same(rulesAt(report, path), [], `${path} is fine`);
  t.notOk(report.findings.some((f) => f.path.includes('id_ed25519')), 'the walk did not follow a link into the outside folder');
  t.equal(report.counts.symlinks, 13);
});

t.test('hardlinks: names outside the workspace are caught, pairs inside are not', async (t) => {
  const ws = tempWorkspace(t);
  const outside = mkdtempSync(join(tmpdir(), 'wsg-outside-'));
  t.teardown(() => execa('rm', ['-rf', outside]));
  writeFileSync(join(outside, 'host-file'), 'planted');
  linkSync(join(outside, 'host-file'), join(ws, 'linked-out'));
  writeFileSync(join(ws, 'a'), 'twin');
  linkSync(join(ws, 'a'), join(ws, 'b'));
  const report = await guard(ws).police();
  t.same(rulesAt(report, 'linked-out'), ['hardlink-escape']);
  t.same(rulesAt(report, 'a'), []);
  t.same(rulesAt(report, 'b'), []);
});

t.test('setuid, setgid, world-writable and unexpected owners', async (t) => {
  if (!requireRoot(t, 'chown to another uid')) return;
  const ws = tempWorkspace(t);
  for (const [name, mode] of [['suid', 0o4755], ['sgid', 0o2755], ['both', 0o6755], ['ww', 0o666], ['plain', 0o644]] as const) {
    writeFileSync(join(ws, name), '#!/bin/sh\n');
    chmodSync(join(ws, name), mode);
  }
  mkdirSync(join(ws, 'wwdir'));
  chmodSync(join(ws, 'wwdir'), 0o1777);
  writeFileSync(join(ws, 'stranger'), 'x');
  chownSync(join(ws, 'stranger'), 4242, 4242);
  const report = await guard(ws, { allowedUids: [0] }).police();
  t.same(rulesAt(report, 'suid'), ['setuid']);
  t.same(rulesAt(report, 'sgid'), ['setgid']);
  t.same(rulesAt(report, 'both'), ['setgid', 'setuid']);
  t.same(rulesAt(report, 'ww'), ['world-writable']);
  t.same(rulesAt(report, 'wwdir'), ['world-writable']);
  t.same(rulesAt(report, 'stranger'), ['unexpected-owner']);
  t.same(rulesAt(report, 'plain'), []);
  const noOwnerCheck = await guard(ws).police();
  t.same(rulesAt(noOwnerCheck, 'stranger'), [], 'no allow-list, no owner check');
});

t.test('FIFOs, sockets and device files', async (t) => {
  const ws = tempWorkspace(t);
  await execa('mkfifo', [join(ws, 'pipe')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(ws, 'sock'), resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const mknod = await execa('mknod', [join(ws, 'null-dev'), 'c', '1', '3'], { reject: false });
  const report = await guard(ws).police();
  t.same(rulesAt(report, 'pipe'), ['fifo'], 'the FIFO is reported, and the walk did not block opening it');
  t.same(rulesAt(report, 'sock'), ['socket']);
  if (mknod.exitCode === 0) t.same(rulesAt(report, 'null-dev'), ['device-file']);
  else t.skip(`mknod is not permitted in this sandbox: ${mknod.stderr.trim()}`, () => {});
});

t.test('names with newlines, bidi controls, Unicode and invalid UTF-8', async (t) => {
  const ws = tempWorkspace(t);
  writeFileSync(join(ws, 'evil\nname'), 'x');
  writeFileSync(join(ws, 'invoice\u202Efdp.exe'), 'x');
  writeFileSync(join(ws, 'café-日本語-\u{1F600}'), 'unicode is fine');
  writeFileSync(Buffer.concat([Buffer.from(`${ws}/bad-`), Buffer.from([0xff, 0xfe])]), 'x');
  const report = await guard(ws).police();
  t.same(rulesAt(report, 'evil\nname'), ['control-character-name']);
  t.same(rulesAt(report, 'invoice\u202Efdp.exe'), ['control-character-name']);
  t.same(rulesAt(report, 'café-日本語-\u{1F600}'), []);
  t.same(report.findings.filter((f) => f.rule === 'non-utf8-name').length, 1);
  const sealed = await guard(ws).seal();
  t.equal(sealed.manifestDigest, undefined, 'a tree with bad names is never sealed');
});

t.test('credential material is listed by kind and path, never by value', async (t) => {
  const ws = tempWorkspace(t);
  mkdirSync(join(ws, '.docker'));
  mkdirSync(join(ws, 'secrets/kubernetes.io/serviceaccount'), { recursive: true });
  writeFileSync(join(ws, 'id_ed25519'), PEM);
  writeFileSync(join(ws, '.docker', 'config.json'), '{"auths":{"registry.example.com":{"auth":"Ym90OnMzY3IzdA=="}}}');
  writeFileSync(join(ws, 'secrets/kubernetes.io/serviceaccount/token'), 'opaque-token-value');
  writeFileSync(join(ws, '.git-credentials'), 'https://bot:s3cr3t-value@git.example.com\n');
  writeFileSync(join(ws, 'README.md'), 'nothing to see');
  const report = await guard(ws).police();
  const kinds = report.findings.filter((f) => f.rule === 'credential').map((f) => `${f.path}:${f.kind}`).sort();
  t.same(kinds, [
    '.docker/config.json:docker-config-auths',
    '.git-credentials:git-credentials',
    'id_ed25519:private-key',
    'secrets/kubernetes.io/serviceaccount/token:kubernetes-service-account-token',
  ]);
  const text = JSON.stringify(report);
  for (const secret of ['Ym90OnMzY3IzdA', 's3cr3t-value', 'opaque-token-value', 'b3BlbnNzaC1rZXkt']) t.notMatch(text, secret);
});

t.test('a manipulated reserved folder is caught', async (t) => {
  const ws = tempWorkspace(t);
  symlinkSync('/tmp', join(ws, RESERVED_DIR));
  const report = await guard(ws).police();
  t.ok(rulesAt(report, RESERVED_DIR).includes('marker-invalid'));
  t.ok(rulesAt(report, RESERVED_DIR).includes('symlink-escape'));
  const ws2 = tempWorkspace(t);
  mkdirSync(join(ws2, RESERVED_DIR));
  symlinkSync('/etc/hostname', join(ws2, RESERVED_DIR, 'run'));
  const report2 = await guard(ws2).police();
  t.ok(rulesAt(report2, RESERVED_DIR).includes('marker-invalid'), 'a symlinked marker is not read');
  t.same(rulesAt(report2, `${RESERVED_DIR}/run`), ['reserved-folder', 'symlink-escape'], 'the reserved folder is policed too, and a linked marker is refused');
});
