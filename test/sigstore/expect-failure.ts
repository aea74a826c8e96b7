import type { Test } from 'tap';
import { isVerificationFailure } from '../../src/sigstore/errors.ts';

/** Asserts that `fn` throws a VerificationFailure with exactly `code`; returns its message. */
export function expectFailure(t: Test, fn: () => unknown, code: string, what: string): string | undefined {
  try {
    fn();
  } catch (error) {
    const found = isVerificationFailure(error) ? error.code : `non-VerificationFailure ${String(error)}`;
    t.equal(found, code, what);
    return error instanceof Error ? error.message : undefined;
  }
  t.fail(`${what}: it did not fail`);
  return undefined;
}

/** The async form, for the image verifier and the registry. */
export async function expectRejection(t: Test, promise: Promise<unknown>, code: string, what: string): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    const found = isVerificationFailure(error) ? error.code : `non-VerificationFailure ${String(error)}`;
    t.equal(found, code, what);
    return error instanceof Error ? error.message : undefined;
  }
  t.fail(`${what}: it did not fail`);
  return undefined;
}
