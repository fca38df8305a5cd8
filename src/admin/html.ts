/**
 * The admin's only way to build HTML: a tagged template that escapes every interpolated value
 * unless it is itself the output of `html` (or `trustedHtml`). Escaping by default means a task
 * argument like `<img src=x onerror=alert(1)>` can only ever reach a page as text; a page author
 * has to opt in, by name, to put markup anywhere.
 */

export class SafeHtml {
  /** @internal use html`` or trustedHtml() */
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escape text for an element body or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Markup the caller vouches for (a constant, never request or task data). The name is the warning. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Pretty JSON for a <pre>: still escaped by html`` when interpolated. */
export function prettyJson(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2) ?? 'null';
  } catch {
    return String(value);
  }
}
