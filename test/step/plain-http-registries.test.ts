/**
 * PLAIN_HTTP_REGISTRIES as verify-catalog (and, from its next version,
 * verify-image) reads it: every host must be a loopback host, whatever the
 * separators, and a refusal shows the host escaped.
 */
import t from 'tap';
import { isCatalogError } from '../../src/errors.ts';
import { plainHttpRegistries } from '../../src/step/plain-http-registries.ts';

const loopback = ['127.0.0.1:5000', '127.1.2.3:443', 'localhost:5000', 'localhost', '[::1]:5000'];
const remote = ['registry.example.com:5000', '10.0.0.1:5000', '169.254.169.254', '[::2]:5000', 'localhost.example.com', '127.0.0.1.nip.io:5000', '0.0.0.0:5000'];
const separators = [' ', ',', ', ', '\n', '\t', '  ,\n'];

t.test('loopback hosts pass, in order, whatever separates them', async (t) => {
  for (const sep of separators) t.same(plainHttpRegistries(`${sep}${loopback.join(sep)}${sep}`), loopback, JSON.stringify(sep));
  t.same(plainHttpRegistries(''), [], 'empty: none');
});

t.test('one host that is not loopback, anywhere in the list, refuses the whole list', async (t) => {
  for (const host of remote) {
    for (let at = 0; at <= loopback.length; at++) {
      const list = [...loopback.slice(0, at), host, ...loopback.slice(at)].join(' ');
      let error: unknown;
      try {
        plainHttpRegistries(list);
      } catch (e) {
        error = e;
      }
      t.ok(isCatalogError(error) && error.code === 'CONFIG_PLAIN_HTTP', `${host} at ${at}`);
    }
  }
});

t.test('the refusal names the setting and shows the host escaped', async (t) => {
  try {
    plainHttpRegistries('evil\u001b[31m.example.com');
    t.fail('should refuse');
  } catch (error) {
    t.ok(isCatalogError(error));
    const message = (error as Error).message;
    t.match(message, /PLAIN_HTTP_REGISTRIES|plain-http-registries/);
    t.notMatch(message, /\u001b/, 'no raw escape character');
  }
});
