/**
 * HTML that shows every name as written: one escape for text nodes and quoted attributes, and an `html` template tag
 * that escapes whatever it interpolates (a step called `<script>` shows as those characters). The status page and the
 * HTML report both build their markup with it. Pure.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for an HTML text node or a quoted attribute value. Quotes are escaped too, so the same
 * function is safe inside `href="..."`.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Markup built with {@link html}: interpolated into another `html` as is. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/**
 * Template tag that escapes every interpolated value except `SafeHtml` (nested `html` results). Arrays are
 * joined (each item handled the same way); `null`, `undefined` and `false` render nothing, so optional
 * parts can be written as `${cond && html`...`}`.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += fragment(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

function fragment(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(fragment).join('');
  return escapeHtml(String(value));
}
