import { CatalogError } from '../../errors.ts';
import { ANY, type CharSet, DOT, classEscape, complement, single, union, fromRanges } from './char-set.ts';

/**
 * A small parser for the ECMAScript pattern grammar with the `u` flag, just
 * deep enough to model how a backtracking engine walks the pattern. It runs
 * only on patterns that `new RegExp(pattern, 'u')` has already accepted, so
 * it can trust the syntax and concentrate on meaning.
 *
 * Zero-width parts (^, $, \b, \B, lookaheads) become `empty`: leaving them out
 * only adds paths, so the analysis stays on the safe side.
 */
export type RegexNode =
  | { kind: 'char'; set: CharSet }
  | { kind: 'seq'; items: RegexNode[] }
  | { kind: 'alt'; options: RegexNode[] }
  | { kind: 'repeat'; body: RegexNode; min: number; max: number }
  | { kind: 'empty' };

export function unsupported(what: string): CatalogError {
  return new CatalogError('CONFIG_RULE_REGEX_UNSUPPORTED', `the pattern uses ${what}, which validate-params does not allow`, {
    hint: 'rewrite the pattern without it; validate-params only runs patterns it can prove free of catastrophic backtracking',
  });
}

export function parseRegex(pattern: string): RegexNode {
  const parser = new Parser(pattern);
  const node = parser.disjunction();
  if (!parser.done()) throw unsupported(`an unexpected ")" at index ${parser.index}`);
  return node;
}

const SYNTAX_CHARS = '^$\\.*+?()[]{}|/';

class Parser {
  index = 0;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  done(): boolean {
    return this.index >= this.source.length;
  }

  private peek(offset = 0): string | undefined {
    return this.source[this.index + offset];
  }

  private startsWith(text: string): boolean {
    return this.source.startsWith(text, this.index);
  }

  /** Reads one code point (a surrogate pair counts as one). */
  private codePoint(): number {
    const cp = this.source.codePointAt(this.index)!;
    this.index += cp > 0xffff ? 2 : 1;
    return cp;
  }

  disjunction(): RegexNode {
    const options = [this.alternative()];
    while (this.peek() === '|') {
      this.index++;
      options.push(this.alternative());
    }
    return options.length === 1 ? options[0]! : { kind: 'alt', options };
  }

  private alternative(): RegexNode {
    const items: RegexNode[] = [];
    while (!this.done() && this.peek() !== '|' && this.peek() !== ')') items.push(this.term());
    return { kind: 'seq', items };
  }

  private term(): RegexNode {
    const atom = this.atom();
    return this.quantified(atom);
  }

