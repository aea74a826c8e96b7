// The real workspace-guard image, unpacked and run under chroot as uid
// 65532 with the env and args of the generated Task YAML: seal, then verify
// clean, then verify after a tamper; then the generated attack trees of
// test/workspace/attacks.ts (planted reserved-folder content, capabilities
// and ACLs, attribute and mtime changes), each refused with its finding in
// the step's JSON report. There is no /proc in the chroot, so this also
// covers the walker's path-based fallback and getfattr reading full paths.
import t, { type Test } from 'tap';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { builtCatalog } from '../harness/catalog-build.ts';
import { loadCatalogTask, renderStep, type CatalogTask } from '../harness/catalog-task.ts';
import { requireRoot } from '../harness/shared.ts';
import { runEntrypoint, unpackImage, type ImageConfig } from '../harness/step-image.ts';
import { mtimeChanges, plantedEntries, populate, replacedEntries, sealedXattrs, xattrAttacks, xattrChanges, type Attack } from '../workspace/attacks.ts';
import { requireXattrs } from '../workspace/fixtures.ts';

const RUN_UID = '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const NONROOT = 65532;

interface Image {
  rootfs: string;
  config: ImageConfig;
  task: CatalogTask;
}

interface Finding {
  rule: string;
  path: string;
  detail?: string;
}

let image: Image | undefined;
let cases = 0;

/** Unpacked once for the whole file, removed when the file's tests end. */
async function theImage(): Promise<Image> {
  if (image) return image;
  const built = await builtCatalog();
  const task = await loadCatalogTask(built, 'workspace-guard');
  const unpacked = await unpackImage(built.layoutDir, 'step-workspace-guard', 'amd64');
  t.teardown(unpacked.cleanup);
  image = { rootfs: unpacked.rootfs, config: unpacked.config, task };
  return image;
}

/** A fresh case folder in the image: source (the target), state (manifest workspace), report and results. */
async function freshCase(image: Image) {
  const name = `case-${++cases}`;
  const inside = `/workspace/${name}`;
  const host = join(image.rootfs, 'workspace', name);
  for (const dir of ['source', 'state', 'report', 'results']) await mkdir(join(host, dir), { recursive: true });
  const own = async () => void (await execa('chown', ['-hR', `${NONROOT}:${NONROOT}`, host]));
  await own();
  const run = async (mode: string, options: { params?: Record<string, string>; manifest?: boolean } = {}) => {
    const { args, env } = renderStep(image.task.spec.steps[0]!, {
      params: { ...image.task.defaults, 'run-uid': RUN_UID, mode, ...options.params },
      workspaces: { target: `${inside}/source`, manifest: options.manifest === false ? '' : `${inside}/state`, report: `${inside}/report` },
      context: { 'task.name': 'workspace-guard' },
    });
    const result = await runEntrypoint(image.rootfs, image.config, { args, env: { ...env, TEKTON_RESULTS_DIR: `${inside}/results` }, timeoutMs: 60_000 });
    const report = JSON.parse(await readFile(join(host, 'report', `workspace-guard-${mode}-report.json`), 'utf8').catch(() => '{}')) as {
      findings?: Finding[];
    };
    const digest = await readFile(join(host, 'results', 'manifest-digest'), 'utf8').catch(() => '');
    await rm(join(host, 'report', `workspace-guard-${mode}-report.json`), { force: true });
    return { ...result, findings: report.findings ?? [], digest };
  };
  return { source: join(host, 'source'), outside: join(host, 'state'), own, run, cleanup: () => rm(host, { recursive: true, force: true }) };
}

function rulesAt(findings: Finding[], path: string): string[] {
  return findings.filter((f) => f.path === path).map((f) => f.rule);
}

