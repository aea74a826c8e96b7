import { CredentialsError, CredentialsErrorCode } from '../errors.ts';
import type { AllowedHost } from '../hosts.ts';
import { OutputPaths, type PlannedFile } from '../plan.ts';
import type { Redactor } from '../redactor.ts';
import { malformed, secretText, type LoadedSecret } from '../secret.ts';
import type { BasicAuthFormat } from './basic-auth-formats.ts';
import { dockerConfigFromBasicAuth } from './docker-config.ts';

export { BASIC_AUTH_FORMATS, isBasicAuthFormat, type BasicAuthFormat } from './basic-auth-formats.ts';

/**
 * A basic-auth Secret written for git (a credential store with one https
 * line per allowed host, and a .gitconfig naming the store helper), for
 * curl and friends (.netrc, one machine per allowed host) and optionally
 * as registry credentials. Hosts not allowed get nothing.
 */
export function basicAuthFiles(
  secret: LoadedSecret,
  hosts: readonly AllowedHost[],
  formats: readonly BasicAuthFormat[],
  redactor: Redactor,
): PlannedFile[] {
  const username = secretText(secret, 'username').replace(/\r?\n$/, '');
  const password = secretText(secret, 'password').replace(/\r?\n$/, '');
  redactor.add(password);
  if (username === '' || password === '') {
    throw malformed(secret, username === '' ? 'username' : 'password', 'is empty');
  }
  for (const [key, value] of [['username', username], ['password', password]] as const) {
    if (/[\u0000-\u001f\u007f]/.test(value)) throw malformed(secret, key, 'holds a control character or line break');
  }
  if (hosts.length === 0) {
    throw new CredentialsError(CredentialsErrorCode.input, 'allowed-hosts is empty; basic-auth credentials must be scoped to at least one host');
  }
  const files: PlannedFile[] = [];
  if (formats.includes('git-credentials')) {
    const user = encodeURIComponent(username);
    const pass = encodeURIComponent(password);
    redactor.add(`${user}:${pass}`);
    const lines = hosts.map((host) => `https://${user}:${pass}@${host.key}\n`);
    files.push({ path: OutputPaths.gitCredentials, content: Buffer.from(lines.join(''), 'utf8') });
    // The store helper reads ~/.git-credentials: consumers copy this folder to $HOME (the tektoncd git-clone convention).
    files.push({ path: OutputPaths.gitConfig, content: Buffer.from('[credential]\n\thelper = store\n', 'utf8') });
  }
  if (formats.includes('netrc')) {
    // .netrc has no quoting most readers agree on; refuse rather than write a line they would split.
    for (const [key, value] of [['username', username], ['password', password]] as const) {
      if (/[\s"'#\\]/.test(value)) {
        throw malformed(secret, key, 'holds whitespace, a quote, "#" or "\\", which .netrc cannot hold', 'drop netrc from basic-auth-formats');
      }
    }
    // .netrc matches on the host name only: a port in allowed-hosts cannot narrow it further.
    const machines = [...new Set(hosts.map((host) => host.hostname))];
    const lines = machines.map((machine) => `machine ${machine} login ${username} password ${password}\n`);
    files.push({ path: OutputPaths.netrc, content: Buffer.from(lines.join(''), 'utf8') });
  }
  if (formats.includes('docker-config')) files.push(dockerConfigFromBasicAuth(username, password, hosts, redactor));
  return files;
}
