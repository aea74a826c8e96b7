import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };
import { VerificationFailure, VerifyErrorCode } from '../errors.ts';
import { SigstoreTrustedRoot } from './trusted-root.ts';

/**
 * Sigstore's public-good trusted root, as @sigstore/tuf ships it in its TUF
 * seeds. It is bundled into the step (esbuild inlines the JSON), so nothing
 * is fetched at run time; a newer root comes with a new catalog release or
 * from a trusted-root workspace.
 */
const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const TRUSTED_ROOT_TARGET = 'trusted_root.json';

let cached: SigstoreTrustedRoot | undefined;

export function publicGoodTrustedRoot(): SigstoreTrustedRoot {
  if (cached) return cached;
  const mirror = (seeds as Record<string, { targets?: Record<string, string> }>)[PUBLIC_GOOD_TUF_MIRROR];
  const encoded = mirror?.targets?.[TRUSTED_ROOT_TARGET];
  if (encoded === undefined) {
    throw new VerificationFailure(
      VerifyErrorCode.trustRootInvalid,
      `the embedded @sigstore/tuf seeds hold no ${TRUSTED_ROOT_TARGET} for ${PUBLIC_GOOD_TUF_MIRROR}`,
      { hint: 'pass a trusted root through the trusted-root workspace' },
    );
  }
  cached = SigstoreTrustedRoot.fromBytes(Buffer.from(encoded, 'base64'), 'embedded public-good root');
  return cached;
}
