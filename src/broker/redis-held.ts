/** The handle of a message a blocking fetch moved: it is held in the processing list, let go by LREM. */
export const IN_LIST = '';

/**
 * A held message: its raw envelope alone when it is held under the key it is filed by (its tag:
 * nearly every message), else the raw and its handle. No object for the common one: one was kept
 * for every message a worker held (issue 21).
 */
type Held = string | { raw: string; handle: string };

const rawOf = (h: Held): string => (typeof h === 'string' ? h : h.raw);
const handleOf = (h: Held, key: string): string => (typeof h === 'string' ? key : h.handle);

/**
 * What each consumer of this connection holds, raw envelope → handle (the field of its held hash,
 * the delivery tag), so that an ack sends the ~36-byte tag instead of the ~800-byte message. The
 * worker names held messages by their raw envelope (broker.ts, guarantee 9), so the transport
 * keeps the map, as the AMQP consumer keeps raw → delivery tag. A raw with no handle here (held
 * before this process knew it: a stray, or one another connection fetched) is let go by value
 * (lua/release-2.lua).
 *
 * Entries are filed under the envelope's delivery tag, not the raw envelope: hashing the ~840-byte
 * raw for every fetched message was ~2 µs a task of the worker's CPU (issue 21). The raw is kept
 * beside the handle and compared on take (the very same string in the worker's path, so a pointer
 * comparison), so a tag two envelopes share, or a tag read differently, can only miss, never
 * name the wrong message; a miss goes by value, as a raw with no handle always did.
 */
export class HeldHandles {
  /** Per consumer, tag (or the raw, for an envelope without one) → what is held under it, in fetch order. */
  private readonly byConsumer = new Map<string, Map<string, Held | Held[]>>();

  put(consumer: string, raw: string, handle: string): void {
    let held = this.byConsumer.get(consumer);
    if (!held) this.byConsumer.set(consumer, (held = new Map()));
    // The fetch script holds a message under its tag when it can, and under a handle it makes
    // with a '#' when the tag is missing or taken: a handle without '#' is the tag itself.
    const key = handle !== IN_LIST && !handle.includes('#') ? handle : keyOf(raw);
    const entry: Held = key === handle ? raw : { raw, handle };
    const had = held.get(key);
    if (had === undefined) held.set(key, entry);
    else if (Array.isArray(had)) had.push(entry);
    else held.set(key, [had, entry]);
  }

  /**
   * Removes and returns the handle of `raw`; put it back if the command letting go of it fails.
   * `tag`: the envelope's delivery tag if the caller decoded it (saves finding it in the raw).
   */
  take(consumer: string, raw: string, tag?: string): string | undefined {
    const held = this.byConsumer.get(consumer);
    if (!held) return undefined;
    if (tag !== undefined) {
      const handle = takeFrom(held, tag, raw);
      if (handle !== undefined) return handle;
    }
    const key = keyOf(raw);
    return key === tag ? undefined : takeFrom(held, key, raw);
  }

  forget(consumer: string): void {
    this.byConsumer.delete(consumer);
  }
}

function takeFrom(held: Map<string, Held | Held[]>, key: string, raw: string): string | undefined {
  const had = held.get(key);
  if (had === undefined) return undefined;
  if (!Array.isArray(had)) {
    if (rawOf(had) !== raw) return undefined;
    held.delete(key);
    return handleOf(had, key);
  }
  const i = had.findIndex((h) => rawOf(h) === raw);
  if (i < 0) return undefined;
  const [taken] = had.splice(i, 1);
  if (had.length === 0) held.delete(key);
  else if (had.length === 1) held.set(key, had[0]);
  return handleOf(taken, key);
}

/** The tag the fetch script reads (its last "delivery_tag" string value), or the raw itself when it has none. */
function keyOf(raw: string): string {
  // Most envelopes: the last occurrence is the tag (properties come last); the full pattern,
  // which backtracks to an earlier occurrence as Lua's greedy match does, only when it is not.
  const at = raw.lastIndexOf('"delivery_tag"');
  if (at < 0) return raw;
  TAG_AT.lastIndex = at;
  const quick = TAG_AT.exec(raw);
  if (quick) return quick[1];
  return TAG_LAST.exec(raw)?.[1] ?? raw;
}

/** Lua's %s is space, \t, \n, \v, \f, \r; JSON puts at most those between a key and its value. */
const TAG_AT = /"delivery_tag"[ \t\n\v\f\r]*:[ \t\n\v\f\r]*"([^"]+)"/y;
const TAG_LAST = /^[\s\S]*"delivery_tag"[ \t\n\v\f\r]*:[ \t\n\v\f\r]*"([^"]+)"/;