  private quantified(atom: RegexNode): RegexNode {
    const ch = this.peek();
    let min: number;
    let max: number;
    if (ch === '*') [min, max] = [0, Infinity];
    else if (ch === '+') [min, max] = [1, Infinity];
    else if (ch === '?') [min, max] = [0, 1];
    else if (ch === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.index));
      if (!match) return atom;
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
      this.index += match[0].length - 1;
    } else return atom;
    this.index++;
    if (this.peek() === '?') this.index++; // lazy: same paths, other order
    return { kind: 'repeat', body: atom, min, max };
  }

  private atom(): RegexNode {
    const ch = this.peek()!;
    if (ch === '^' || ch === '$') {
      this.index++;
      return { kind: 'empty' };
    }
    if (ch === '.') {
      this.index++;
      return { kind: 'char', set: DOT };
    }
    if (ch === '[') return { kind: 'char', set: this.characterClass() };
    if (ch === '(') return this.group();
    if (ch === '\\') return this.atomEscape();
    return { kind: 'char', set: single(this.codePoint()) };
  }

  private group(): RegexNode {
    if (this.startsWith('(?=') || this.startsWith('(?!')) {
      this.index += 3;
      const body = this.disjunction();
      this.expect(')');
      if (hasRepetition(body)) throw unsupported('a lookahead that repeats (its cost multiplies with every position)');
      return { kind: 'empty' };
    }
    if (this.startsWith('(?<=') || this.startsWith('(?<!')) throw unsupported('a lookbehind');
    if (this.startsWith('(?:')) this.index += 3;
    else if (this.startsWith('(?<')) {
      const end = this.source.indexOf('>', this.index);
      this.index = end + 1;
    } else if (this.startsWith('(?')) throw unsupported('a group modifier such as (?i:...)');
    else this.index++;
    const body = this.disjunction();
    this.expect(')');
    return body;
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw unsupported(`a construct it cannot parse at index ${this.index}`);
    this.index++;
  }

  private atomEscape(): RegexNode {
    this.index++; // backslash
    const ch = this.peek()!;
    if (ch === 'b' || ch === 'B') {
      this.index++;
      return { kind: 'empty' };
    }
    if (ch >= '1' && ch <= '9') throw unsupported('a backreference (it makes matching exponential)');
    if (ch === 'k') throw unsupported('a named backreference (it makes matching exponential)');
    return { kind: 'char', set: this.escapeSet() };
  }

  /** The set for the escape after a backslash (already consumed). */
  private escapeSet(): CharSet {
    const ch = this.peek()!;
    this.index++;
    switch (ch) {
      case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        return classEscape(ch);
      case 'p': case 'P': {
        // Unicode property: taken as "any character" (an over-approximation).
        this.index = this.source.indexOf('}', this.index) + 1;
        return ANY;
      }
      case 't': return single(0x09);
      case 'n': return single(0x0a);
      case 'v': return single(0x0b);
      case 'f': return single(0x0c);
      case 'r': return single(0x0d);
      case '0': return single(0);
      case 'b': return single(0x08); // only reached inside a class
      case '-': return single(0x2d);
      case 'c': return single(this.codePoint() % 32);
      case 'x': {
        const hex = this.source.slice(this.index, this.index + 2);
        this.index += 2;
        return single(Number.parseInt(hex, 16));
      }
      case 'u': return single(this.unicodeEscape());
      default:
        if (SYNTAX_CHARS.includes(ch)) return single(ch.codePointAt(0)!);
        throw unsupported(`the escape \\${ch}`);
    }
  }

  private unicodeEscape(): number {
    if (this.peek() === '{') {
      const end = this.source.indexOf('}', this.index);
      const cp = Number.parseInt(this.source.slice(this.index + 1, end), 16);
      this.index = end + 1;
      return cp;
    }
    const high = Number.parseInt(this.source.slice(this.index, this.index + 4), 16);
    this.index += 4;
    if (high >= 0xd800 && high <= 0xdbff && this.startsWith('\\u')) {
      const low = Number.parseInt(this.source.slice(this.index + 2, this.index + 6), 16);
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.index += 6;
        return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
      }
    }
    return high;
  }

  private characterClass(): CharSet {
    this.index++; // [
    const negated = this.peek() === '^';
    if (negated) this.index++;
    const parts: CharSet[] = [];
    while (this.peek() !== ']') {
      if (this.done()) throw unsupported('an unterminated character class');
      const from = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.index++;
        const to = this.classAtom();
        const lo = from.ranges[0]?.[0];
        const hi = to.ranges[0]?.[1];
        if (lo === undefined || hi === undefined) throw unsupported('a character class range it cannot read');
        parts.push(fromRanges([[lo, hi]]));
      } else parts.push(from);
    }
    this.index++; // ]
    const set = union(parts);
    return negated ? complement(set) : set;
  }

  private classAtom(): CharSet {
    if (this.peek() === '\\') {
      this.index++;
      return this.escapeSet();
    }
    return single(this.codePoint());
  }
}

function hasRepetition(node: RegexNode): boolean {
  switch (node.kind) {
    case 'repeat': return node.max > 1 || hasRepetition(node.body);
    case 'seq': return node.items.some(hasRepetition);
    case 'alt': return node.options.some(hasRepetition);
    default: return false;
  }
}
