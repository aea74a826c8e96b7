import { CatalogError } from '../../src/errors.ts';
import { compileRuleSet } from '../../src/params/compile.ts';
import { collectValues, parseArgs } from '../../src/params/inputs.ts';
import { parseRuleSource } from '../../src/params/rule-source.ts';
import { validateParams, validatedSetDigest, type ValidationFailure } from '../../src/params/validate.ts';
import { writeResultSync } from '../../src/step/results.ts';
import { drain, ExitCode, runStep } from '../../src/step/run.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { Telemetry } from '../../src/telemetry/telemetry.ts';
import { violation, ViolationTypes } from '../../src/telemetry/violations.ts';

const NAME = 'validate-params';
const telemetry = new Telemetry(NAME);

const HELP = `Usage: validate-params [NAME=VALUE | --param NAME=VALUE]... [--elements NAME [ELEMENT]...]

Checks every param value against a typed rule set and fails (exit 1) listing
every value that breaks its rule. Values are shown JSON-escaped and truncated,
never raw.

Environment:
  RULES          the rule set, JSON or YAML: {"git-revision": {"type": "git-sha"}, ...}
                 types: git-sha, image-tag, image-reference, semver, dns-label,
                 k8s-name, relative-path, https-url, enum, integer, bool, regex (RE2
                 syntax, needs maxLength), text (needs maxLength)
  PARAM_<NAME>   a value; NAME is the param name upper-cased, "-" and "." as "_"
                 (git-revision -> PARAM_GIT_REVISION)
  TASK_NAME      label for the failure counter (set it to $(context.task.name))
  TEKTON_RESULTS_DIR, TEKTON_CATALOG_METRICS_FILE   where results and metrics go
  PUSHGATEWAY_URL, CLOUDEVENTS_SINK, TELEMETRY_FAIL_CLOSED   where telemetry goes

Arguments:
  NAME=VALUE, --param NAME=VALUE   a value; repeat NAME for array elements
  --elements NAME ELEMENT...       every remaining argument is an element of
                                   array param NAME, verbatim ("" and none: no array)
  --help                           this text (only as the sole argument)

Every param given needs a rule, and every rule without "optional": true needs
a value. A param comes from env or args, not both.

Results: VALIDATED ("true"), PARAMS_DIGEST (sha256 of the validated names and values).
Exit codes: 0 valid, 1 a value was rejected, 2 bad rules or arguments, 3 internal failure.
`;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return ExitCode.ok;
  }
  telemetry.configure();
  const source = process.env.RULES;
  if (source === undefined) {
    throw new CatalogError('USAGE_RULES_MISSING', 'no rule set: the "rules" param did not arrive (the RULES environment variable is not set)', {
      hint: 'pass the rule set in the "rules" param, e.g. {"git-revision": {"type": "git-sha"}}; a Task of your own that runs this image sets RULES to it',
    });
  }
  const rules = await parseRuleSource(source);
  const compiled = await compileRuleSet(rules);
  const values = collectValues(rules, process.env, args);
  const result = validateParams(values, compiled);

  const task = process.env.TASK_NAME || NAME;
  for (const failure of result.failures) {
    telemetry.count(Metrics.paramValidationFailures, { task, param: failure.param });
    const { param, rule, reason, shownValue, index } = failure;
    telemetry.record(violation(ViolationTypes.paramValidationFailed, 'param', { task, param, rule, reason, value: shownValue, ...(index === undefined ? {} : { index }) }));
  }

  if (!result.ok) {
    const lines = result.failures.map(describeFailure);
    process.stderr.write(
      `${NAME}: rejected ${result.failures.length} param value(s):\n${lines.join('\n')}\n` +
        '  hint: fix each value where your Pipeline gets it; if a value is legitimate, change its rule in the "rules" param\n',
    );
    await drain(process.stderr);
    return ExitCode.rejected;
  }
  const digest = validatedSetDigest(values);
  // Synchronous: an async write would start libuv's thread pool just for two small files.
  writeResultSync('VALIDATED', 'true');
  writeResultSync('PARAMS_DIGEST', digest);
  // writeSync: process.stdout would load the stream machinery just for one
  // line; getBuiltinModule: see writeResultSync on the node:fs import facade.
  process.getBuiltinModule('node:fs').writeSync(1, `${NAME}: ${values.size} param(s) valid (${digest})\n`);
  return ExitCode.ok;
}

function describeFailure(failure: ValidationFailure): string {
  const where = failure.index === undefined ? failure.param : `${failure.param}[${failure.index}]`;
  return `  - ${where} (rule ${failure.rule}): ${failure.reason}; value: ${failure.shownValue}`;
}

await runStep(NAME, main, { telemetry });
