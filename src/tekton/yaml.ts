import { stringify } from 'yaml';

/**
 * YAML as the catalog writes it. Key order is the order the object was
 * built in (the generator builds documents in Kubernetes' conventional
 * order), lines are never folded, and strings that look like other types
 * are quoted, so the same document always gives the same bytes.
 */
export const YAML_OPTIONS = {
  lineWidth: 0,
  minContentWidth: 0,
  indent: 2,
  indentSeq: true,
  defaultStringType: 'PLAIN',
  defaultKeyType: 'PLAIN',
  singleQuote: false,
  aliasDuplicateObjects: false,
} as const;

export function toYaml(document: unknown): string {
  return stringify(document, YAML_OPTIONS);
}

/** Several documents in one stream, separated by `---`. */
export function toYamlStream(documents: unknown[]): string {
  return documents.map((doc) => toYaml(doc)).join('---\n');
}
