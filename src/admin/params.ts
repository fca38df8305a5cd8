/**
 * A task's parameter names, read from its function's source (TypeScript keeps the names when it
 * compiles), without the leading context: `(ctx, to, subject = 'Hi', ...rest)` → to, subject?,
 * ...rest. A hint for people starting a task by hand, never used to check anything: when the
 * source cannot be read (native or bound functions, unusual syntax) the answer is null.
 */
export function parameterNames(fn: (...a: never[]) => unknown): string[] | null {
  let src: string;
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    return null;
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) return null;
  const open = src.indexOf('(');
  const arrowBare = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrowBare) return [];
  if (open < 0) return null;
  // One pass over the source from the first '(': brackets nest, strings and comments are skipped,
  // and top-level commas split the parameters.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  let quote = '';
  let closed = false;
  for (let i = open; i < src.length && !closed; i++) {
    const c = src[i];
    if (quote) {
      cur += c;
      if (c === '\\') cur += src[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '/' && (src[i + 1] === '/' || src[i + 1] === '*')) {
      const end = src[i + 1] === '/' ? src.indexOf('\n', i) : src.indexOf('*/', i) + 1;
      i = end < 0 ? src.length : end;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    if (c === '(' || c === '[' || c === '{') {
      depth++;
      if (depth === 1) continue;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        closed = true;
        continue;
      }
    } else if (c === ',' && depth === 1) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (!closed) return null;
  if (cur.trim()) parts.push(cur);
  const names = parts.map((p) => {
    const t = p.trim();
    const rest = t.startsWith('...');
    const name = t
      .replace(/^\.\.\./, '')
      .split('=')[0]
      .trim();
    const simple = /^[A-Za-z_$][\w$]*$/.test(name) ? name : '{…}';
    return rest ? `...${simple}` : t.includes('=') ? `${simple}?` : simple;
  });
  return names.slice(1);
}
