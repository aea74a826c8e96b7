/**
 * The step program as it ships: bundled by the catalog's own bundler, run
 * as a subprocess with this Node (copied beside the bundle) as uid 65532 (the image's user),
 * inputs via env and args only. Every run, success or failure, ends with the
 * leak scan: stdout, stderr, every result, the metrics file and every file
 * the run could write outside the credentials workspace are searched for
 * every secret in every encoding.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, chown, copyFile, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { bundleStep, writeStepBundle } from '../../src/build/bundle-step.ts';
import { findLeaks, filesUnder, makeSshFixture, token, type Haystack } from '../credentials/fixtures.ts';
import { listTree, prepareOutside, rotatedCases, snapshotOutside, type MarkerAfter, type PlantedCase } from '../credentials/planted.ts';
import { startKubeApiStub, writeServiceAccountDir } from '../harness/k8s-api-stub.ts';
import { repoRoot, requireRoot } from '../harness/shared.ts';

const STEP_UID = 65532;
const asRoot = process.getuid?.() === 0;
const stepUid = asRoot ? STEP_UID : process.getuid!();

let work: string;
/** This Node, beside the bundle: the step user need not be able to enter the checkout (a clone in a 0700 folder). */
let node: string;
let bundle: string;
let bundleCode: string;

/** Memory-backed like the emptyDir (medium: Memory) the Task recommends: fsync, done for every file written and overwritten, costs nothing there. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

t.before(async () => {
  work = await mkdtemp(join(scratchRoot(), 'inject-credentials-step-'));
  await chmod(work, 0o755);
  const built = await bundleStep(repoRoot, 'inject-credentials');
  bundleCode = built.files.map((file) => Buffer.from(file.contents).toString('utf8')).join('\n');
  bundle = await writeStepBundle(built, work);
  node = join(work, 'node');
  await link(process.execPath, node).catch(() => copyFile(process.execPath, node));
});
t.teardown(() => rm(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  root: string;
  creds: string;
  secretDir: string;
  results: Record<string, string>;
  metrics: string;
  /** Every output of the run except the credentials workspace and the secret's own mount. */
  outputs: Haystack[];
}

interface Scenario {
  secretFiles?: Record<string, string | Buffer>;
  env?: Record<string, string>;
  args: string[];
  /** Prepare the credentials folder (e.g. mount a tmpfs) before the run; default: a fresh folder owned by the step user. */
  prepareCreds?: (creds: string) => Promise<void>;
  /** Reuse a root from an earlier run (inject, then cleanup). */
  reuse?: Run;
}

async function ownByStep(path: string): Promise<void> {
  if (asRoot) await chown(path, STEP_UID, STEP_UID);
}

async function runStepProgram(scenario: Scenario): Promise<Run> {
  const root = scenario.reuse?.root ?? (await mkdtemp(join(work, 'run-')));
  const creds = join(root, 'creds');
  const secretDir = join(root, 'secret');
  const resultsDir = join(root, 'results');
  const scratch = join(root, 'tmp');
  if (!scenario.reuse) {
    await chmod(root, 0o755);
    await mkdir(secretDir, { mode: 0o755 });
    for (const [key, value] of Object.entries(scenario.secretFiles ?? {})) await writeFile(join(secretDir, key), value, { mode: 0o444 });
    await mkdir(creds);
    if (scenario.prepareCreds) await scenario.prepareCreds(creds);
    else await ownByStep(creds);
  }
  await rm(resultsDir, { recursive: true, force: true });
  await mkdir(resultsDir);
  await ownByStep(resultsDir);
  await mkdir(scratch, { recursive: true });
  await ownByStep(scratch);
  const metricsFile = join(scratch, 'metrics.prom');
  await rm(metricsFile, { force: true });
  // env -u: the test runner adds NODE_OPTIONS hooks to every child it spawns; the image has none.
  const result = await execa('/usr/bin/env', ['-u', 'NODE_OPTIONS', node, bundle, ...scenario.args], {
    env: {
      PATH: '/usr/bin:/bin',
      HOME: scratch,
      TMPDIR: scratch,
      TEKTON_RESULTS_DIR: resultsDir,
      TEKTON_CATALOG_METRICS_FILE: metricsFile,
      CREDENTIALS_DIR: creds,
      SECRET_DIR: secretDir,
      ...scenario.env,
    },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    stdin: 'ignore',
    cwd: scratch,
    ...(asRoot ? { uid: STEP_UID, gid: STEP_UID } : {}),
  });
  const results: Record<string, string> = {};
  for (const name of await readdir(resultsDir)) results[name] = await readFile(join(resultsDir, name), 'utf8');
  const metrics = await readFile(metricsFile, 'utf8').catch(() => '');
  const outputs: Haystack[] = [
    { name: 'stdout', content: result.stdout },
    { name: 'stderr', content: result.stderr },
    // Not the planted cases' outside folder either: a test plants a hard link to a credential there, as an attacker would.
    ...(await filesUnder(root, [creds, secretDir, join(root, 'outside')])),
  ];
  return { code: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr, root, creds, secretDir, results, metrics, outputs };
}

