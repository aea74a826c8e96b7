import { createHmac, createPrivateKey, timingSafeEqual } from 'node:crypto';
import { CredentialsError, CredentialsErrorCode } from '../errors.ts';
import type { AllowedHost } from '../hosts.ts';
import { OutputPaths, type PlannedFile } from '../plan.ts';
import type { Redactor } from '../redactor.ts';
import { malformed, secretText, type LoadedSecret } from '../secret.ts';

/**
 * An SSH identity scoped to the allowed hosts: the private key, a
 * known_hosts holding only the lines for those hosts, and a config with one
 * `Host` block per allowed host that checks host keys strictly
 * (`StrictHostKeyChecking yes`, never "no") against that known_hosts and
 * offers only this key. The key's file name is not one ssh tries by
 * default, so other hosts never see it.
 */
export interface SshOptions {
  /** known_hosts text from the param; falls back to the Secret's known_hosts key. */
  readonly knownHosts: string;
  readonly user: string;
  /** Where the consuming step sees the ssh folder (ssh expands "~"); the config's paths point there. */
  readonly consumerDir: string;
}

export const SSH_USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
export const SSH_CONSUMER_DIR = /^(~(\/[A-Za-z0-9._-]+)*|(\/[A-Za-z0-9._-]+)+)\/?$/;
const KEY_TYPE = /^[a-z0-9@.-]{3,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PRIVATE_KEY_BLOCK = /^-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END \1PRIVATE KEY-----\s*$/;

export function sshFiles(secret: LoadedSecret, hosts: readonly AllowedHost[], options: SshOptions, redactor: Redactor): PlannedFile[] {
  if (hosts.length === 0) {
    throw new CredentialsError(CredentialsErrorCode.input, 'allowed-hosts is empty; an SSH key must be scoped to at least one host');
  }
  if (!SSH_USER.test(options.user)) {
    throw new CredentialsError(CredentialsErrorCode.input, 'ssh-user must be a plain user name (letters, digits, "_", ".", "-")');
  }
  if (!SSH_CONSUMER_DIR.test(options.consumerDir) || options.consumerDir.split('/').includes('..')) {
    throw new CredentialsError(CredentialsErrorCode.input, 'ssh-dir must be an absolute path or start with "~", without spaces or ".."');
  }
  const key = secretText(secret, 'ssh-privatekey');
  redactor.add(key);
  checkPrivateKey(secret, key);
  const knownHostsText =
    options.knownHosts.trim() !== '' ? options.knownHosts : secret.data.has('known_hosts') ? secretText(secret, 'known_hosts') : '';
  if (knownHostsText.trim() === '') {
    throw new CredentialsError(CredentialsErrorCode.knownHosts, 'known_hosts is required for ssh-auth and was not given', {
      hint: 'pass the hosts\' public keys in ssh-known-hosts (e.g. from ssh-keyscan, checked out of band) or a known_hosts key in the Secret',
    });
  }
  const knownHosts = scopeKnownHosts(knownHostsText, hosts);
  const dir = options.consumerDir.replace(/\/+$/, '');
  const blocks = hosts.map((host) =>
    [
      `Host ${host.hostname}`,
      `  HostName ${host.hostname}`,
      `  Port ${host.port ?? 22}`,
      `  User ${options.user}`,
      `  IdentityFile ${dir}/id_credentials`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${dir}/known_hosts`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  UpdateHostKeys no',
      '  PasswordAuthentication no',
      '  KbdInteractiveAuthentication no',
      '  BatchMode yes',
      '',
    ].join('\n'),
  );
  const config = [
    '# Written by inject-credentials: host keys are checked strictly and the key is offered to these hosts only.',
    ...blocks,
    'Host *',
    '  StrictHostKeyChecking yes',
    `  UserKnownHostsFile ${dir}/known_hosts`,
    '  BatchMode yes',
    '',
  ].join('\n');
  return [
    { path: OutputPaths.sshKey, content: Buffer.from(key.endsWith('\n') ? key : `${key}\n`, 'utf8') },
    { path: OutputPaths.sshKnownHosts, content: Buffer.from(knownHosts, 'utf8') },
    { path: OutputPaths.sshConfig, content: Buffer.from(config, 'utf8') },
  ];
}

/** A step cannot answer a passphrase prompt, and a key that is not a key should fail here, not in git. */
function checkPrivateKey(secret: LoadedSecret, key: string): void {
  const block = PRIVATE_KEY_BLOCK.exec(key.trim() + '\n');
  if (!block) throw malformed(secret, 'ssh-privatekey', 'is not a PEM or OpenSSH private key block');
  if (block[1] === 'OPENSSH ') {
    const body = key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const bytes = Buffer.from(body, 'base64');
    const magic = Buffer.from('openssh-key-v1\0', 'latin1');
    if (bytes.length < magic.length + 4 || !bytes.subarray(0, magic.length).equals(magic)) {
      throw malformed(secret, 'ssh-privatekey', 'is not an OpenSSH private key (bad header)');
    }
    const cipherLength = bytes.readUInt32BE(magic.length);
    const cipher = bytes.subarray(magic.length + 4, magic.length + 4 + cipherLength).toString('latin1');
    if (cipher !== 'none') {
      throw malformed(secret, 'ssh-privatekey', 'is passphrase-protected', 'a step cannot type a passphrase; store an unencrypted deploy key in the Secret');
    }
    return;
  }
  try {
    createPrivateKey({ key, format: 'pem' });
  } catch {
    throw malformed(secret, 'ssh-privatekey', 'cannot be loaded as a private key (malformed or passphrase-protected)');
  }
}

/**
 * Keeps the known_hosts lines whose host patterns name an allowed host
 * exactly (plain, "[host]:port" or hashed "|1|salt|hash"); wildcard lines are
 * dropped. Every allowed host needs at least one key, or ssh would fail
 * later with a less useful message.
 */
export function scopeKnownHosts(text: string, hosts: readonly AllowedHost[]): string {
  const kept: string[] = [];
  const covered = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith('@') ? fields.shift() : undefined;
    const [patterns, keyType, keyData] = fields;
    if (
      (marker !== undefined && marker !== '@cert-authority' && marker !== '@revoked') ||
      patterns === undefined ||
      keyType === undefined ||
      keyData === undefined ||
      !KEY_TYPE.test(keyType) ||
      !BASE64.test(keyData)
    ) {
      throw new CredentialsError(CredentialsErrorCode.knownHosts, `known_hosts line ${index + 1} is not "[marker] hosts key-type base64-key"`);
    }
    const matched = hosts.filter((host) => patterns.split(',').some((pattern) => patternNames(pattern, host)));
    if (matched.length === 0) return;
    kept.push(line);
    if (marker !== '@revoked') for (const host of matched) covered.add(host.key);
  });
  for (const host of hosts) {
    if (!covered.has(host.key)) {
      throw new CredentialsError(CredentialsErrorCode.knownHosts, `known_hosts has no key for allowed host ${host.key}`, {
        hint: 'add its public key line (for a port other than 22, the host is written "[host]:port")',
      });
    }
  }
  return `${kept.join('\n')}\n`;
}

function hostNameForm(host: AllowedHost): string {
  return host.port === undefined || host.port === 22 ? host.hostname : `[${host.hostname}]:${host.port}`;
}

function patternNames(pattern: string, host: AllowedHost): boolean {
  const name = hostNameForm(host);
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash || !BASE64.test(salt) || !BASE64.test(hash)) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  return pattern.toLowerCase() === name;
}
