import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseBundle } from '../../src/sigstore/bundle/parse.ts';
import { isVerificationFailure } from '../../src/sigstore/errors.ts';
import { VerificationKey } from '../../src/sigstore/keys/public-key.ts';
import { KeylessPolicy } from '../../src/sigstore/policy/keyless-policy.ts';
import { publicGoodTrustedRoot } from '../../src/sigstore/trust/public-good.ts';
import { SigstoreTrustedRoot } from '../../src/sigstore/trust/trusted-root.ts';
import { BundleVerifier, type VerifiedBundle } from '../../src/sigstore/verify/bundle-verifier.ts';

/** Defaults from the suite's README, used when a case has no identity or issuer file. */
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

export interface CaseOutcome {
  name: string;
  ok: boolean;
  code?: string;
  message?: string;
  result?: VerifiedBundle;
}

export function listCases(root: string): string[] {
  return readdirSync(root)
    .filter((name) => statSync(join(root, name)).isDirectory())
    .sort();
}

/** Runs one case exactly as the suite describes it, through our verification core. */
export function runCase(root: string, name: string): CaseOutcome {
  const dir = join(root, name);
  const optional = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : undefined);
  try {
    const trustedRootBytes = optional('trusted_root.json');
    const trustedRoot = trustedRootBytes ? SigstoreTrustedRoot.fromBytes(trustedRootBytes, `${name}/trusted_root.json`) : publicGoodTrustedRoot();
    const keyPem = optional('key.pub');
    const verifier = keyPem
      ? new BundleVerifier({ trustedRoot, key: VerificationKey.fromPem(keyPem, `${name}/key.pub`) })
      : new BundleVerifier({
          trustedRoot,
          keyless: KeylessPolicy.create({
            identity: optional('identity')?.toString('utf8').trim() ?? DEFAULT_IDENTITY,
            issuer: optional('issuer')?.toString('utf8').trim() ?? DEFAULT_ISSUER,
          }),
        });
    const artifact = optional('artifact') ?? readFileSync(join(root, 'a.txt'));
    const parsed = parseBundle(readFileSync(join(dir, 'bundle.sigstore.json')), name);
    return { name, ok: true, result: verifier.verify(parsed, artifact, name) };
  } catch (error) {
    if (isVerificationFailure(error)) return { name, ok: false, code: error.code, message: error.message };
    return { name, ok: false, code: 'UNCAUGHT', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
