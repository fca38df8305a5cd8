/**
 * What Postgres can store, where JavaScript values reach further. Checked where input enters
 * (the admin's bodies, PeriodicTaskService), so a value the database would refuse is a field
 * error naming the limit, never a failed INSERT after part of a request was written.
 *
 * - `integer` is 32-bit; a JS number is not.
 * - `timestamptz` holds 4714-11-24 BC to 294276 AD, but instants reach it as ISO text (bulk
 *   statements pass rows as JSON), and Postgres refuses the expanded years toISOString writes
 *   outside 0000–9999 (`+065799-06-28T…`, `-000100-…`: "time zone displacement out of range").
 *   Python's datetime, which a django-celery-beat sharing the tables reads them with, stops at
 *   the same bounds. So instants a client gives are 0001-01-01 to 9999-12-31, UTC.
 * - `text` and `jsonb` cannot hold U+0000; `jsonb` refuses a lone UTF-16 surrogate (`\ud800`),
 *   and `text` would silently get U+FFFD for one, since UTF-8 cannot encode it.
 * - Nesting: Postgres parses jsonb recursively up to its stack limit, and so would any
 *   recursive check here; the walk below is iterative and stops at a stated depth.
 */

export const INT32_MAX = 2_147_483_647;

/** The first and last instants accepted from clients (see above): 0001-01-01 and 9999-12-31, UTC. */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** The last instant a Date holds (275760-09-13): where computed runs stop. */
export const MAX_DATE_MS = 8.64e15;

/** Deepest nesting accepted in a JSON value (args, kwargs, headers, request bodies). */
export const MAX_JSON_DEPTH = 64;

/** Keys that reach an object's prototype when copied with `Object.assign` or `obj[key] = …`. */
export const HOSTILE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why Postgres cannot store this text as given, or undefined. */
export function textProblem(s: string): string | undefined {
  const nul = s.indexOf('\u0000');
  if (nul >= 0) {
    return `contains U+0000 (NUL) at character ${nul}, which Postgres text and jsonb cannot hold: remove it, or send binary data encoded (e.g. base64)`;
  }
  const lone = loneSurrogateAt(s);
  if (lone >= 0) {
    return `contains a lone UTF-16 surrogate (\\u${s.charCodeAt(lone).toString(16)}) at character ${lone}, which is not Unicode text: send whole characters`;
  }
  return undefined;
}

/** Index of the first surrogate code unit without its partner, or -1. */
export function loneSurrogateAt(s: string): number {
  // The well-formed check is cheap and native; the loop runs only for bad strings.
  if ((s as { isWellFormed?: () => boolean }).isWellFormed?.() ?? !/[\ud800-\udfff]/.test(s)) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** Why a timestamptz column cannot hold this instant, or undefined. */
export function instantProblem(d: Date): string | undefined {
  const ms = d.getTime();
  if (Number.isNaN(ms)) return 'is not a valid instant';
  if (ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS)
    return `${d.toISOString()} is outside 0001-01-01 to 9999-12-31 (UTC), the instants Postgres reads back and Python's datetime holds: use a date in that range`;
  return undefined;
}

export interface JsonProblem {
  /** Where, as `root[2].key` (root is the name the caller gave). */
  path: string;
  /** The path split into its keys and indexes. */
  segments: (string | number)[];
  message: string;
}

export interface JsonCheckOptions {
  maxDepth?: number;
  /** Refuse `__proto__`, `constructor` and `prototype` keys (default true). */
  refuseHostileKeys?: boolean;
  /** Stop after this many problems (default 1). */
  limit?: number;
}

/**
 * Problems that keep `value` from being stored as jsonb and read back equal: anything that is
 * not plain JSON (undefined, functions, NaN, Dates, class instances, cycles), text Postgres
 * cannot hold, nesting past `maxDepth`, and hostile keys. Iterative, so a body nested 100,000
 * deep costs a loop and no stack.
 */
export function jsonProblems(value: unknown, root: string, options: JsonCheckOptions = {}): JsonProblem[] {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const refuseHostile = options.refuseHostileKeys ?? true;
  const limit = options.limit ?? 1;
  const problems: JsonProblem[] = [];
  // The objects on the path to the current one: a repeat means a cycle, a shared subtree does not.
  const onPath = new Set<object>();
  type Frame = { value: unknown; segments: (string | number)[] } | { leave: object };
  const stack: Frame[] = [{ value, segments: [] }];
  const report = (segments: (string | number)[], message: string) =>
    problems.push({ path: formatPath(root, segments), segments, message });
  while (stack.length > 0 && problems.length < limit) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      onPath.delete(frame.leave);
      continue;
    }
    const { value: v, segments } = frame;
    switch (typeof v) {
      case 'string': {
        const p = textProblem(v);
        if (p) report(segments, p);
        continue;
      }
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(v)) report(segments, `is ${v}, which JSON cannot carry: use a finite number or null`);
        continue;
      case 'object':
        break;
      default:
        report(segments, `is ${typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`}, which JSON cannot carry`);
        continue;
    }
    if (v === null) continue;
    const obj = v as object;
    if (segments.length >= maxDepth) {
      report(segments, `is nested more than ${maxDepth} levels deep: flatten it`);
      continue;
    }
    if (onPath.has(obj)) {
      report(segments, 'refers back to itself (a cycle), which JSON cannot carry');
      continue;
    }
    if (!Array.isArray(obj)) {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        report(segments, `is a ${name}, not plain JSON: convert it to a string, number, array or plain object`);
        continue;
      }
    }
    onPath.add(obj);
    stack.push({ leave: obj });
    if (Array.isArray(obj)) {
      for (let i = obj.length - 1; i >= 0; i--) stack.push({ value: obj[i], segments: [...segments, i] });
      continue;
    }
    const keys = Object.keys(obj);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const keyProblem = textProblem(key);
      if (keyProblem) report([...segments, key], `has a key that ${keyProblem}`);
      else if (refuseHostile && HOSTILE_KEYS.has(key))
        report(
          [...segments, key],
          `uses the key '${key}', which is refused: it reaches an object's prototype when copied; rename it`,
        );
      else stack.push({ value: (obj as Record<string, unknown>)[key], segments: [...segments, key] });
    }
  }
  return problems.slice(0, limit);
}

/** `root[2].key`, or `root["odd key"]` where a key is not an identifier. */
export function formatPath(root: string, segments: (string | number)[]): string {
  let out = root;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
