/**
 * What a task's row in Postgres can hold, checked where values enter (send, message intake, a
 * task's return value) so that none reaches a result batch and fails it: Postgres text and jsonb
 * cannot hold U+0000, jsonb refuses a lone UTF-16 surrogate (JavaScript and Python strings can
 * hold both), and the id and name columns are varchar(255) (migrations/0001-task-results.ts).
 */

/** Lengths of the result table's varchar columns, by the field that fills each. */
export const COLUMN_LIMITS = {
  taskId: 255,
  taskName: 255,
  periodicTaskName: 255,
  parentId: 255,
  rootId: 255,
  groupId: 255,
  queue: 200,
  worker: 100,
} as const;

const MIN_DATE_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_DATE_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Why Postgres cannot hold this string, or null when it can. */
export function textProblem(s: string): string | null {
  // The fast path for nearly every string: one scan for NUL, one for well-formedness.
  const nul = s.indexOf('\u0000');
  if (nul >= 0) return `contains U+0000 (NUL) at index ${nul}, which Postgres text and jsonb cannot hold`;
  if ((s as { isWellFormed?: () => boolean }).isWellFormed?.() !== false) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return `contains a lone surrogate U+${c.toString(16).toUpperCase()} at index ${i}, which is not Unicode text and which Postgres jsonb cannot hold`;
  }
  return null;
}

/** A key as it appears in a path: `.name` when plain, `["…"]` (JSON-escaped) otherwise. */
export function pathKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The first place in a JSON value whose text Postgres cannot hold, as `path problem`, or null.
 * Iterative, so a deeply nested value from another producer cannot overflow the stack here.
 */
export function findUnstorable(value: unknown, path: string): string | null {
  // Nearly every value is storable: a walk that builds no paths clears it, and only a value it
  // does not clear (or one nested past its depth) is walked again, spelling out the path. The
  // walk below built a path string and a tuple for every element of every task's args (issue 21).
  if (storableShallow(value, 0)) return null;
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0) {
    const [v, p] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return `${p} ${problem}`;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${p}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, item] = entries[i];
        const keyProblem = textProblem(k);
        if (keyProblem) return `${p} has a key that ${keyProblem}`;
        stack.push([item, p + pathKey(k)]);
      }
    }
  }
  return null;
}

/** Deepest nesting storableShallow recurses into before it leaves the value to the iterative walk. */
const SHALLOW_DEPTH = 32;

/** True when every string and key in `value` is text Postgres can hold; false when one is not, or it nests too deep to tell. */
function storableShallow(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return textProblem(value) === null;
  if (value === null || typeof value !== 'object') return true;
  if (depth >= SHALLOW_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!storableShallow(value[i], depth + 1)) return false;
    return true;
  }
  for (const k in value) {
    if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
    if (textProblem(k) !== null || !storableShallow((value as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/** Why a string cannot fill its column (too long, or text Postgres cannot hold), or null. */
export function columnProblem(field: keyof typeof COLUMN_LIMITS, value: string): string | null {
  const limit = COLUMN_LIMITS[field];
  if (value.length > limit) return `is ${value.length} characters long, over the ${limit} its column holds`;
  return textProblem(value);
}

/** Replace what Postgres cannot hold with U+FFFD, for text that is diagnostics, not data (error messages, tracebacks). */
export function scrubText(s: string): string {
  if (textProblem(s) === null) return s;
  return (
    s
      // eslint-disable-next-line no-control-regex -- U+0000 is exactly what Postgres text cannot hold
      .replace(/\u0000/g, '\ufffd')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
  );
}

/** Postgres timestamptz holds 4713 BC to 294276 AD; toISOString writes years past 9999 in a form Postgres may reject, so stay within 0001–9999. */
export function storableDate(d: Date | null | undefined): boolean {
  return !d || storableTime(d.getTime());
}

/** storableDate of a time value (ms since the epoch, NaN for none): a check that needs no Date. */
export function storableTime(t: number): boolean {
  return Number.isFinite(t) && t >= MIN_DATE_MS && t <= MAX_DATE_MS;
}

/**
 * Whether a year, month and day name a real day from year 1 on. Date takes '2026-02-30' as
 * 2 March (a different instant than the one asked for) and year 0, which Postgres refuses.
 */
export function onCalendar(year: number, month: number, day: number): boolean {
  return year >= 1 && realDay(year, month, day);
}

/** Whether the month has that day, in the proleptic Gregorian calendar of any year. */
export function realDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}
