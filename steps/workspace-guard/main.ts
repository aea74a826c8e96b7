import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CatalogError, quoteUntrusted } from '../../src/errors.ts';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import { writeResult } from '../../src/step/results.ts';
import { argsHint, inputLabel } from '../../src/step/task-inputs.ts';
import { ExitCode, runStep } from '../../src/step/run.ts';
import { writeStdoutSync } from '../../src/step/output.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { Telemetry } from '../../src/telemetry/telemetry.ts';
import { violation, ViolationTypes } from '../../src/telemetry/violations.ts';
import type { GuardMode, GuardReport } from '../../src/workspace/guard.ts';

const HELP = `workspace-guard: seal, verify, police and scrub a Tekton workspace

usage: workspace-guard --mode MODE --target DIR [options] [-- ALLOW_GLOB...]

modes
  seal     police the workspace, write a manifest of every entry (with its
           extended attributes), mark it with the run uid; result
           manifest-digest is the manifest's sha256
  verify   police, then compare the workspace with the sealed manifest; any
           added, removed or changed entry outside the allow globs fails
  police   fail on links leaving the workspace, setuid/setgid, file
           capabilities, ACLs, devices, FIFOs, sockets, world-writable
           entries, unexpected owners, control characters in names, another
           run's marker, anything but the marker and manifest in
           .tekton-workspace-guard/, and credential files
  scrub    overwrite and remove credential files, then report them

options (each also read from the environment variable in brackets)
  --mode MODE               [MODE]
  --target DIR              the workspace to guard [TARGET]
  --run-uid UID             $(context.pipelineRun.uid) [RUN_UID]; required except for scrub
  --manifest FILE           manifest file [MANIFEST]
  --manifest-dir DIR        folder for workspace-guard-manifest.ndjson [MANIFEST_DIR]
                            default: DIR/.tekton-workspace-guard/manifest.ndjson
  --expected-digest DIGEST  verify: sha256:… from seal [EXPECTED_DIGEST]
  --allow GLOB              verify: changes allowed under GLOB (repeatable; also
                            positional after --) [ALLOW_GLOBS, one per line]
  --allowed-uids LIST       comma-separated owners allowed [ALLOWED_UIDS]
  --compare-mtimes          seal: record, verify: compare the mtimes of files
                            and symlinks [COMPARE_MTIMES=true|false]
  --report-dir DIR          write the full JSON report there [REPORT_DIR]
  --task-label NAME         metrics label task [TASK_LABEL]
  --workspace-label NAME    metrics label workspace [WORKSPACE_LABEL]
  telemetry: PUSHGATEWAY_URL, CLOUDEVENTS_SINK, TELEMETRY_FAIL_CLOSED (environment)
  --help

globs: * and ? within a path component, ** for any number of components;
"dist/**" allows dist and everything below it.
results: manifest-digest, violations, summary (short JSON)
exit codes: 0 clean, 1 violations found, 2 usage error, 3 failure`;

