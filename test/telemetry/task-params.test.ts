// Every Task whose step program reports telemetry declares the same three
// params (name, description, rule, default) and passes them, with the
// TaskRun's identity, to that step; the others declare none of them.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTaskDefinitions } from '../../src/build/load-definitions.ts';
import { TELEMETRY_ENV, TELEMETRY_PARAMS } from '../../src/telemetry/task-params.ts';
import { repoRoot } from '../harness/shared.ts';

t.test('the telemetry params are the same on every Task whose step counts something', async (t) => {
  const definitions = await loadTaskDefinitions(join(repoRoot, 'tasks'));
  let reporting = 0;
  for (const definition of definitions) {
    for (const step of definition.steps) {
      const source = await readFile(join(repoRoot, 'steps', step.program, 'main.ts'), 'utf8');
      const reports = /new Telemetry\(/.test(source);
      const declared = definition.params.filter((p) => TELEMETRY_PARAMS.some((tp) => tp.name === p.name));
      if (!reports) {
        t.same(declared, [], `${definition.name}: its step ${step.program} reports no telemetry, so no telemetry params`);
        continue;
      }
      reporting++;
      t.same(
        declared.map(({ name, description, default: value, rule, type }) => ({ name, description, default: value, rule, type })),
        TELEMETRY_PARAMS.map((p) => ({ ...p, type: 'string', rule: { ...p.rule } })),
        `${definition.name}: the three params, exactly as task-params.ts spells them`,
      );
      for (const entry of TELEMETRY_ENV) t.ok(step.env.some((e) => e.name === entry.name && e.value === entry.value), `${definition.name}/${step.name}: ${entry.name}=${entry.value}`);
    }
  }
  t.equal(reporting, 4, 'validate-params, workspace-guard, inject-credentials and verify-image report');
});
