import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Auditor, exitCodeFor, loadConfig, renderJson, renderSarif, renderText, AUDIT_TOOL, AuditError, AuditErrorCodes, TaskCatalog, type AuditReport } from '../../src/audit/index.ts';
import { quoteUntrusted } from '../../src/errors.ts';
import { writeFileAtomic } from '../../src/io/atomic-write.ts';
import { readEnv } from '../../src/step/env.ts';
import { writeResult } from '../../src/step/results.ts';
import { argsHint, inputLabel } from '../../src/step/task-inputs.ts';
import { runStep } from '../../src/step/run.ts';
import { CATALOG_DEFINITIONS } from './catalog-definitions.ts';

const HELP = `audit: audit the Tekton and RBAC YAML in a workspace (tekton-catalog audit, as a step)

usage: audit --source DIR [options] [-- PATH_OR_GLOB...]

options (each also read from the environment variable in brackets)
  --source DIR        the workspace holding the YAML [SOURCE]
  --mode MODE         audit (every rule) or lint (interfaces only) [MODE]
  --fail-on LEVEL     error, warning, note or none [FAIL_ON]
  --config FILE       config file, relative to the source [CONFIG]; default .tekton-audit.yaml if present
  --report-dir DIR    write audit-report.sarif and audit-report.json there [REPORT_DIR]
  --help

paths and globs are relative to the source (default "."); folders are searched for *.yaml and *.yml.
results: findings (open findings), summary (short JSON)
exit codes: 0 clean, 1 findings at --fail-on or above, 2 usage, config or parse error, 3 failure`;

const EnvSchema = z.object({
  SOURCE: z.string().optional(),
  MODE: z.enum(['audit', 'lint'], { message: 'must be audit or lint' }).optional().or(z.literal('')),
  FAIL_ON: z.enum(['error', 'warning', 'note', 'none'], { message: 'must be error, warning, note or none' }).optional().or(z.literal('')),
  CONFIG: z.string().optional(),
  REPORT_DIR: z.string().optional(),
});

const nonEmpty = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== '');

/** Paths come from a Task param: relative, inside the source, never climbing out of it. */
function checkedPath(path: string, param: string): string {
  if (path.startsWith('/') || path.split('/').includes('..') || path.includes('\0')) {
    throw new AuditError(AuditErrorCodes.usage, `${param} entry ${quoteUntrusted(path)} must be a path or glob inside the source workspace (relative, no "..")`);
  }
  return path;
}

/** The summary result: small JSON, well under the result budget. */
export function summarize(report: AuditReport): string {
  const byRule = new Map<string, number>();
  for (const f of report.findings) if (!f.suppression) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
  const top = [...byRule].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 12);
  const s = report.summary;
  return JSON.stringify({ mode: report.mode, files: s.files, documents: s.documents, errors: s.errors, warnings: s.warnings, notes: s.notes, suppressed: s.suppressed, inputFailed: s.inputFailed, byRule: Object.fromEntries(top) });
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        source: { type: 'string' },
        mode: { type: 'string' },
        'fail-on': { type: 'string' },
        config: { type: 'string' },
        'report-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new AuditError(AuditErrorCodes.usage, error instanceof Error ? error.message : String(error), { hint: argsHint('audit') });
  }
  const args = parsed.values;
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const env = readEnv(EnvSchema);
  const source = nonEmpty(args.source, env.SOURCE);
  if (!source) throw new AuditError(AuditErrorCodes.usage, `no ${inputLabel('SOURCE')} given (--source or SOURCE)`, { hint: 'bind the source workspace to the folder holding the YAML to audit' });
  const mode = nonEmpty(args.mode, env.MODE) ?? 'audit';
  if (mode !== 'audit' && mode !== 'lint') throw new AuditError(AuditErrorCodes.usage, `param mode must be audit or lint, not ${quoteUntrusted(mode)}`);
  const failOn = nonEmpty(args['fail-on'], env.FAIL_ON);
  if (failOn !== undefined && !['error', 'warning', 'note', 'none'].includes(failOn)) {
    throw new AuditError(AuditErrorCodes.usage, `param fail-on must be error, warning, note or none, not ${quoteUntrusted(failOn)}`);
  }
  const configPath = nonEmpty(args.config, env.CONFIG);
  const config = loadConfig(configPath === undefined ? undefined : checkedPath(configPath, 'config'), source);
  const paths = parsed.positionals.filter((p) => p !== '').map((p) => checkedPath(p, 'paths'));

  const auditor = new Auditor({ mode, config, catalog: TaskCatalog.fromDefinitions(CATALOG_DEFINITIONS) });
  const report = await auditor.auditPaths(paths.length > 0 ? paths : ['.'], { cwd: source });

  const reportDir = nonEmpty(args['report-dir'], env.REPORT_DIR);
  if (reportDir) {
    await writeFileAtomic(join(reportDir, 'audit-report.sarif'), renderSarif(report, AUDIT_TOOL, { baseDir: source }), { mode: 0o644 });
    await writeFileAtomic(join(reportDir, 'audit-report.json'), renderJson(report, AUDIT_TOOL), { mode: 0o644 });
  }
  const open = report.summary.errors + report.summary.warnings + report.summary.notes;
  await writeResult('findings', String(open));
  await writeResult('summary', summarize(report));
  process.stdout.write(renderText(report, { color: false }));
  return exitCodeFor(report, (failOn ?? config.failOn ?? 'error') as 'error' | 'warning' | 'note' | 'none');
}

await runStep('audit', main);
