import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { quoteUntrusted } from '../errors.ts';
import { AuditError, AuditErrorCodes } from '../audit/errors.ts';

type Out = { write(text: string | Uint8Array): unknown; isTTY?: boolean };
export interface AuditIo {
  stdout: Out;
  stderr: Out;
  /** Standard input, asked for only when a path is `-`. */
  stdin?: () => AsyncIterable<Buffer | string>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The repository's own catalog and Task definitions, beside this file. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_CATALOG = join(repoRoot, 'catalog');

const help = (mode: 'audit' | 'lint') => `Usage: tekton-catalog ${mode} [options] <path|glob|->...
       npm run catalog -- ${mode} [options] <path|glob|->...

${
  mode === 'audit'
    ? `Audits Tekton YAML (Task, Pipeline, TaskRun, PipelineRun, StepAction; Pipelines-as-Code
.tekton/ folders) and RBAC, ServiceAccount, PersistentVolumeClaim and NetworkPolicy
documents for the weaknesses in the catalog's threat model: substitutions pasted into
scripts, unpinned images, over-privileged service accounts, credential workspaces shared
with user tasks, workspaces shared across runs, weak securityContext, missing limits,
open egress and missing validate/verify gates. Runs the interface lint too.`
    : `Checks every pipeline task and run that references a Task it can resolve (in the
input, embedded, or one of this catalog's Tasks by name or bundle) against that Task's
interface: unknown params (with a suggestion), missing required params, array/string
mismatches, unbound workspaces, undeclared results, and literal values that break the
validate-params rule a catalog Task declares. Also Tekton's own reference checks.`
}

A folder is searched for *.yaml and *.yml (not .git or node_modules); name JSON files
or quote globs ("pipelines/**/*.json"). Symlinks are never followed.

Options:
  --format <text|json|sarif>  report format (default text)
  --output <file>             write the report there (atomically) instead of stdout
  --fail-on <level>           exit 1 when a finding is at least error, warning or note,
                              or never (none); default error, or failOn from the config
  --config <file>             config file (default: .tekton-audit.yaml here, if present)
  --no-config                 ignore .tekton-audit.yaml
  --catalog <dir>             catalog folder with index.json, for references to our Tasks
                              (default: this repository's catalog/)
  --no-catalog                do not resolve references to our catalog
  --stdin-filename <name>     name reports give to stdin (default <stdin>)
  --base-dir <dir>            SARIF file URIs are relative to it (default: the working folder)
  --show-suppressed           list suppressed findings in text output
  --verbose                   show each rule's full help, with the fixed YAML
  --color / --no-color        force colour on or off (default: on for a terminal, off with NO_COLOR)
  --list-rules                list every rule id, severity and summary, then exit
  -h, --help                  show this help

Suppress one finding with a comment on the line above the YAML entry (a reason is required):
  # tekton-audit-ignore TA401: image-tag is an enum checked by validate-params

Exit codes: 0 no finding at --fail-on or above; 1 findings; 2 usage, config or parse error.
`;

const OPTIONS = {
  format: { type: 'string' },
  output: { type: 'string' },
  'fail-on': { type: 'string' },
  config: { type: 'string' },
  'no-config': { type: 'boolean' },
  catalog: { type: 'string' },
  'no-catalog': { type: 'boolean' },
  'stdin-filename': { type: 'string' },
  'base-dir': { type: 'string' },
  'show-suppressed': { type: 'boolean' },
  verbose: { type: 'boolean' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  'list-rules': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(message: string, hint?: string): AuditError {
  return new AuditError(AuditErrorCodes.usage, message, { hint: hint ?? 'run with --help for the options' });
}

/** `tekton-catalog audit` and `tekton-catalog lint`: returns the exit code. */
export async function runAuditCommand(mode: 'audit' | 'lint', args: string[], io: AuditIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values;
  if (values.help) {
    io.stdout.write(help(mode));
    return 0;
  }
  const audit = await import('../audit/index.ts');
  if (values['list-rules']) {
    const rules = audit.ALL_RULES.filter((rule) => mode === 'audit' || rule.group === 'lint' || rule.group === 'input');
    for (const rule of rules) io.stdout.write(`${rule.id}  ${rule.severity.padEnd(7)}  ${rule.name.padEnd(34)} ${rule.summary}\n`);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') throw usage(`--format must be text, json or sarif, not ${quoteUntrusted(format)}`);
  const failOnFlag = values['fail-on'];
  if (failOnFlag !== undefined && !['error', 'warning', 'note', 'none'].includes(failOnFlag)) {
    throw usage(`--fail-on must be error, warning, note or none, not ${quoteUntrusted(failOnFlag)}`);
  }
  if (parsed.positionals.length === 0) throw usage('no paths given', `e.g. tekton-catalog ${mode} .tekton/ pipelines/`);
  if (values.config !== undefined && values['no-config']) throw usage('--config and --no-config cannot be combined');
  if (values.catalog !== undefined && values['no-catalog']) throw usage('--catalog and --no-catalog cannot be combined');

  const cwd = io.cwd ?? process.cwd();
  const config = values['no-config'] ? audit.EMPTY_CONFIG : audit.loadConfig(values.config, cwd);
  let catalog = audit.TaskCatalog.empty();
  let loadDefinitions: (() => Promise<readonly import('../build/definition.ts').TaskDefinition[]>) | undefined;
  if (!values['no-catalog']) {
    const dir = values.catalog !== undefined ? resolve(cwd, values.catalog) : DEFAULT_CATALOG;
    if (values.catalog !== undefined || existsSync(join(dir, 'index.json'))) {
      catalog = await audit.TaskCatalog.fromDirectory(dir);
      // The param rules live in the Task definitions beside the catalog; read them only when a reference needs them.
      const tasksDir = join(dir, '..', 'tasks');
      if (existsSync(tasksDir)) {
        loadDefinitions = async () => (await import('../build/load-definitions.ts')).loadTaskDefinitions(tasksDir);
      }
    }
  }
  const auditor = new audit.Auditor({ mode, config, catalog, ...(loadDefinitions ? { loadDefinitions } : {}) });
  const stdin = io.stdin;
  const report = await auditor.auditPaths(parsed.positionals, {
    cwd,
    ...(values['stdin-filename'] ? { stdinName: values['stdin-filename'] } : {}),
    ...(stdin ? { readStdin: async (max: number) => (await import('../audit/input/read-files.ts')).readStreamBounded(stdin(), max) } : {}),
  });

  const env = io.env ?? process.env;
  const color = values['no-color'] ? false : values.color ? true : Boolean(io.stdout.isTTY) && !values.output && env.NO_COLOR === undefined;
  let rendered: string;
  if (format === 'json') rendered = audit.renderJson(report, audit.AUDIT_TOOL);
  else if (format === 'sarif') rendered = audit.renderSarif(report, audit.AUDIT_TOOL, { baseDir: resolve(cwd, values['base-dir'] ?? '.') });
  else rendered = audit.renderText(report, { color, verbose: values.verbose === true, showSuppressed: values['show-suppressed'] === true });
  if (values.output) {
    await writeFileAtomic(resolve(cwd, values.output), rendered);
    const s = report.summary;
    io.stderr.write(`${mode}: ${s.errors} errors, ${s.warnings} warnings, ${s.notes} notes (${s.suppressed} suppressed) in ${s.files} files; report: ${values.output}\n`);
  } else io.stdout.write(rendered);
  const failOn = (failOnFlag ?? config.failOn ?? 'error') as 'error' | 'warning' | 'note' | 'none';
  return audit.exitCodeFor(report, failOn);
}
