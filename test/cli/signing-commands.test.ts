import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { repoRoot } from '../harness/shared.ts';

const run = async (args: string[], env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

t.test('sign, verify-catalog and policy have --help and are listed', async (t) => {
  for (const command of ['sign', 'verify-catalog', 'policy']) {
    const result = await run([command, '--help']);
    t.equal(result.code, 0, command);
    t.match(result.stdout, new RegExp(`Usage: tekton-catalog ${command}`));
  }
  const main = (await run(['--help'])).stdout;
  for (const command of ['sign', 'verify-catalog', 'policy']) t.match(main, new RegExp(`\\n  ${command} `), `--help lists ${command}`);
});

t.test('usage mistakes exit 2 with one line, no stack and no key material', async (t) => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const broken = pem.replace(/\n([A-Za-z0-9+/]{10})/, '\n!$1');
  const cases: { args: string[]; code: RegExp; env?: Record<string, string> }[] = [
    { args: ['sign', '--bogus'], code: /USAGE_SIGN/ },
    { args: ['sign', '--no-tlog'], code: /USAGE_SIGN/ },
    { args: ['sign', '--key', 'env://SIGNING_KEY'], code: /CONFIG_SIGNING_KEY/, env: { SIGNING_KEY: broken } },
    { args: ['sign', '--key', '/nonexistent/key.pem'], code: /CONFIG_SIGNING_KEY/ },
    { args: ['sign', '--index', '/nonexistent/index.json'], code: /CONFIG_SIGNING/ },
    { args: ['verify-catalog'], code: /USAGE_VERIFY_CATALOG/ },
    { args: ['verify-catalog', 'a', 'b'], code: /USAGE_VERIFY_CATALOG/ },
    { args: ['verify-catalog', 'registry.example.com/x:1', '--plain-http'], code: /USAGE_VERIFY_CATALOG/ },
    { args: ['verify-catalog', 'registry.example.com/x:1', '--public-key', '/nonexistent.pub'], code: /CONFIG_FILE/ },
    { args: ['policy', '--kind', 'opa'], code: /USAGE_POLICY/ },
    { args: ['policy', '--public-key', 'k.pub', '--certificate-identity', 'x'], code: /USAGE_POLICY/ },
    { args: ['policy', '--registry', 'Not A Registry'], code: /USAGE_REGISTRY/ },
  ];
  for (const c of cases) {
    const result = await run(c.args, c.env);
    t.equal(result.code, 2, `${c.args.join(' ')}: exit 2`);
    t.match(result.stderr, new RegExp(`^tekton-catalog: error \\[${c.code.source}`), `${c.args.join(' ')}: ${c.code.source}`);
    t.notMatch(result.stderr, /\n\s+at /, 'no stack');
    t.notMatch(result.stderr + result.stdout, /BEGIN|PRIVATE KEY|MIG/, 'no key material');
  }
});

t.test('policy writes both policies for a mirror, keyless or keyed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'policy-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keyless = await run(['policy', '--registry', 'mirror.example.com/tekton', '--output-dir', dir]);
  t.equal(keyless.code, 0, keyless.stderr);
  const cip = parse(await readFile(join(dir, 'cluster-image-policy.yaml'), 'utf8')) as { spec: { images: { glob: string }[] } };
  t.same(cip.spec.images, [{ glob: 'mirror.example.com/tekton/steps/**' }], 'the mirror prefix');
  const kyverno = parse(await readFile(join(dir, 'kyverno-cluster-policy.yaml'), 'utf8')) as { kind: string };
  t.equal(kyverno.kind, 'ClusterPolicy');
  const pub = join(dir, 'cosign.pub');
  await (await import('node:fs/promises')).writeFile(pub, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  const keyed = await run(['policy', '--public-key', pub, '--kind', 'kyverno']);
  t.equal(keyed.code, 0, keyed.stderr);
  t.match(keyed.stdout, /publicKeys: \|/, 'the key is pinned');
  t.notMatch(keyed.stdout, /ClusterImagePolicy/, '--kind prints one policy');
});
