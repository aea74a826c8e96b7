import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isCatalogError, quoteUntrusted } from '../errors.ts';
import { loadedRegexEngine } from '../params/regex/linear-pattern.ts';
import { compileGlob, globSource, type GlobMatcher } from '../workspace/glob.ts';
import { AuditError, AuditErrorCodes } from './errors.ts';
import { SEVERITIES, type Severity } from './findings.ts';
import { readBounded } from './input/read-files.ts';
import { ruleById } from './rules/index.ts';

/**
 * The audit's config file (`.tekton-audit.yaml` in the working directory,
 * or --config):
 *
 *   failOn: warning              # error | warning | note | none
 *   exclude: ["vendor/**"]       # paths never read
 *   rules:
 *     TA604: note                # another severity, or off
 *   ignore:
 *     - rules: [TA502]
 *       paths: ["dev/**"]
 *       reason: dev pipelines reuse a cache claim on purpose
 *
 * Globs are relative, `/`-separated, with `*`, `?` and `**`. Every ignore
 * needs a reason, like an inline suppression. Anything unknown is an error
 * (exit 2): a typo in a config must not quietly turn a rule off.
 */

export const DEFAULT_CONFIG_FILE = '.tekton-audit.yaml';

const ruleId = z
  .string()
  .refine((id) => ruleById(id) !== undefined, { message: 'is not a rule id (see --list-rules)' })
  .refine((id) => ruleById(id)?.group !== 'input', { message: 'is about the input itself and cannot be configured' });

const ConfigSchema = z
  .object({
    failOn: z.enum([...SEVERITIES, 'none']).optional(),
    exclude: z.array(z.string().min(1)).optional(),
    rules: z
      .record(z.string(), z.enum([...SEVERITIES, 'off']))
      .superRefine((rules, context) => {
        for (const id of Object.keys(rules)) {
          const problem = ruleId.safeParse(id);
          if (!problem.success) context.addIssue({ code: 'custom', path: [id], message: problem.error.issues[0]!.message });
        }
      })
      .optional(),
    ignore: z
      .array(
        z
          .object({
            rules: z.array(ruleId).min(1),
            paths: z.array(z.string().min(1)).optional(),
            reason: z.string().trim().min(3, 'must say why the findings are accepted'),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export interface AuditConfig {
  /** Where it was read from, for suppression records. */
  source: string;
  failOn?: Severity | 'none';
  excluded(path: string): boolean;
  /** The configured severity of a rule: a severity, 'off', or undefined for the default. */
  severityOf(ruleId: string): Severity | 'off' | undefined;
  /** The reason a finding of `ruleId` in `file` is accepted, if an ignore entry covers it. */
  ignoredBecause(ruleId: string, file: string): string | undefined;
}

export const EMPTY_CONFIG: AuditConfig = {
  source: '(none)',
  excluded: () => false,
  severityOf: () => undefined,
  ignoredBecause: () => undefined,
};

/**
 * The globs, checked now (a bad one is a config error) and compiled on first
 * use: they run on RE2, which the Auditor loads before it reads any path,
 * since the paths come from the repository being audited.
 */
function globs(patterns: readonly string[] | undefined, where: string): () => GlobMatcher[] {
  const list = patterns ?? [];
  for (const pattern of list) {
    try {
      globSource(pattern);
    } catch (error) {
      throw new AuditError(AuditErrorCodes.config, `${where}: glob ${quoteUntrusted(pattern)} is not supported${isCatalogError(error) ? ` (${error.message.replace(/^allow glob \S+ /, '')})` : ''}`, {
        hint: 'use relative globs with *, ? and ** only, e.g. "vendor/**"',
      });
    }
  }
  let compiled: GlobMatcher[] | undefined;
  return () => {
    if (compiled !== undefined) return compiled;
    const re2 = list.length === 0 ? undefined : loadedRegexEngine();
    if (list.length > 0 && re2 === undefined) throw new Error('audit config globs matched before the RE2 engine was loaded');
    return (compiled = list.map((pattern) => compileGlob(pattern, re2!)));
  };
}

/** Checks parsed config data; `source` names it in errors. */
export function configFromData(data: unknown, source: string): AuditConfig {
  const parsed = ConfigSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new AuditError(AuditErrorCodes.config, `${source} is not a valid audit config:\n${lines.join('\n')}`, {
      hint: 'allowed keys: failOn, exclude, rules (id: error|warning|note|off), ignore (rules, paths, reason)',
    });
  }
  const config = parsed.data;
  const exclude = globs(config.exclude, `${source} exclude`);
  const ignores = (config.ignore ?? []).map((entry, i) => ({
    rules: new Set(entry.rules.map((id) => id.toUpperCase())),
    paths: globs(entry.paths, `${source} ignore[${i}]`),
    reason: entry.reason.trim(),
  }));
  const severities = new Map(Object.entries(config.rules ?? {}).map(([id, level]) => [id.toUpperCase(), level]));
  return {
    source,
    ...(config.failOn ? { failOn: config.failOn } : {}),
    excluded: (path) => exclude().some((glob) => glob.matches(path)),
    severityOf: (id) => severities.get(id),
    ignoredBecause: (id, file) => ignores.find((entry) => entry.rules.has(id) && (entry.paths().length === 0 || entry.paths().some((glob) => glob.matches(file))))?.reason,
  };
}

/**
 * Reads the config at `path`, or `.tekton-audit.yaml` in `cwd` when no path
 * is given (none there: the empty config). A named file that is missing is
 * an error.
 */
export function loadConfig(path: string | undefined, cwd: string): AuditConfig {
  const file = resolve(cwd, path ?? DEFAULT_CONFIG_FILE);
  if (path === undefined && !existsSync(file)) return EMPTY_CONFIG;
  const read = readBounded(file, 1 << 20);
  if ('problem' in read) {
    throw new AuditError(AuditErrorCodes.config, `config file ${quoteUntrusted(path ?? DEFAULT_CONFIG_FILE, 200)} ${read.problem === 'not-regular' ? 'is not a regular file' : read.problem}`);
  }
  let data: unknown;
  try {
    data = parseYaml(read.text, { uniqueKeys: true, prettyErrors: false });
  } catch (error) {
    throw new AuditError(AuditErrorCodes.config, `config file ${quoteUntrusted(path ?? DEFAULT_CONFIG_FILE, 200)} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  return configFromData(data, path ?? DEFAULT_CONFIG_FILE);
}
