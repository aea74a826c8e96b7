import { parseDocument } from 'yaml';
import { CatalogError, quoteUntrusted } from '../errors.ts';

/**
 * A rule set written in YAML, as plain data. Only rule-source.ts imports
 * it, with import(): the yaml parser loads only for a rule set that is not
 * JSON.
 */
export function parseYamlRules(text: string, source: string): unknown {
  const fail = (detail: string) =>
    new CatalogError('CONFIG_RULES_SYNTAX', `the "${source}" param is neither JSON nor valid YAML (${quoteUntrusted(detail.split('\n', 1)[0]!, 160)})`, {
      hint: 'write the rule set as a YAML mapping ("git-revision: {type: git-sha}", one param per line) or as a JSON object',
    });
  // Core schema: no custom tags; uniqueKeys refuses duplicate keys; logLevel
  // silent because warnings (an unknown tag) are turned into errors here.
  const document = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: false, logLevel: 'silent' });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw fail(problem.message);
  try {
    // A low alias cap stops billion-laughs expansion.
    return document.toJS({ maxAliasCount: 10 });
  } catch (error) {
    throw fail(error instanceof Error ? error.message : 'invalid');
  }
}