function expectFinding(t: Test, outcome: { code: number; findings: Finding[]; stderr: string }, attack: Attack, label: string): void {
  t.equal(outcome.code, 1, `${label}: exit 1`);
  const rules = rulesAt(outcome.findings, attack.path);
  if (rules.includes(attack.rule)) t.pass(`${label}: ${attack.rule}`);
  else t.fail(`${label}: expected ${attack.rule} at ${JSON.stringify(attack.path)}, got ${JSON.stringify(rules)}`, { stderr: outcome.stderr });
}

// The owner check is off in the attack runs: planted entries belong to root
// here, and chown would clear the setuid bits and capabilities planted.
const NO_OWNER_CHECK = { 'allowed-uids': '' };

t.test('workspace-guard seals and verifies from its real image', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  const c = await freshCase(img);
  await mkdir(join(c.source, 'src'));
  await writeFile(join(c.source, 'src', 'main.ts'), 'export const trusted = true;\n');
  await c.own();

  const seal = await c.run('seal');
  t.equal(seal.code, 0, seal.stderr);
  t.match(seal.digest, /^sha256:[0-9a-f]{64}$/);

  const clean = await c.run('verify', { params: { 'expected-digest': seal.digest } });
  t.equal(clean.code, 0, clean.stderr);

  await writeFile(join(c.source, 'src', 'main.ts'), 'export const trusted = false;\n');
  const tampered = await c.run('verify', { params: { 'expected-digest': seal.digest } });
  t.equal(tampered.code, 1);
  t.match(tampered.stderr, /modified: "src\/main\.ts"/);
  t.match(tampered.stderr, /metrics: tekton_workspace_access_violations_total\{task="workspace-guard",workspace="target"\} 1/);
  await c.cleanup();
});

t.test('the image refuses content planted in the reserved folder, in every mode', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  const shared = plantedEntries().filter((a) => a.manifestBound === undefined);
  for (const mode of ['police', 'seal', 'scrub', 'verify']) {
    const c = await freshCase(img);
    populate(c.source);
    await c.own();
    let digest = '';
    if (mode === 'verify') {
      const seal = await c.run('seal');
      t.equal(seal.code, 0, seal.stderr);
      digest = seal.digest;
    }
    for (const attack of shared) await attack.plant(c.source, c.outside);
    const outcome = await c.run(mode, { params: { ...NO_OWNER_CHECK, ...(digest ? { 'expected-digest': digest } : {}) } });
    for (const attack of shared) expectFinding(t, outcome, attack, `${mode}: ${attack.id}`);
    if (mode === 'seal') t.equal(outcome.digest, '', 'seal: no manifest digest');
    await c.cleanup();
  }
  for (const attack of plantedEntries().filter((a) => a.manifestBound === true)) {
    const c = await freshCase(img);
    populate(c.source);
    await c.own();
    await attack.plant(c.source, c.outside);
    expectFinding(t, await c.run('police', { params: NO_OWNER_CHECK }), attack, `police: ${attack.id}`);
    await c.cleanup();
  }
});

t.test('the image refuses a replaced marker, manifest or reserved folder', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  for (const attack of replacedEntries()) {
    const c = await freshCase(img);
    populate(c.source);
    await c.own();
    await attack.plant(c.source, c.outside);
    expectFinding(t, await c.run('police', { params: NO_OWNER_CHECK, manifest: attack.manifestBound !== false }), attack, `police: ${attack.id}`);
    await c.cleanup();
  }
});

t.test('the image refuses capabilities and ACLs, and sees attribute changes', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  const probe = await freshCase(img);
  const supported = await requireXattrs(t, probe.source);
  await probe.cleanup();
  if (!supported) return;
  for (const attack of xattrAttacks()) {
    const c = await freshCase(img);
    populate(c.source);
    await c.own();
    await attack.plant(c.source, c.outside);
    expectFinding(t, await c.run('police', { params: NO_OWNER_CHECK }), attack, `police: ${attack.id}`);
    await c.cleanup();
  }
  for (const attack of xattrChanges()) {
    const c = await freshCase(img);
    populate(c.source);
    await sealedXattrs(c.source);
    await c.own();
    const seal = await c.run('seal', { params: NO_OWNER_CHECK });
    t.equal(seal.code, 0, seal.stderr);
    await attack.plant(c.source, c.outside);
    const verify = await c.run('verify', { params: { ...NO_OWNER_CHECK, 'expected-digest': seal.digest } });
    if (attack.id.startsWith('trusted')) {
      // trusted.* is visible only with CAP_SYS_ADMIN, which the step never has (see the Task README).
      t.equal(verify.code, 0, `${attack.id}: invisible to uid ${NONROOT}, as documented`);
    } else {
      expectFinding(t, verify, attack, `verify: ${attack.id}`);
    }
    await c.cleanup();
  }
});

