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
  private pattern: RegExp | undefined;

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
    let changed = false;
    for (const form of forms) {
      if (form.length === 0 || this.needles.has(form)) continue;
      this.needles.add(form);
      changed = true;
    }
    if (changed) this.pattern = undefined;
  }

  /** How many distinct strings are masked (for tests and the log). */
  get size(): number {
    return this.needles.size;
  }

  redact(text: string): string {
    if (this.needles.size === 0) return text;
    this.pattern ??= this.compile();
    return text.replace(this.pattern, REDACTED);
  }

  /** A function form, for `runStep(..., { redact })`. */
  readonly redactText = (text: string): string => this.redact(text);

  private compile(): RegExp {
    // Longest first, so a secret containing another secret is masked whole.
    const sorted = [...this.needles].sort((a, b) => b.length - a.length);
    return new RegExp(sorted.map((needle) => needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }
}
