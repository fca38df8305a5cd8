/**
 * A hot statement as beat runs it: its text, the name it is prepared under, and how a typed
 * input becomes its positional parameters.
 *
 * Why this shape: the claim alone takes thirteen parameters, and a call site that passes
 * `$1 … $13` by position breaks silently when one moves. Here the `$n` order lives in one place,
 * next to the SQL that reads it, and callers pass objects with named fields. The name makes
 * beat's pool prepare each statement once per connection (Postgres parses and plans it once; see
 * ../db.ts for why every execution is still planned with its own array lengths).
 */
export interface Statement<In, Row = never> {
  readonly name: string;
  readonly text: string;
  params(input: In): unknown[];
  /** Type only: the shape of one returned row. */
  readonly _row?: Row;
}

/**
 * `name` is short and unique within beat; the schema joins it because one process may run
 * beats for several schemas, and a prepared name must always mean the same text.
 */
export function statement<In, Row = never>(
  name: string,
  schema: string,
  text: string,
  params: (input: In) => unknown[],
): Statement<In, Row> {
  return { name: `celeriac_beat_${name}_${schema}`, text, params };
}

/** Statements that take no parameters. */
export const noParams = (): unknown[] => [];