function assertNoLeaks(t: Test, run: Run, secrets: readonly string[]): void {
  t.same(findLeaks(run.outputs, secrets), [], `no secret in stdout, stderr, results, metrics or any other file (${run.outputs.length} outputs scanned)`);
}

async function tree(dir: string): Promise<{ path: string; mode: number; uid: number; dir: boolean }[]> {
  const out: { path: string; mode: number; uid: number; dir: boolean }[] = [];
  const walk = async (relative: string) => {
    for (const name of await readdir(join(dir, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(dir, path));
      out.push({ path, mode: info.mode & 0o777, uid: info.uid, dir: info.isDirectory() });
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function assertScopedModes(t: Test, run: Run): Promise<void> {
  const entries = await tree(run.creds);
  t.ok(entries.length > 0, 'something was written');
  for (const entry of entries) {
    t.equal(entry.mode, entry.dir ? 0o700 : 0o400, `${entry.path} is ${entry.dir ? '0700' : '0400'}`);
    t.equal(entry.uid, stepUid, `${entry.path} is owned by the step user`);
  }
}

async function assertFingerprints(t: Test, run: Run): Promise<void> {
  const fingerprints = JSON.parse(run.results.fingerprints ?? 'null') as Record<string, string>;
  const paths = JSON.parse(run.results.paths ?? 'null') as string[];
  t.same(Object.keys(fingerprints), paths, 'paths lists the fingerprinted files');
  for (const [path, digest] of Object.entries(fingerprints)) {
    const actual = createHash('sha256').update(await readFile(join(run.creds, path))).digest('hex');
    t.equal(digest, `sha256:${actual}`, `${path} fingerprint matches its content`);
  }
  for (const value of Object.values(run.results)) t.ok(Buffer.byteLength(value) <= 1024, 'result stays within 1 KB');
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const DOCKER = 'kubernetes.io/dockerconfigjson';

t.test('the bundle runs no child process', async (t) => {
  t.notOk(/child_process/.test(bundleCode), 'nothing in the bundle can spawn a child, so no child can inherit a secret');
});

t.test('--help explains the modes and the env, exit 0', async (t) => {
  const run = await runStepProgram({ args: ['--help'] });
  t.equal(run.code, 0);
  t.match(run.stdout, /--mode inject\|cleanup/);
  t.match(run.stdout, /CREDENTIALS_DIR/);
});

t.test('dockerconfigjson: only the allowed registries, 0700/0400, fingerprints; cleanup empties it', async (t) => {
  const hub = token('hub');
  const ghcr = token('ghp');
  const evil = token('evil');
  const secretJson = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64(`me:${hub}`) },
      'ghcr.io': { auth: b64(`bot:${ghcr}`) },
      'evil.example.com': { auth: b64(`x:${evil}`) },
    },
  });
  const secrets = [hub, ghcr, evil, `me:${hub}`, `bot:${ghcr}`, secretJson];
  const run = await runStepProgram({
    secretFiles: { '.dockerconfigjson': secretJson },
    env: { SECRET_NAME: 'registry-push-creds', SECRET_TYPE: DOCKER, CREDENTIALS_EXPIRES: '30m' },
    args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io', 'docker.io', '--basic-auth-formats', '--opaque-files'],
  });
  t.equal(run.code, 0, run.stderr);
  const config = JSON.parse(await readFile(join(run.creds, 'docker/config.json'), 'utf8'));
  t.same(Object.keys(config.auths).sort(), ['ghcr.io', 'https://index.docker.io/v1/']);
  t.same(findLeaks(await filesUnder(run.creds), [evil]), [], 'the registry that is not allowed is absent from the credentials workspace');
  await assertScopedModes(t, run);
  await assertFingerprints(t, run);
  t.match(run.metrics, /tekton_credential_injections_total\{outcome="success",secret_type="kubernetes.io\/dockerconfigjson",source="workspace"\} 1/);
  t.match(run.results['injection-digest'], /^sha256:[0-9a-f]{64}$/, 'the injection returns the digest of the workspace');
  assertNoLeaks(t, run, secrets);

  const cleanup = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
  t.equal(cleanup.code, 0, cleanup.stderr);
  t.same(await readdir(run.creds), [], 'cleanup leaves the workspace empty');
  t.equal(cleanup.results.fingerprints, '{}');
  t.equal(cleanup.results['injection-digest'], '', 'cleanup returns no digest');
  t.ok((JSON.parse(cleanup.results.paths!) as string[]).includes('docker/config.json'));
  assertNoLeaks(t, cleanup, secrets);
  const again = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
  t.equal(again.code, 0, 'cleanup is idempotent');
});

t.test('basic-auth: git credential store, .gitconfig and .netrc for the allowed host only', async (t) => {
  const password = token('pw');
  const run = await runStepProgram({
    secretFiles: { username: 'ci-bot', password: `${password}\n` },
    env: { SECRET_TYPE: 'kubernetes.io/basic-auth' },
    args: ['--mode', 'inject', '--allowed-hosts', 'git.example.com', '--basic-auth-formats', 'git-credentials', 'netrc'],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(await readFile(join(run.creds, 'basic-auth/.git-credentials'), 'utf8'), `https://ci-bot:${password}@git.example.com\n`);
  t.equal(await readFile(join(run.creds, 'basic-auth/.netrc'), 'utf8'), `machine git.example.com login ci-bot password ${password}\n`);
  await assertScopedModes(t, run);
  await assertFingerprints(t, run);
  assertNoLeaks(t, run, [password]);
});

t.test('ssh-auth: key, scoped known_hosts and a strict ssh config', async (t) => {
  const ssh = makeSshFixture();
  const run = await runStepProgram({
    secretFiles: { 'ssh-privatekey': ssh.privateKey },
    env: {
      SECRET_TYPE: 'kubernetes.io/ssh-auth',
      SECRET_NAME: 'git-deploy-key',
      SSH_KNOWN_HOSTS: `github.com ${ssh.hostPublicKey}\nother.example.org ${ssh.otherHostPublicKey}\n`,
    },
    args: ['--mode', 'inject', '--allowed-hosts', 'github.com'],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(await readFile(join(run.creds, 'ssh/id_credentials'), 'utf8'), ssh.privateKey);
  t.notMatch(await readFile(join(run.creds, 'ssh/known_hosts'), 'utf8'), /other\.example\.org/);
  const config = await readFile(join(run.creds, 'ssh/config'), 'utf8');
  t.match(config, /StrictHostKeyChecking yes/);
  t.notMatch(config, /StrictHostKeyChecking\s+no/i);
  await assertScopedModes(t, run);
  await assertFingerprints(t, run);
  assertNoLeaks(t, run, [ssh.privateKey]);
});

t.test('Opaque: declared keys to named files', async (t) => {
  const apiToken = token('api');
  const unused = token('unused');
  const run = await runStepProgram({
    secretFiles: { token: apiToken, unrelated: unused },
    env: { SECRET_TYPE: 'Opaque' },
    args: ['--mode', 'inject', '--opaque-files', 'token=deploy/api-token'],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(await readFile(join(run.creds, 'files/deploy/api-token'), 'utf8'), apiToken);
  t.same(findLeaks(await filesUnder(run.creds), [unused]), [], 'undeclared keys are not written');
  await assertScopedModes(t, run);
  await assertFingerprints(t, run);
  assertNoLeaks(t, run, [apiToken, unused]);
});

t.test('kubernetes-api: one GET of the named Secret; a name outside resourceNames is 403 and nothing leaks', async (t) => {
  const saToken = token('sa');
  const password = token('pw');
  const stub = await startKubeApiStub({
    token: saToken,
    namespace: 'builds',
    allowedNames: ['git-basic'],
    secrets: {
      'git-basic': { type: 'kubernetes.io/basic-auth', data: { username: 'bot', password } },
      'prod-db': { type: 'Opaque', data: { password: token('db') } },
    },
  });
  t.teardown(() => stub.close());
  const saDir = await mkdtemp(join(work, 'sa-'));
  await chmod(saDir, 0o755);
  await writeServiceAccountDir(saDir, { token: saToken, caPem: stub.caPem, namespace: 'builds' });
  const env = { ...stub.env, SECRET_SOURCE: 'kubernetes-api', SERVICE_ACCOUNT_DIR: saDir, SECRET_DIR: '' };
  const run = await runStepProgram({
    env: { ...env, SECRET_NAME: 'git-basic', SECRET_TYPE: 'kubernetes.io/basic-auth' },
    args: ['--mode', 'inject', '--allowed-hosts', 'github.com', '--basic-auth-formats', 'git-credentials'],
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(await readFile(join(run.creds, 'basic-auth/.git-credentials'), 'utf8'), `https://bot:${password}@github.com\n`);
  assertNoLeaks(t, run, [password, saToken]);

  const denied = await runStepProgram({
    env: { ...env, SECRET_NAME: 'prod-db', SECRET_TYPE: 'Opaque' },
    args: ['--mode', 'inject', '--opaque-files', 'password'],
  });
  t.equal(denied.code, 2);
  t.match(denied.stderr, /\[CONFIG_KUBE_API_FORBIDDEN\].*prod-db/);
  t.same(await readdir(denied.creds), [], 'nothing written');
  assertNoLeaks(t, denied, [password, saToken]);
  t.same(
    stub.requests.map((request) => `${request.method} ${request.path} ${request.status}`),
    ['GET /api/v1/namespaces/builds/secrets/git-basic 200', 'GET /api/v1/namespaces/builds/secrets/prod-db 403'],
    'exactly one GET per run, never a list',
  );
});

t.test('failure paths leak nothing and leave no credential behind', async (t) => {
  t.test('malformed dockerconfigjson', async (t) => {
    const secret = token('inside-broken-json');
    const run = await runStepProgram({
      secretFiles: { '.dockerconfigjson': `{"auths":{"ghcr.io":{"auth":"${secret}"` },
      env: { SECRET_NAME: 'broken', SECRET_TYPE: DOCKER },
      args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io'],
    });
    t.equal(run.code, 2);
    t.match(run.stderr, /\[CONFIG_SECRET_MALFORMED\]: secret broken key "\.dockerconfigjson" is not valid JSON/);
    t.notMatch(run.stderr, /at .*\.mjs:\d+/, 'no stack trace');
    t.same(await readdir(run.creds), []);
    assertNoLeaks(t, run, [secret]);
  });

  t.test('missing key', async (t) => {
    const password = token('pw');
    const run = await runStepProgram({
      secretFiles: { user: 'bot', password },
      env: { SECRET_NAME: 'half', SECRET_TYPE: 'kubernetes.io/basic-auth' },
      args: ['--mode', 'inject', '--allowed-hosts', 'github.com'],
    });
    t.equal(run.code, 2);
    t.match(run.stderr, /\[CONFIG_SECRET_KEY_MISSING\]: secret half has no key "username"/);
    assertNoLeaks(t, run, [password]);
  });

  t.test('unwritable workspace', async (t) => {
    if (!requireRoot(t, 'the step must run as another user than the workspace owner')) return;
    const password = token('pw');
    const run = await runStepProgram({
      secretFiles: { username: 'bot', password },
      env: { SECRET_TYPE: 'kubernetes.io/basic-auth' },
      args: ['--mode', 'inject', '--allowed-hosts', 'github.com'],
      prepareCreds: async (creds) => chmod(creds, 0o755), // owned by root: the step user cannot write
    });
    t.equal(run.code, 3);
    t.match(run.stderr, /\[CREDENTIALS_WRITE_FAILED\].*EACCES \(permission denied\)/);
    t.match(run.metrics, /outcome="failure"/);
    assertNoLeaks(t, run, [password]);
  });

  t.test('disk full (a 12 KiB tmpfs: room for the manifest, the marker and one small file), then cleanup of the half-written workspace', async (t) => {
    if (!requireRoot(t, 'mounting a tmpfs')) return;
    const big = Buffer.from(`${token('big')}${'x'.repeat(32 * 1024)}${token('tail')}`);
    const small = token('small');
    let mounted: string | undefined;
    t.teardown(async () => {
      if (mounted) await execa('umount', [mounted], { reject: false });
    });
    const run = await runStepProgram({
      secretFiles: { small, big },
      env: { SECRET_TYPE: 'Opaque' },
      args: ['--mode', 'inject', '--opaque-files', 'small=a', 'big=b'],
      prepareCreds: async (creds) => {
        await execa('mount', ['-t', 'tmpfs', '-o', 'size=12k,mode=0755', 'tmpfs', creds]);
        mounted = creds;
        await chown(creds, STEP_UID, STEP_UID);
      },
    });
    t.equal(run.code, 3, run.stderr);
    t.match(run.stderr, /\[CREDENTIALS_WRITE_FAILED\]: cannot write files\/b .*ENOSPC \(no space left on device\)/);
    assertNoLeaks(t, run, [big.toString(), small]);
    t.ok((await tree(run.creds)).some((entry) => entry.path === 'files/a'), 'the injection stopped half-way');

    const cleanup = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
    t.equal(cleanup.code, 0, cleanup.stderr);
    t.same(await readdir(run.creds), [], 'cleanup empties the half-written workspace');
    t.match(cleanup.stdout, /1 file\(s\) the marker lists were not there/);
    assertNoLeaks(t, cleanup, [big.toString(), small]);
  });

  t.test('a workspace that is not empty is a violation without a digest', async (t) => {
    const password = token('pw');
    const run = await runStepProgram({
      secretFiles: { username: 'bot', password },
      env: { SECRET_TYPE: 'kubernetes.io/basic-auth' },
      args: ['--mode', 'inject', '--allowed-hosts', 'github.com'],
      prepareCreds: async (creds) => {
        await writeFile(join(creds, 'exfil.sh'), '#!/bin/sh\n');
        await ownByStep(creds);
      },
    });
    t.equal(run.code, 1);
    t.match(run.stderr, /violation \[CREDENTIALS_WORKSPACE_NOT_EMPTY\]: the credentials workspace is not empty \("exfil\.sh"\) and previous-injection-digest is empty/);
    t.match(run.metrics, /tekton_workspace_access_violations_total\{task="inject-credentials",workspace="credentials"\} 1/);
    t.same(await readdir(run.creds), ['exfil.sh'], 'nothing was added');
    assertNoLeaks(t, run, [password]);
  });

  t.test('bad params name the rule', async (t) => {
    const run = await runStepProgram({
      secretFiles: { '.dockerconfigjson': '{}' },
      env: { SECRET_TYPE: DOCKER },
      args: ['--mode', 'inject', '--allowed-hosts', 'https://ghcr.io'],
    });
    t.equal(run.code, 2);
    t.match(run.stderr, /allowed host "https:\/\/ghcr\.io" is not a lower-case host name/);
    const unknown = await runStepProgram({ args: ['--mode', 'explode'] });
    t.equal(unknown.code, 2);
    t.match(unknown.stderr, /--mode must be "inject" or "cleanup"/);
  });
});

t.test('expired credentials: cleanup still empties the workspace, then reports a violation', async (t) => {
  const apiToken = token('api');
  const run = await runStepProgram({
    secretFiles: { token: apiToken },
    env: { SECRET_TYPE: 'Opaque', CREDENTIALS_EXPIRES: '1s' },
    args: ['--mode', 'inject', '--opaque-files', 'token'],
  });
  t.equal(run.code, 0, run.stderr);
  await sleep(1500);
  const cleanup = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
  t.equal(cleanup.code, 1);
  t.match(cleanup.stderr, /violation \[CREDENTIALS_CLEANUP\]: the credentials expired at/);
  t.same(await readdir(run.creds), []);
  t.match(cleanup.metrics, /tekton_workspace_access_violations_total/);
  assertNoLeaks(t, cleanup, [apiToken]);
});

t.test('re-injection: the second injection presents the first one\'s digest; a stale or missing digest is refused', async (t) => {
  const ghcr = token('ghp');
  const password = token('pw');
  const apiToken = token('api');
  const secrets = [ghcr, password, apiToken];
  const first = await runStepProgram({
    secretFiles: { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { auth: b64(`bot:${ghcr}`) } } }) },
    env: { SECRET_TYPE: DOCKER },
    args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io'],
  });
  t.equal(first.code, 0, first.stderr);
  const firstDigest = first.results['injection-digest']!;

  const secretDir = async (files: Record<string, string>) => {
    await rm(first.secretDir, { recursive: true, force: true });
    await mkdir(first.secretDir, { mode: 0o755 });
    for (const [key, value] of Object.entries(files)) await writeFile(join(first.secretDir, key), value, { mode: 0o444 });
  };
  await secretDir({ username: 'bot', password });
  const withoutDigest = await runStepProgram({ reuse: first, env: { SECRET_TYPE: 'kubernetes.io/basic-auth' }, args: ['--mode', 'inject', '--allowed-hosts', 'github.com'] });
  t.equal(withoutDigest.code, 1);
  t.match(withoutDigest.stderr, /\[CREDENTIALS_WORKSPACE_NOT_EMPTY\]/);
  t.match(withoutDigest.stderr, /hint: if an earlier inject-credentials task in this Pipeline filled it, pass its result: previous-injection-digest: \$\(tasks\.<that task>\.results\.injection-digest\)/);

  const second = await runStepProgram({
    reuse: first,
    env: { SECRET_TYPE: 'kubernetes.io/basic-auth', PREVIOUS_INJECTION_DIGEST: firstDigest },
    args: ['--mode', 'inject', '--allowed-hosts', 'github.com', '--basic-auth-formats', 'git-credentials'],
  });
  t.equal(second.code, 0, second.stderr);
  t.equal(await readFile(join(first.creds, 'basic-auth/.git-credentials'), 'utf8'), `https://bot:${password}@github.com\n`);
  t.ok(JSON.parse(await readFile(join(first.creds, 'docker/config.json'), 'utf8')).auths['ghcr.io'], 'the first injection\'s files are still there');
  await assertScopedModes(t, second);
  const secondDigest = second.results['injection-digest']!;
  t.not(secondDigest, firstDigest);

  await secretDir({ token: apiToken });
  const stale = await runStepProgram({
    reuse: first,
    env: { SECRET_TYPE: 'Opaque', PREVIOUS_INJECTION_DIGEST: firstDigest },
    args: ['--mode', 'inject', '--opaque-files', 'token=api'],
  });
  t.equal(stale.code, 1);
  t.match(stale.stderr, /violation \[CREDENTIALS_WORKSPACE_TAMPERED\]: the credentials workspace is not what the injection with previous-injection-digest sha256:/);
  t.match(stale.stderr, /hint: previous-injection-digest must be the injection-digest result of the most recent inject-credentials task/);
  const third = await runStepProgram({
    reuse: first,
    env: { SECRET_TYPE: 'Opaque', PREVIOUS_INJECTION_DIGEST: secondDigest },
    args: ['--mode', 'inject', '--opaque-files', 'token=api'],
  });
  t.equal(third.code, 0, third.stderr);

  const malformed = await runStepProgram({ reuse: first, env: { SECRET_TYPE: 'Opaque', PREVIOUS_INJECTION_DIGEST: 'sha256:nope' }, args: ['--mode', 'inject', '--opaque-files', 'token=api2'] });
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, /error \[CONFIG_CREDENTIALS_INPUT\]: previous-injection-digest "sha256:nope" is not sha256:<64 lower-case hex digits>/);

  const cleanup = await runStepProgram({ reuse: first, args: ['--mode', 'cleanup'] });
  t.equal(cleanup.code, 0, cleanup.stderr);
  t.same(await readdir(first.creds), []);
  for (const run of [first, withoutDigest, second, stale, third, malformed, cleanup]) assertNoLeaks(t, run, secrets);
});

t.test('cleanup as the step user: what another user planted is reported, and our credentials are gone first', async (t) => {
  if (!requireRoot(t, 'planting a root-owned folder')) return;
  const apiToken = token('api');
  const run = await runStepProgram({ secretFiles: { token: apiToken }, env: { SECRET_TYPE: 'Opaque' }, args: ['--mode', 'inject', '--opaque-files', 'token'] });
  t.equal(run.code, 0, run.stderr);
  await mkdir(join(run.creds, 'aaa-root-owned'), { mode: 0o755 });
  await writeFile(join(run.creds, 'aaa-root-owned', 'kept'), 'x');
  const cleanup = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
  t.equal(cleanup.code, 3);
  t.match(cleanup.stderr, /error \[CREDENTIALS_CLEANUP_INCOMPLETE\]: the credentials workspace is not empty after cleanup: "aaa-root-owned\/kept" cannot be removed: EACCES/);
  t.same(await readdir(run.creds), ['aaa-root-owned'], 'everything but the root-owned folder is gone, our credentials first');
  assertNoLeaks(t, cleanup, [apiToken]);
});

t.test('generated planted workspaces, against the step program as the step user', async (t) => {
  if (!requireRoot(t, 'planting entries as the step user, devices and hard links')) return;
  const ghcr = token('ghp');
  const apiToken = token('api');
  const secrets = [ghcr, apiToken];
  const genuineSecret = { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { auth: b64(`bot:${ghcr}`) } } }) };
  const genuine = await runStepProgram({ secretFiles: genuineSecret, env: { SECRET_TYPE: DOCKER }, args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io'] });
  t.equal(genuine.code, 0, genuine.stderr);
  const digest = genuine.results['injection-digest']!;
  // Every case runs in process (test/credentials/planted.test.ts); here every class, each kind of entry in one place.
  const cases = rotatedCases(0);
  const counts = { fresh: 0, genuine: 0 };

  const plantInto = (plantedCase: PlantedCase, copyGenuine: boolean) => async (creds: string) => {
    await ownByStep(creds);
    if (copyGenuine) await execa('cp', ['-a', `${genuine.creds}/.`, creds]);
    const outside = join(dirname(creds), 'outside');
    await prepareOutside(outside, STEP_UID);
    await plantedCase.plant({ creds, outside, outsideSeen: outside, uid: STEP_UID, gid: STEP_UID, foreignUid: 65534 });
  };
  const cleanupAndCheck = async (t: Test, run: Run, markerAfter: MarkerAfter) => {
    const outside = join(run.root, 'outside');
    const before = await snapshotOutside(outside);
    const cleanup = await runStepProgram({ reuse: run, args: ['--mode', 'cleanup'] });
    t.equal(cleanup.code, markerAfter === 'invalid' || markerAfter === 'expired' ? 1 : 0, `cleanup exit code (marker ${markerAfter}): ${cleanup.stderr}`);
    t.same(await listTree(run.creds), [], 'cleanup leaves the workspace empty');
    t.same(await snapshotOutside(outside), before, 'nothing outside the workspace changed');
    assertNoLeaks(t, cleanup, secrets);
  };

  for (const plantedCase of cases) {
    t.test(plantedCase.name, async (t) => {
      if (!plantedCase.needsGenuine) {
        counts.fresh++;
        const fresh = await runStepProgram({
          secretFiles: genuineSecret,
          env: { SECRET_TYPE: DOCKER },
          args: ['--mode', 'inject', '--allowed-hosts', 'ghcr.io'],
          prepareCreds: plantInto(plantedCase, false),
        });
        t.equal(fresh.code, 1, 'an injection without a digest is a violation');
        t.match(fresh.stderr, /violation \[CREDENTIALS_WORKSPACE_NOT_EMPTY\]: .* and previous-injection-digest is empty/);
        t.notOk((await listTree(fresh.creds)).includes('docker/config.json'), 'no credential was written');
        assertNoLeaks(t, fresh, secrets);
        // Cleanup of the same planted entries runs below, on top of the genuine injection; a forged marker alone reads differently.
        if (plantedCase.markerAfterFresh !== 'none') await cleanupAndCheck(t, fresh, plantedCase.markerAfterFresh);
      }
      counts.genuine++;
      const again = await runStepProgram({
        secretFiles: { token: apiToken },
        env: { SECRET_TYPE: 'Opaque', PREVIOUS_INJECTION_DIGEST: digest },
        args: ['--mode', 'inject', '--opaque-files', 'token=api'],
        prepareCreds: plantInto(plantedCase, true),
      });
      t.equal(again.code, 1, 'a re-injection with the genuine digest is a violation');
      t.match(again.stderr, /violation \[CREDENTIALS_WORKSPACE_TAMPERED\]: the credentials workspace is not what the injection with previous-injection-digest sha256:[0-9a-f]{64} left/);
      t.notOk((await listTree(again.creds)).includes('files/api'), 'the new credential was not written');
      assertNoLeaks(t, again, secrets);
      await cleanupAndCheck(t, again, plantedCase.markerAfter);
    });
  }
  t.teardown(() => t.comment(`${counts.fresh} fresh and ${counts.genuine} re-injection cases against the step program`));
});
