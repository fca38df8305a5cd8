import { shown } from '../errors';
import { scrubText } from '../storable';

/**
 * A value another producer put in a message, as a refusal quotes it: short, and text Postgres can
 * hold. A refusal's reason is copied to the log, the task's row (twice), the dead letter, the
 * 'task-rejected' event and the taskRejected signal, so a megabyte-long header quoted whole was a
 * megabyte in each; and a quoted NUL or lone surrogate made the row's write fail and be replaced.
 */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = shown(value); // String() throws for a prototype-less object
  }
  // JSON escapes NUL and lone surrogates; the cut can split a pair, and the reason is stored on the row.
  return scrubText(text.length > 60 ? text.slice(0, 57) + '…' : text);
}
