import { CatalogError, quoteUntrusted } from '../errors.ts';
import type { RuleSet } from './rules.ts';

/**
 * Where validate-params finds values.
 *
 * Env: one variable per param, PARAM_<NAME>, where NAME is the param name
 * upper-cased with "-" and "." turned into "_" (git-revision → PARAM_GIT_REVISION).
 * Two rule names that map to one variable (a-b and a_b) are refused. Any
 * PARAM_* variable that maps to no rule is reported as a param without a rule.
 *
 * Args:
 *   NAME=VALUE             a value (repeat NAME for array elements)
 *   --param NAME=VALUE     the same, spelled out (also --param=NAME=VALUE)
 *   --elements NAME E...   every remaining argument is an element of array
 *                          param NAME, taken verbatim (even "--help"), so a
 *                          Task can pass "$(params.x[*])" after it safely;
 *                          an empty NAME with no elements means "none"
 *   --help                 only as the sole argument
 * A param may come from env or from args, not both.
 *
 * In the catalog Task the args are the "values" param, then "--elements",
 * "elements-name" and "elements"; messages speak of those params, since the
 * person who reads them writes a Pipeline, not a command line.
 */
export const ENV_PREFIX = 'PARAM_';

export function envNameFor(param: string): string {
  return ENV_PREFIX + param.toUpperCase().replace(/[-.]/g, '_');
}

export interface ParsedArgs {
  readonly help: boolean;
  /** In order of appearance; a repeated name builds an array. */
  readonly entries: readonly (readonly [string, string])[];
  readonly elements?: { readonly name: string; readonly values: readonly string[] };
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.length === 1 && argv[0] === '--help') return { help: true, entries: [] };
  const entries: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--elements') {
      const name = argv[i + 1];
      if (name === undefined) throw usage('--elements needs a param name after it (the Task passes its "elements-name" param there; "" means no elements)');
      const values = argv.slice(i + 2);
      if (name === '') {
        if (values.length > 0) {
          throw new CatalogError('USAGE_ARGS', `the "elements" param holds ${values.length} element(s), but "elements-name" is empty`, {
            hint: 'set the "elements-name" param to the name of the array param whose elements you pass in "elements"',
          });
        }
        return { help: false, entries };
      }
      return { help: false, entries, elements: { name, values } };
    }
    if (arg === '--param') {
      const next = argv[++i];
      if (next === undefined) throw usage('the "values" entry --param needs a NAME=VALUE entry after it');
      entries.push(splitEntry(next));
    } else if (arg.startsWith('--param=')) {
      entries.push(splitEntry(arg.slice('--param='.length)));
    } else if (arg.startsWith('--')) {
      throw usage(`the "values" entry ${quoteUntrusted(arg, 40)} is not NAME=VALUE${arg === '--help' ? ' (--help is only read as the sole argument)' : ' (entries may not start with "--")'}`);
    } else {
      entries.push(splitEntry(arg));
    }
  }
  return { help: false, entries };
}

function splitEntry(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw usage(`the "values" entry ${quoteUntrusted(entry, 40)} is not NAME=VALUE`);
  return [entry.slice(0, eq), entry.slice(eq + 1)];
}

function usage(message: string): CatalogError {
  return new CatalogError('USAGE_ARGS', message, {
    hint: 'write each entry of the "values" param as NAME=VALUE, e.g. "git-revision=$(params.git-revision)"; pass an array param through "elements-name" and "elements"',
  });
}

/** Refuses rule sets whose names collide as env variables. */
export function checkEnvNames(rules: RuleSet): Map<string, string> {
  const byEnv = new Map<string, string>();
  for (const name of Object.keys(rules)) {
    const env = envNameFor(name);
    const other = byEnv.get(env);
    if (other !== undefined) {
      throw new CatalogError('CONFIG_RULES_ENV_COLLISION', `the "rules" param names both ${other} and ${name}, which validate-params cannot tell apart (both read the env variable ${env})`, {
        hint: 'rename one of the params; names that differ only in case, "-", "_" or "." are the same to validate-params',
      });
    }
    byEnv.set(env, name);
  }
  return byEnv;
}

/**
 * Gathers values from env and args into one map, param name to value.
 * Env variables without a rule keep their variable name, so they are
 * reported as such.
 */
export function collectValues(rules: RuleSet, env: NodeJS.ProcessEnv, args: ParsedArgs): Map<string, string | string[]> {
  const byEnv = checkEnvNames(rules);
  const values = new Map<string, string | string[]>();
  const fromEnv = new Set<string>();
  for (const key of Object.keys(env).sort()) {
    if (!key.startsWith(ENV_PREFIX)) continue;
    const name = byEnv.get(key) ?? key;
    values.set(name, env[key] ?? '');
    fromEnv.add(name);
  }
  const add = (name: string, value: string) => {
    if (fromEnv.has(name)) {
      throw new CatalogError('USAGE_PARAM_TWICE', `param ${quoteUntrusted(name, 64)} was given both in the "values" param and as the env variable ${envNameFor(name)}`, {
        hint: 'pass each param one way only',
      });
    }
    const current = values.get(name);
    if (current === undefined) values.set(name, value);
    else if (typeof current === 'string') values.set(name, [current, value]);
    else current.push(value);
  };
  for (const [name, value] of args.entries) add(name, value);
  if (args.elements) {
    const { name, values: elements } = args.elements;
    if (values.has(name)) {
      throw new CatalogError('USAGE_PARAM_TWICE', `array param ${quoteUntrusted(name, 64)} was given in "elements" (named by "elements-name") and also in "values" or env`, {
        hint: 'pass each param one way only: an array param goes through "elements-name" and "elements" alone',
      });
    }
    values.set(name, [...elements]);
  }
  return values;
}
