import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RESERVED_DIR } from '../../src/workspace/marker.ts';
import { guard, rulesAt, tempWorkspace } from './fixtures.ts';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

t.test('small files (one read) and large files (streamed) hash the same as sha256 of their bytes', async (t) => {
  // A key header straddling the first 1 MiB read, in a file streamed in ten chunks; over
  // 8 MiB, so with threads: 2 its batch really goes to the worker threads.
  const header = `-----BEGIN EC ${'PRIVATE'} KEY-----`;
  const lines = 'x'.repeat(99) + '\n';
  const before = Buffer.from(lines.repeat(Math.floor((MiB - 10) / lines.length)));
  const padding = Buffer.alloc(MiB - 10 - before.length, 'y');
  const large = Buffer.concat([before, padding, Buffer.from(`${header}\n`), Buffer.alloc(8 * MiB, 'z')]);
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['small', Buffer.from('hello\n')],
    ['exactly-1MiB', Buffer.alloc(MiB, 'a')],
    ['just-over-1MiB', Buffer.alloc(MiB + 1, 'b')],
    ['large.pem', large],
  ];
  for (const threads of [0, 2]) {
    const ws = tempWorkspace(t);
    for (const [name, bytes] of cases) writeFileSync(join(ws, name), bytes);
    const report = await guard(ws, { threads }).seal();
    t.same(rulesAt(report, 'large.pem'), ['credential'], `threads ${threads}: the split key header is found`);
    const finding = report.findings.find((f) => f.path === 'large.pem');
    t.equal(finding?.line, before.toString().split('\n').length, 'on the right line');
    t.equal(report.violations, 1, 'nothing else is reported');
    // No manifest for a dirty tree: seal a copy without the key to read the hashes.
    writeFileSync(join(ws, 'large.pem'), Buffer.concat([before, padding, Buffer.alloc(8 * MiB + header.length + 1, 'z')]));
    const clean = await guard(ws, { threads }).seal();
    t.equal(clean.violations, 0);
    const manifest = readFileSync(join(ws, RESERVED_DIR, 'manifest.ndjson'), 'utf8');
    for (const [name] of cases) {
      const line = manifest.split('\n').find((l) => l.includes(`"name":${JSON.stringify(name)}`));
      t.match(line, `"sha256":"${sha256(readFileSync(join(ws, name)))}"`, `threads ${threads}: ${name}`);
    }
  }
});
