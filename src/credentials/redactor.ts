/**
 * Masks every secret the step has loaded, in every form it is likely to
 * surface in: the raw text, without surrounding whitespace, base64 (padded,
 * unpadded, URL-safe), JSON-escaped, URL-encoded, and each long line of a
 * multi-line secret (a private key's body lines). Each `add` makes the
 * mask wider; `redact` is applied to every message the step prints.
 */
export const REDACTED = '[REDACTED]';

/** Lines shorter than this are not masked on their own: "-----END" is not a secret. */
const MIN_LINE_CHARS = 16;

export class Redactor {
  private readonly needles = new Set<string>();
  private sorted: string[] | undefined;

  /** Registers a secret value; empty values are ignored. */
  add(value: string | Uint8Array): void {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    if (bytes.length === 0) return;
    const text = bytes.toString('utf8');
    const forms = new Set<string>([text, text.trim()]);
    for (const variant of [bytes, Buffer.from(text.trim(), 'utf8')]) {
      const base64 = variant.toString('base64');
      forms.add(base64);
      forms.add(base64.replace(/=+$/, ''));
      forms.add(variant.toString('base64url'));
    }
    for (const form of [...forms]) {
      forms.add(JSON.stringify(form).slice(1, -1));
      forms.add(encodeURIComponent(form));
    }
    for (const line of text.split(/\r?\n/)) {
      if (line.trim().length >= MIN_LINE_CHARS) forms.add(line.trim());
    }
    for (const form of forms) {
      if (form.length === 0 || this.needles.has(form)) continue;
      this.needles.add(form);
      this.sorted = undefined;
    }
  }

  /** How many distinct strings are masked (for tests and the log). */
  get size(): number {
    return this.needles.size;
  }

  /**
   * Never throws: a redactor that failed would let the caller print the
   * unmasked text, so a failure withholds the whole message instead. Plain
   * string search, not one big RegExp: a 1 MiB secret would exceed the
   * regex engine's limits, and its error would quote the pattern.
   */
  redact(text: string): string {
    try {
      if (this.needles.size === 0) return text;
      // Longest first, so a secret containing another secret is masked whole.
      this.sorted ??= [...this.needles].sort((a, b) => b.length - a.length);
      let out = text;
      for (const needle of this.sorted) {
        if (out.includes(needle)) out = out.split(needle).join(REDACTED);
      }
      return out;
    } catch {
      return '[message withheld: it could not be redacted]';
    }
  }

  /** A function form, for `runStep(..., { redact })`. */
  readonly redactText = (text: string): string => this.redact(text);
}
