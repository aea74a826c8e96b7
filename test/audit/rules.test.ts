import t from 'tap';
import { ALL_RULES } from '../../src/audit/index.ts';
import { FIXTURES } from './fixtures.ts';
import { auditYaml, ids } from './harness.ts';

/**
 * Every rule fires on its realistic example, at the line it should, and
 * stays quiet on the fixed form.
 */

t.test('every rule has a positive and a negative fixture', async (t) => {
  const missing = ALL_RULES.filter((rule) => !FIXTURES[rule.id]).map((rule) => rule.id);
  t.same(missing, [], 'rules without fixtures');
  t.same(Object.keys(FIXTURES).filter((id) => !ALL_RULES.some((r) => r.id === id)), [], 'fixtures without a rule');
});

for (const rule of ALL_RULES) {
  const fixture = FIXTURES[rule.id];
  if (!fixture) continue;
  t.test(`${rule.id} ${rule.name}`, async (t) => {
    const positive = await auditYaml(fixture.positive);
    const hit = positive.findings.find((f) => f.ruleId === rule.id);
    t.ok(hit, `fires on its example (found ${JSON.stringify(ids(positive))})`);
    if (hit) {
      t.equal(hit.location.line, fixture.line, `points at line ${fixture.line}: ${hit.message}`);
      t.ok(hit.location.column >= 1, 'has a column');
      t.equal(hit.severity, fixture.severity ?? rule.severity, 'severity');
      t.notMatch(hit.message, /\n/, 'message is one line');
    }
    const negative = await auditYaml(fixture.negative);
    t.notOk(ids(negative).includes(rule.id), `quiet on the fixed form (found ${JSON.stringify(negative.findings.filter((f) => f.ruleId === rule.id).map((f) => f.message))})`);
    t.ok(rule.help.length > 40 && rule.summary.length > 10, 'has help text');
    if (rule.group !== 'input' && rule.group !== 'lint') t.ok(/```yaml|`[^`]+`/.test(rule.help), 'help shows the fix');
  });
}

t.test('lint mode runs only the lint and input rules', async (t) => {
  const report = await auditYaml(FIXTURES.TA401!.positive, { mode: 'lint' });
  t.same(report.findings.filter((f) => f.ruleId.startsWith('TA') && !['TA001', 'TA002', 'TA003', 'TA004'].includes(f.ruleId)), []);
  const lint = await auditYaml(FIXTURES.TL101!.positive, { mode: 'lint' });
  const hit = lint.findings.find((f) => f.ruleId === 'TL101');
  t.match(hit?.message, /did you mean "certificate-oidc-issuer"\?/);
});
