import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type YAMLError } from 'yaml';
import { childPath } from '../../tekton/diagnostic.ts';
import type { Region } from '../findings.ts';

/**
 * Parsed YAML (or JSON, which YAML 1.2 reads too) that keeps where every
 * node came from. The `yaml` package's LineCounter turns offsets into
 * lines and columns, so findings point into the file, not only into the
 * document.
 */

/** A path inside a document: keys and indexes. */
export type Path = readonly (string | number)[];

export function pathString(path: Path): string {
  return path.reduce<string>((out, key) => childPath(out, key), '');
}

export interface ParseProblem {
  message: string;
  region: Region;
}

/** Aliases expanded per document; far above real Tekton YAML, far below a "billion laughs". */
const MAX_ALIAS_COUNT = 200;

export class SourceFile {
  readonly name: string;
  readonly text: string;
  readonly lineCounter = new LineCounter();
  readonly documents: SourceDocument[] = [];
  readonly problems: ParseProblem[] = [];

  constructor(name: string, text: string) {
    this.name = name;
    this.text = text;
    let parsed;
    try {
      parsed = parseAllDocuments(text, { lineCounter: this.lineCounter, prettyErrors: false, uniqueKeys: true });
    } catch (error) {
      this.problems.push({ message: `YAML parser failed: ${firstLine(error)}`, region: this.region(0, 0) });
      return;
    }
    const docs = Array.isArray(parsed) ? parsed : [];
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        for (const error of doc.errors.slice(0, 3)) this.problems.push(this.yamlProblem(error));
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (error) {
        const start = doc.contents?.range[0] ?? 0;
        this.problems.push({ message: `YAML document cannot be read: ${firstLine(error)}`, region: this.region(start, start) });
        return;
      }
      if (value === null || value === undefined) return;
      this.documents.push(new SourceDocument(this, index, doc, value));
    });
  }

  /** 1-based line and column of an offset, as editors and SARIF count them. */
  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lineCounter.linePos(Math.max(0, Math.min(offset, this.text.length)));
    return { line, column: col };
  }

  region(start: number, end: number): Region {
    const a = this.position(start);
    const b = this.position(Math.max(start, end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }

  private yamlProblem(error: YAMLError): ParseProblem {
    const [start, end] = error.pos;
    return { message: `${error.code}: ${firstLine(error)}`, region: this.region(start, end) };
  }
}

/** Parser messages can quote the source after a newline; keep the first line only. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '').slice(0, 200);
}

export class SourceDocument {
  readonly file: SourceFile;
  /** Index of the document in its file (0-based, counting empty documents). */
  readonly index: number;
  readonly value: unknown;
  readonly #doc: Document.Parsed;

  constructor(file: SourceFile, index: number, doc: Document.Parsed, value: unknown) {
    this.file = file;
    this.index = index;
    this.#doc = doc;
    this.value = value;
  }

  /** The deepest node on `path` that exists, and how much of the path it covers. */
  node(path: Path): { node: Node | undefined; depth: number; keyStart?: number } {
    let node = this.#doc.contents as Node | null;
    let keyStart: number | undefined;
    let depth = 0;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
        if (!pair) break;
        keyStart = (pair.key as Node).range?.[0];
        if (!pair.value) return { node: pair.key as Node, depth: depth + 1, ...(keyStart !== undefined ? { keyStart } : {}) };
        node = pair.value as Node;
      } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
        node = node.items[key] as Node;
        keyStart = undefined;
      } else break;
      depth++;
    }
    return { node: node ?? undefined, depth, ...(keyStart !== undefined ? { keyStart } : {}) };
  }

  /**
   * Where `path` is in the file. A scalar spans its text; a mapping or list
   * spans its first line (a whole step would cover half the file). With
   * `needle`, the region is the needle's first occurrence inside the node's
   * source (e.g. one `$(params.x)` inside a script), when it is there verbatim.
   */
  locate(path: Path, needle?: string): Region {
    const { node } = this.node(path);
    const range = node?.range;
    if (!range) return this.file.region(0, 0);
    const [start, valueEnd] = range;
    if (needle) {
      const at = this.file.text.indexOf(needle, start);
      if (at >= 0 && at + needle.length <= valueEnd) return this.file.region(at, at + needle.length);
    }
    if (isMap(node) || isSeq(node)) {
      const lineEnd = this.file.text.indexOf('\n', start);
      return this.file.region(start, lineEnd < 0 || lineEnd > valueEnd ? valueEnd : lineEnd);
    }
    return this.file.region(start, valueEnd);
  }

  /** Calls `visit` with the start offset and end offset of every mapping pair and list item. */
  forEachNodeSpan(visit: (start: number, end: number) => void): void {
    const walk = (node: unknown): void => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = pair.key as Node | null;
          const value = pair.value as Node | null;
          const start = key?.range?.[0] ?? value?.range?.[0];
          const end = value?.range?.[1] ?? key?.range?.[1];
          if (start !== undefined && end !== undefined) visit(start, end);
          walk(value);
        }
      } else if (isSeq(node)) {
        for (const item of node.items) {
          const range = (item as Node | null)?.range;
          if (range) visit(range[0], range[1]);
          walk(item);
        }
      }
    };
    walk(this.#doc.contents);
  }
}
