import { Document, isMap, isSeq, type Node } from 'yaml';
import { YAML_OPTIONS } from '../../tekton/yaml.ts';

/**
 * YAML for the kit's objects, with the comments that explain them: the
 * same emitter options as every document the catalog writes
 * (src/tekton/yaml.ts), plus comments attached to keys and list items by
 * path. The comments are the documentation a platform team reads when it
 * opens the file, so they sit next to what they explain.
 */

export interface Comments {
  /** At the top of the document. */
  header?: string;
  /** By path: keys joined with "." (a data key with dots is one element: use the array form). */
  at?: { path: (string | number)[]; comment: string }[];
}

function child(node: Node | null | undefined, key: string | number): Node | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
    return pair ? (pair as unknown as Node) : undefined;
  }
  if (isSeq(node) && typeof key === 'number') return node.items[key] as Node | undefined;
  return undefined;
}

function comment(text: string): string {
  // Each line a comment of its own; "#" is added by the emitter.
  return text
    .split('\n')
    .map((line) => ` ${line}`.trimEnd())
    .join('\n');
}

export function renderCommented(value: unknown, comments: Comments = {}): string {
  const document = new Document(value, YAML_OPTIONS);
  if (comments.header) document.commentBefore = comment(comments.header);
  for (const { path, comment: text } of comments.at ?? []) {
    let node: Node | undefined = document.contents as Node;
    let pairKey: Node | undefined;
    for (const key of path) {
      const next = child(node, key);
      if (next === undefined) throw new Error(`no ${path.join('.')} to comment in the document`);
      // A map pair: comment its key, descend into its value.
      const pair = next as unknown as { key?: Node; value?: Node };
      if ('key' in pair && 'value' in pair) {
        pairKey = pair.key;
        node = pair.value as Node;
      } else {
        pairKey = next;
        node = next;
      }
    }
    if (pairKey) (pairKey as { commentBefore?: string }).commentBefore = comment(text);
  }
  return document.toString(YAML_OPTIONS);
}
