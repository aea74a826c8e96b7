// verify-image against a loopback registry: the bundled step verifying 1, 10
// and 50 keyless-signed images (half legacy .sig, half bundle referrers),
// wall time per image as a ratio to `node -e 0` measured in the same run.
// The step verifies at most 4 images at once.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bundleBytes, bundleStep, writeStepBundle } from '../../src/build/bundle-step.ts';
import { RegistryClient } from '../../src/oci/registry/index.ts';
import { startRegistry } from '../../test/harness/registry.ts';
import { pushBundleReferrer, pushImage, pushLegacySignatures } from '../../test/sigstore/fixtures/registry-images.ts';
import { MockSigstore, inTotoStatement, simpleSigningPayload } from '../../test/sigstore/fixtures/signing.ts';
import { figure, type BenchSection } from './lib.ts';

/** One line for `npm run bench -- --help`. */
export const summary = 'verify-image on 1, 10 and 50 signed images from a loopback registry (vs node -e 0)';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIZES = [1, 10, 50] as const;
const RUNS = 5;
const WHO = { identity: 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

/**
 * Asynchronous on purpose: the test registry logs to a pipe this process
 * drains, and a synchronous child would leave that pipe full and the
 * registry stalled.
 */
async function timeOnce(file: string, args: string[], env: NodeJS.ProcessEnv, okCodes: readonly number[] = [0]): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      if (typeof code === 'number' && okCodes.includes(code)) resolve();
      else reject(new Error(`${file} exited with ${String(code)}: ${stderr.slice(-2000)}`));
    });
  });
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<BenchSection> {
  const work = await mkdtemp(join(tmpdir(), 'bench-verify-image-'));
  const registry = await startRegistry();
  const client = new RegistryClient(registry.host, { plainHttp: true });
  try {
    const bundle = await bundleStep(repoRoot, 'verify-image');
    const program = await writeStepBundle(bundle, work);
    const sigstore = await MockSigstore.create();
    await writeFile(join(work, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot()));
    const refs: string[] = [];
    for (let i = 0; i < Math.max(...SIZES); i++) {
      const image = await pushImage(client, `bench/app${i}`, 'v1', `bench image ${i}`);
      if (i % 2 === 0) {
        await pushLegacySignatures(client, image.repository, image.digest, [await sigstore.legacyKeyless(simpleSigningPayload(image.repository, image.digest), WHO)]);
      } else {
        await pushBundleReferrer(client, image, await sigstore.bundleKeyless(inTotoStatement(image.digest), WHO));
      }
      refs.push(`${registry.host}/${image.repository}@${image.digest}`);
    }
    const env = {
      CERTIFICATE_IDENTITY: WHO.identity,
      CERTIFICATE_OIDC_ISSUER: WHO.issuer,
      TRUSTED_ROOT_DIR: work,
      PLAIN_HTTP_REGISTRIES: registry.host,
      TEKTON_RESULTS_DIR: join(work, 'results'),
    };
    // Results hold about eight images; larger runs are timed with the report only.
    const args = (n: number) => ['--images', ...refs.slice(0, n)];
    const envFor = (n: number) => (n > 8 ? { ...env, TEKTON_RESULTS_DIR: join(work, `results-${n}`), REPORT_DIR: work } : env);
    await timeOnce(process.execPath, ['-e', '0'], {});
    const baseline: number[] = [];
    const times = new Map<number, number[]>(SIZES.map((n) => [n, []]));
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await timeOnce(process.execPath, ['-e', '0'], {}));
      for (const n of SIZES) {
        // Past ~8 images the verified-images result overflows (exit 3) after every image was verified: timed all the same.
        times.get(n)!.push(await timeOnce(process.execPath, [program, ...args(n)], envFor(n), n > 8 ? [0, 3] : [0]));
      }
    }
    const base = median(baseline);
    return {
      title: 'verify-image against a loopback registry',
      figures: SIZES.map((n) => {
        const total = median(times.get(n)!);
        return figure(`verify-image, ${n} image${n === 1 ? '' : 's'}: wall time per image`, 'node -e 0', total / n, base, {
          notes: `total ${total.toFixed(0)} ms for ${n}; keyless, half legacy .sig and half referrer bundles; concurrency 4; median of ${RUNS}`,
        });
      }),
      extra: [`Bundled step: ${(bundleBytes(bundle) / 1024).toFixed(0)} KiB.`],
    };
  } finally {
    await client.close();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