const NAME = 'workspace-guard';
const telemetry = new Telemetry(NAME);
const MODES = new Set<GuardMode>(['seal', 'verify', 'police', 'scrub']);
const nonEmpty = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== '');

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        mode: { type: 'string' },
        target: { type: 'string' },
        'run-uid': { type: 'string' },
        manifest: { type: 'string' },
        'manifest-dir': { type: 'string' },
        'expected-digest': { type: 'string' },
        allow: { type: 'string', multiple: true },
        'allowed-uids': { type: 'string' },
        'compare-mtimes': { type: 'boolean' },
        'report-dir': { type: 'string' },
        'task-label': { type: 'string' },
        'workspace-label': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new CatalogError('USAGE_ARGS', error instanceof Error ? error.message : String(error), { hint: argsHint(NAME) });
  }
  const args = parsed.values;
  if (args.help) {
    writeStdoutSync(`${HELP}\n`);
    return ExitCode.ok;
  }
  // zod loads only here: --help and a usage error do without it.
  const env = (await import('./env.ts')).readStepEnv();
  telemetry.configure();
  const mode = nonEmpty(args.mode, env.MODE);
  if (!mode || !MODES.has(mode as GuardMode)) {
    throw new CatalogError('USAGE_MODE', `${inputLabel('MODE')} must be seal, verify, police or scrub${mode ? `, not ${quoteUntrusted(mode)}` : ''}`, {
      hint: 'seal after the task that fills the workspace, verify before the next one reads it, police to check a workspace, scrub to clean one',
    });
  }
  const target = nonEmpty(args.target, env.TARGET);
  if (!target) throw new CatalogError('USAGE_TARGET', `no ${inputLabel('TARGET')} given`, { hint: 'bind the target workspace to the workspace to guard' });
  const manifestDir = nonEmpty(args['manifest-dir'], env.MANIFEST_DIR);
  const manifest = nonEmpty(args.manifest, env.MANIFEST) ?? (manifestDir ? join(manifestDir, 'workspace-guard-manifest.ndjson') : undefined);
  const reportDir = nonEmpty(args['report-dir'], env.REPORT_DIR);
  const reportPath = reportDir ? join(reportDir, `workspace-guard-${mode}-report.json`) : undefined;
  const allowGlobs = [...(args.allow ?? []), ...parsed.positionals, ...(env.ALLOW_GLOBS ?? '').split('\n')].map((g) => g.trim()).filter((g) => g !== '');
  const allowedUids = parseUids(nonEmpty(args['allowed-uids'], env.ALLOWED_UIDS));
  const runUid = nonEmpty(args['run-uid'], env.RUN_UID);
  const expectedDigest = nonEmpty(args['expected-digest'], env.EXPECTED_DIGEST);
  const mtimes = args['compare-mtimes'] === true || env.COMPARE_MTIMES === 'true';

  // Loaded only now: --help and usage errors need none of it (the bundle puts it in a chunk of its own).
  const { WorkspaceGuard } = await import('../../src/workspace/guard.ts');
  const guard = new WorkspaceGuard({
    root: target,
    ...(runUid ? { runUid } : {}),
    ...(manifest ? { manifestPath: manifest } : {}),
    ...(expectedDigest ? { expectedDigest } : {}),
    allowGlobs,
    ...(allowedUids ? { allowedUids } : {}),
    ...(reportDir ? { outputDirs: [reportDir] } : {}),
    mtimes,
  });
  const report = await guard.run(mode as GuardMode);

  if (reportPath) await writeFileAtomic(reportPath, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
  await writeResult('manifest-digest', report.manifestDigest ?? '');
  await writeResult('violations', String(report.violations));
  await writeResult('summary', summarize(report));
  printReport(report);

  if (report.violations > 0) {
    const labels = { task: nonEmpty(args['task-label'], env.TASK_LABEL) ?? 'workspace-guard', workspace: nonEmpty(args['workspace-label'], env.WORKSPACE_LABEL) ?? 'target' };
    telemetry.count(Metrics.workspaceAccessViolations, labels, report.violations);
    for (const f of report.findings) {
      telemetry.record(violation(ViolationTypes.workspaceAccessViolated, 'workspace', { ...labels, mode, rule: f.rule, path: f.path, ...(f.kind ? { kind: f.kind } : {}), ...(f.detail ? { detail: f.detail } : {}) }));
    }
  }
  return report.violations > 0 ? ExitCode.rejected : ExitCode.ok;
}

function parseUids(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,10}(,\d{1,10})*$/.test(text)) {
    throw new CatalogError('USAGE_ALLOWED_UIDS', `${inputLabel('ALLOWED_UIDS')} ${quoteUntrusted(text)} must be a comma-separated list of numbers`, {
      hint: 'e.g. allowed-uids: "65532,1000"',
    });
  }
  return text.split(',').map(Number);
}

/** The summary result: small JSON, well under the 1 KB result budget. */
export function summarize(report: GuardReport): string {
  const rules = Object.entries(report.byRule).sort(([, a], [, b]) => (b ?? 0) - (a ?? 0));
  const summary = {
    mode: report.mode,
    entries: report.counts.entries,
    files: report.counts.files,
    bytes: report.counts.bytes,
    violations: report.violations,
    byRule: Object.fromEntries(rules.slice(0, 12)),
    ...(report.scrubbed ? { scrubbed: report.scrubbed.length } : {}),
  };
  return JSON.stringify(summary);
}

function printReport(report: GuardReport): void {
  const shown = report.findings.slice(0, 20);
  for (const f of shown) {
    const where = f.line ? `${quoteUntrusted(f.path, 120)}:${f.line}` : quoteUntrusted(f.path, 120);
    const kind = f.kind ? ` ${f.kind}` : '';
    const detail = f.detail ? ` (${f.detail})` : '';
    process.stderr.write(`workspace-guard: ${f.rule}${kind}: ${where}${detail}\n`);
  }
  if (report.violations > shown.length) process.stderr.write(`workspace-guard: … ${report.violations - shown.length} more in the report\n`);
  for (const s of report.scrubbed ?? []) process.stderr.write(`workspace-guard: scrubbed ${s.kinds.join(',')}: ${quoteUntrusted(s.path, 120)}\n`);
  const verdict = report.violations === 0 ? 'clean' : `${report.violations} violation(s)`;
  process.stderr.write(
    `workspace-guard: ${report.mode}: ${verdict}; ${report.counts.entries} entries, ${report.counts.files} files, ${report.counts.bytes} bytes` +
      `${report.manifestDigest ? `; manifest ${report.manifestDigest}` : ''}\n`,
  );
}

// The hashing worker threads load the inspector's own module (its chunk in the bundle), never this one:
// src/build/step-bundle-rules.ts keeps the inspector out of the files loaded at start-up.
await runStep(NAME, main, { telemetry });
