import t from 'tap';
import { REDACTED, Redactor } from '../../src/credentials/redactor.ts';
import { token } from './fixtures.ts';

t.test('masks the raw value and its base64, JSON and URL forms', async (t) => {
  const redactor = new Redactor();
  const secret = `${token('pw')}"\\/+&\n`;
  redactor.add(secret);
  const forms = [
    secret.trim(),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret.trim()).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret.trim()),
  ];
  for (const form of forms) {
    const out = redactor.redact(`before ${form} after`);
    t.equal(out, `before ${REDACTED} after`, 'form is masked');
  }
});

t.test('masks the long lines of a multi-line secret one by one', async (t) => {
  const redactor = new Redactor();
  const lines = [token('line-one-aaaaaaaaaa'), token('line-two-bbbbbbbbbb')];
  redactor.add(`-----BEGIN X-----\n${lines.join('\n')}\n-----END X-----\n`);
  t.equal(redactor.redact(`oops: ${lines[1]}`), `oops: ${REDACTED}`);
  t.equal(redactor.redact('-----END X-----'), '-----END X-----', 'short framing lines are not masked on their own');
});

t.test('masks a secret that contains another secret as a whole', async (t) => {
  const redactor = new Redactor();
  const inner = token('inner');
  const outer = `user:${inner}`;
  redactor.add(inner);
  redactor.add(outer);
  t.equal(redactor.redact(`x ${outer} y`), `x ${REDACTED} y`);
});

t.test('leaves text without secrets alone and ignores empty values', async (t) => {
  const redactor = new Redactor();
  redactor.add('');
  t.equal(redactor.size, 0);
  t.equal(redactor.redact('nothing to hide'), 'nothing to hide');
  redactor.add(token('s'));
  t.equal(redactor.redact('still nothing'), 'still nothing');
  t.equal(redactor.redactText('a.b*c(d'), 'a.b*c(d', 'regex characters in text are harmless');
});
