import Tokenizer from '@streamparser/json/tokenizer.js';

/**
 * Limits on the shape of a JSON document a registry sends. A byte cap alone
 * does not bound what parsing costs: 4 MiB of `{},{},…` is 1.3 million
 * objects, 60 MB of heap, and a call stack overflow as soon as someone
 * spreads the array into a call. These limits are checked while the body
 * streams in, so reading stops at the first value past a limit and nothing
 * over it is ever parsed.
 */
export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects (the top-level value is depth 1). */
  maxDepth: number;
  /** Most items in any one array: descriptors, layers, tags. */
  maxArrayItems: number;
  /** Most tokens in the whole document: every key and every value. */
  maxValues: number;
}

/** Manifests and indexes: far beyond any real image (127 layers, a few dozen platforms). */
export const MANIFEST_JSON_LIMITS: JsonShapeLimits = { maxDepth: 32, maxArrayItems: 4096, maxValues: 100_000 };
/** Token server answers: a token, a lifetime and a few more fields. */
export const TOKEN_JSON_LIMITS: JsonShapeLimits = { maxDepth: 8, maxArrayItems: 256, maxValues: 4096 };

export type JsonShapeLimit = keyof JsonShapeLimits;

/** Thrown while reading when the document goes past a limit. */
export class JsonShapeExceeded extends Error {
  readonly limit: JsonShapeLimit;
  readonly max: number;

  constructor(limit: JsonShapeLimit, max: number) {
    super(limit === 'maxArrayItems' ? `an array has more than ${max} items` : limit === 'maxDepth' ? `values nest deeper than ${max} levels` : `the document has more than ${max} keys and values`);
    this.name = 'JsonShapeExceeded';
    this.limit = limit;
    this.max = max;
  }
}

/** The tokenizer's TokenType values this guard looks at. */
const Token = { leftBrace: 0, rightBrace: 1, leftBracket: 2, rightBracket: 3, colon: 4, comma: 5 } as const;

/**
 * Feeds a JSON body through a streaming tokenizer (@streamparser/json) one
 * chunk at a time and throws JsonShapeExceeded as soon as a limit is passed.
 * It only counts: JSON.parse still builds the value afterwards, and a
 * document is used only if both accept it (`wellFormed`).
 */
export class JsonShapeGuard {
  private readonly limits: JsonShapeLimits;
  private readonly tokenizer = new Tokenizer();
  /** Per open container: true for an array, with its item count. */
  private readonly arrays: boolean[] = [];
  private readonly counts: number[] = [];
  private values = 0;
  private exceeded: JsonShapeExceeded | undefined;
  private syntaxError = false;

  constructor(limits: JsonShapeLimits) {
    this.limits = limits;
    this.tokenizer.onToken = ({ token }) => this.count(token as number);
    this.tokenizer.onError = (error) => {
      if (error instanceof JsonShapeExceeded) this.exceeded = error;
      else this.syntaxError = true;
    };
    this.tokenizer.onEnd = () => {};
  }

  /** Checks one more chunk; throws JsonShapeExceeded when the document goes past a limit. */
  write(chunk: Uint8Array): void {
    if (this.syntaxError || this.tokenizer.isEnded) {
      // Past the end of the document only whitespace is JSON; the tokenizer reports anything else.
      if (!this.syntaxError && chunk.some((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09)) this.syntaxError = true;
      return;
    }
    this.tokenizer.write(chunk);
    if (this.exceeded) throw this.exceeded;
  }

  /** Ends the document; true when the tokenizer read one complete, valid JSON value. */
  end(): boolean {
    if (!this.syntaxError && !this.tokenizer.isEnded) this.tokenizer.end();
    if (this.exceeded) throw this.exceeded;
    return !this.syntaxError && this.tokenizer.isEnded && this.arrays.length === 0 && this.values > 0;
  }

  private count(token: number): void {
    if (token === Token.colon || token === Token.comma) return;
    if (token === Token.rightBrace || token === Token.rightBracket) {
      this.arrays.pop();
      this.counts.pop();
      return;
    }
    if (++this.values > this.limits.maxValues) throw new JsonShapeExceeded('maxValues', this.limits.maxValues);
    const depth = this.arrays.length;
    if (depth > 0 && this.arrays[depth - 1]) {
      // A value directly inside an array is one of its items (object keys never are).
      const items = ++this.counts[depth - 1]!;
      if (items > this.limits.maxArrayItems) throw new JsonShapeExceeded('maxArrayItems', this.limits.maxArrayItems);
    }
    if (token === Token.leftBrace || token === Token.leftBracket) {
      if (depth + 1 > this.limits.maxDepth) throw new JsonShapeExceeded('maxDepth', this.limits.maxDepth);
      this.arrays.push(token === Token.leftBracket);
      this.counts.push(0);
    }
  }
}

/** Checks a whole body already in memory (bounded by its byte cap) the same way. */
export function checkJsonShape(bytes: Uint8Array, limits: JsonShapeLimits): boolean {
  const guard = new JsonShapeGuard(limits);
  guard.write(bytes);
  return guard.end();
}