t.test('the image in strict mode refuses mtime-only changes', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  const strict = { ...NO_OWNER_CHECK, 'compare-mtimes': 'true' };
  for (const attack of mtimeChanges()) {
    const c = await freshCase(img);
    populate(c.source);
    await c.own();
    const seal = await c.run('seal', { params: strict });
    t.equal(seal.code, 0, seal.stderr);
    await attack.plant(c.source, c.outside);
    const verify = await c.run('verify', { params: { ...strict, 'expected-digest': seal.digest } });
    expectFinding(t, verify, attack, `strict verify: ${attack.id}`);
    t.same(verify.findings.map((f) => f.rule), ['mtime-changed'], `${attack.id}: nothing else`);
    await c.cleanup();
  }
});

t.test('a workspace of several getfattr batches seals and verifies, and a late capability is refused', async (t) => {
  if (!requireRoot(t, 'chroot into the unpacked image')) return;
  const img = await theImage();
  const c = await freshCase(img);
  for (let d = 0; d < 3; d++) {
    await mkdir(join(c.source, `d${d}`));
    for (let f = 0; f < 1000; f++) await writeFile(join(c.source, `d${d}`, `f${f}`), `${d}/${f}`);
  }
  await c.own();
  const seal = await c.run('seal');
  t.equal(seal.code, 0, seal.stderr);
  const verify = await c.run('verify', { params: { 'expected-digest': seal.digest } });
  t.equal(verify.code, 0, verify.stderr);
  await execa('setcap', ['cap_net_raw+ep', join(c.source, 'd2', 'f999')]);
  const police = await c.run('police');
  t.equal(police.code, 1);
  t.same(police.findings.map((f) => `${f.rule}:${f.path}`), ['file-capability:d2/f999'], 'found in the last batch, read through the launcher');
  await c.cleanup();
});

t.test('the arm64 image\'s getfattr runs with the image\'s own libraries', async (t) => {
  if (!requireRoot(t, 'umoci unpack keeps owners only as root')) return;
  const qemu = await execa('qemu-aarch64-static', ['--version'], { reject: false });
  if (qemu.exitCode !== 0) {
    const message = 'needs qemu-aarch64-static (Debian qemu-user-static) to run the arm64 binary';
    if (process.env.CI === 'true') t.fail(message);
    else t.skip(message, () => {});
    return;
  }
  const built = await builtCatalog();
  const arm = await unpackImage(built.layoutDir, 'step-workspace-guard', 'arm64');
  t.teardown(arm.cleanup);
  const probe = join(arm.rootfs, '..', 'probe');
  await writeFile(probe, 'x');
  const supported = await requireXattrs(t, join(arm.rootfs, '..'));
  if (!supported) return;
  await execa('setfattr', ['-n', 'user.arch', '-v', '0x61726d', probe]);
  // -L makes the emulated loader find libc and libattr in the arm64 root, not on the host.
  const result = await execa('qemu-aarch64-static', ['-L', arm.rootfs, join(arm.rootfs, 'usr/bin/getfattr'), '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', probe], { reject: false });
  t.equal(result.exitCode, 0, result.stderr);
  t.equal(result.stdout, `# file: ${probe}\nuser.arch=0x61726d\n`, 'the same output grammar as on amd64');
});
