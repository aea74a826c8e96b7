import { parseArgs } from 'node:util';
import { CatalogError } from '../errors.ts';

/** What commands write to: process.stdout and process.stderr, or a capture in tests. */
export type Out = { write(text: string | Uint8Array): unknown };
export interface CommandIo {
  stdout: Out;
  stderr: Out;
}

export function usage(message: string, hint: string): CatalogError {
  return new CatalogError('USAGE', message, { hint });
}

export type Flags = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** node:util parseArgs with --help/-h on every command; a mistake is a USAGE error naming the flag and the usage line. */
export function parseCommand(args: string[], options: Flags, help: string, positionals = false): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positionals });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    // parseArgs names the offending flag; that is the user's own input, shown to the user.
    throw usage(error instanceof Error ? error.message : String(error), help.split('\n')[0]!);
  }
}

export function stringFlag(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * --trusted-token-realm, on every command that sends registry credentials: the
 * client gives them only to a token server on the registry's own host or
 * registrable domain, and to the ones listed here (src/oci/registry/token-realm.ts).
 */
export const TRUSTED_TOKEN_REALM_FLAG: Flags = { 'trusted-token-realm': { type: 'string', multiple: true } };
export const TRUSTED_TOKEN_REALM_HELP = `  --trusted-token-realm <url>  a token server on another domain that may receive the
                           registry credentials, e.g. https://auth.example.com (repeatable)`;

/** The registry client options for --trusted-token-realm; a refusal names the flag. */
export function trustedTokenRealmOptions(values: Values): { trustedTokenRealms?: string[]; trustedTokenRealmsSetting: string } {
  const realms = values['trusted-token-realm'];
  return {
    ...(Array.isArray(realms) && realms.length > 0 ? { trustedTokenRealms: realms } : {}),
    trustedTokenRealmsSetting: '--trusted-token-realm',
  };
}
