import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EncodeError, MessageDecodeError, NotStorableError } from '../errors';
import { pathKey, textProblem } from '../storable';
import { showValue } from './shown-value';
import { checkHeaders, MessageFieldError, type CheckedHeaders, type TaskHeaderFields } from './headers';
import type { MessageSigner } from './signing';
import type { AuthSerializer } from './serializers/auth';
import {
  decodeBody,
  encodeBody,
  parseJsonBody,
  readable,
  SERIALIZERS,
  type CompressionName,
  type SerializerName,
} from './serializers/codec';

/**
 * Celery message protocol v2 with Celery's serializers (serializers/), in kombu's Redis envelope
 * (shared/reference/celery.md §5.1–5.2). What we write is what Celery 5 writes, field for field,
 * so a Python worker runs our tasks and we run theirs.
 */

export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
}

export interface Embed {
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

export interface OutgoingTask extends TaskHeaderFields {
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue: string;
  /** null: the message is its own root. */
  rootId: string | null;
  ignoreResult: boolean;
  headers: Record<string, unknown>;
  embed?: Partial<Embed>;
  /** Default 'json'. */
  serializer?: SerializerName;
  compression?: CompressionName | null;
  /** The app's signer, for the 'auth' serializer. */
  auth?: AuthSerializer;
}

/** A message as a worker sees it, decoded from the raw envelope kept for acking; its headers checked (headers.ts). */
export interface TaskMessage extends CheckedHeaders {
  raw: string;
  deliveryTag: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: Embed;
  queue: string;
  ignoreResult: boolean;
  /** Every header, including user headers and ones we do not interpret, for re-publishing on retry. */
  headers: Record<string, unknown>;
}

const origin = `${process.pid}@${hostname()}`;
/** Frozen: shared by every decoded message without a work-flow (readEmbed), which nothing writes to. */
const emptyEmbed: Embed = Object.freeze({ callbacks: null, errbacks: null, chain: null, chord: null });

export function encodeTask(t: OutgoingTask, signer?: MessageSigner): string {
  assertJsonSafe(t.args, 'args', true);
  assertJsonSafe(t.kwargs, 'kwargs', true);
  assertJsonSafe(t.headers, 'headers');
  const body = encodeBody(
    [t.args, t.kwargs, t.embed ? { ...emptyEmbed, ...t.embed } : emptyEmbed],
    t.serializer ?? 'json',
    t.compression,
    t.auth,
  );
  const headers: Record<string, unknown> = {
    lang: 'js',
    task: t.task,
    id: t.id,
    shadow: null,
    eta: t.eta ? t.eta.toISOString() : null,
    expires: t.expires ? t.expires.toISOString() : null,
    group: t.groupId,
    group_index: t.groupIndex,
    retries: t.retries,
    timelimit: [t.timeLimit, t.softTimeLimit],
    root_id: t.rootId ?? t.id,
    parent_id: t.parentId,
    argsrepr: repr(t.args),
    kwargsrepr: repr(t.kwargs),
    origin,
    ignore_result: t.ignoreResult,
    ...t.headers,
  };
  if (body.compression) headers.compression = body.compression;
  const properties: Record<string, unknown> = {
    correlation_id: t.id,
    reply_to: replyTo,
    delivery_mode: 2,
    delivery_info: { exchange: '', routing_key: t.queue },
    priority: t.priority,
    body_encoding: 'base64',
    delivery_tag: randomUUID(),
  };
  if (t.expires) properties.expiration = String(Math.max(0, t.expires.getTime() - Date.now()));
  const encodedBody = body.bytes.toString('base64');
  signer?.sign(headers, encodedBody);
  return JSON.stringify({
    body: encodedBody,
    'content-encoding': body.contentEncoding,
    'content-type': body.contentType,
    headers,
    properties,
  });
}

/** One client oid per process, as kombu's reply_to. */
const replyTo = randomUUID();

/**
 * `accept`: the content types the caller runs (the app's acceptContent); a message of another is
 * refused before its body is decoded, as Celery refuses untrusted content. Without it, every
 * content type Celeriac reads is decoded.
 */
export function decodeTask(raw: string, accept?: ReadonlySet<string>): TaskMessage {
  let envelope: any;
  try {
    envelope = JSON.parse(raw);
  } catch (err) {
    throw new MessageDecodeError(`The message is not JSON (${(err as Error).message}); expected a kombu envelope.`);
  }
  if (!envelope || typeof envelope !== 'object')
    throw new MessageDecodeError('The message is not a kombu envelope object.');
  const headers = envelope.headers;
  const properties = envelope.properties ?? {};
  if (!headers || typeof headers !== 'object') {
    throw new MessageDecodeError(
      'The message has no headers: only Celery protocol v2 messages are accepted (protocol 1 is not).',
    );
  }
  // The message is built once, its placeholders filled as each part is read and checked: the
  // checked headers used to be an object of their own, copied out and dropped (issue 21).
  const msg: TaskMessage = {
    raw,
    deliveryTag: '',
    id: '',
    task: '',
    priority: 0,
    eta: null,
    expires: null,
    retries: 0,
    timeLimit: null,
    softTimeLimit: null,
    parentId: null,
    groupId: null,
    groupIndex: null,
    rootId: '',
    origin: null,
    args: noArgs,
    kwargs: noKwargs,
    embed: emptyEmbed,
    queue: '',
    ignoreResult: false,
    headers,
  };
  checkHeaders(headers, properties, msg);
  const { id, task } = msg;
  const contentType = envelope['content-type'];
  // One Celeriac cannot read at all gets decodeBody's reason, the same with or without `accept`.
  if (accept && readable(contentType) && !accept.has(contentType))
    throw new MessageFieldError(
      `Task ${id} uses content-type ${showValue(contentType)}, which this worker does not accept (acceptContent: ${[...accept].join(', ')}). Add it to acceptContent, or send with a serializer the worker accepts.`,
      id,
      task,
    );
  let body: any;
  try {
    body =
      properties.body_encoding === 'base64' &&
      contentType === SERIALIZERS.json.contentType &&
      (headers.compression === undefined || headers.compression === null)
        ? parseJsonBody(base64Text(String(envelope.body)), id)
        : decodeBody(bodyBytes(envelope.body, properties.body_encoding), contentType, headers.compression, id);
  } catch (err) {
    throw err instanceof MessageDecodeError ? new MessageFieldError(err.message, id, task) : err;
  }
  if (!Array.isArray(body) || !Array.isArray(body[0]) || !isPlainObject(body[1])) {
    throw new MessageFieldError(
      `The body of task ${id} is not [args, kwargs, embed] (a list, an object, an object).`,
      id,
      task,
    );
  }
  msg.embed = readEmbed(body[2], id, task);
  msg.deliveryTag = String(properties.delivery_tag ?? id);
  msg.args = body[0];
  msg.kwargs = body[1] as Record<string, unknown>;
  msg.queue = String(properties.delivery_info?.routing_key ?? '');
  msg.ignoreResult = headers.ignore_result === true;
  return msg;
}

/** Placeholders of a message being decoded, never returned: decodeTask replaces both or throws. */
const noArgs: unknown[] = [];
const noKwargs: Record<string, unknown> = {};

/** The envelope's body as bytes, as its body_encoding says. */
function bodyBytes(body: unknown, encoding: unknown): Buffer {
  return encoding === 'base64'
    ? Buffer.from(String(body), 'base64')
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null), 'utf8');
}

/**
 * A base64 body as the text Buffer.from(b64, 'base64').toString('utf8') gives, without the
 * Buffer: atob (native in Node 20) when the body is strict base64 of ASCII text, which is every
 * JSON body Celery or Celeriac writes of ASCII data; anything else (loose base64 that atob refuses,
 * UTF-8 beyond ASCII) goes through the Buffer, so the text is always the same.
 */
export function base64Text(b64: string): string {
  let text: string;
  try {
    text = atob(b64);
  } catch {
    return Buffer.from(b64, 'base64').toString('utf8');
  }
  return NOT_ASCII.test(text) ? Buffer.from(b64, 'base64').toString('utf8') : text;
}

// eslint-disable-next-line no-control-regex -- any byte past ASCII: UTF-8 the latin1 text of atob would misread
const NOT_ASCII = /[^\x00-\x7f]/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The work-flow a message carries (callbacks, errbacks, the chain's rest, a chord's body), in the
 * shape the follow-ups read: a wrong shape from another producer would fail after the task ran,
 * on every redelivery, so it is refused before. Module functions given (id, task), not closures:
 * this runs for every message a worker takes.
 */
function readEmbed(value: unknown, id: string, task: string): Embed {
  if (value === null || value === undefined) return emptyEmbed;
  if (!isPlainObject(value)) throw badEmbed('expected an object or null', id, task);
  const callbacks = signatures(value, 'callbacks', id, task);
  const errbacks = signatures(value, 'errbacks', id, task);
  const chain = signatures(value, 'chain', id, task);
  const chord = value.chord ?? null;
  if (chord !== null && !isSignature(chord)) throw badEmbed(`'chord' must be a signature or null`, id, task);
  // Most messages carry no work-flow: they share one embed instead of an object each.
  if (callbacks === null && errbacks === null && chain === null && chord === null) return emptyEmbed;
  return { callbacks, errbacks, chain, chord };
}

function signatures(
  embed: Record<string, unknown>,
  key: 'callbacks' | 'errbacks' | 'chain',
  id: string,
  task: string,
): Signature[] | null {
  const list = embed[key];
  if (list === null || list === undefined) return null;
  if (!Array.isArray(list) || !list.every(isSignature))
    throw badEmbed(`'${key}' must be a list of signatures or null`, id, task);
  return list;
}

function badEmbed(why: string, id: string, task: string): MessageFieldError {
  return new MessageFieldError(`The body of task ${id} has a bad embed: ${why}.`, id, task);
}

/** A signature as Celery serializes one: at least a task name (its parts default as Celery's do). */
function isSignature(v: unknown): v is Signature {
  return isPlainObject(v) && typeof v.task === 'string';
}

/** Python-style repr for argsrepr/kwargsrepr, which monitors display; capped like Celery's saferepr. */
function repr(value: unknown[] | Record<string, unknown>): string {
  if (Array.isArray(value) && value.length === 0) return '()';
  const text = Array.isArray(value)
    ? `(${value.map((v) => JSON.stringify(v)).join(', ')}${value.length === 1 ? ',' : ''})`
    : JSON.stringify(value);
  return text.length > 1024 ? text.slice(0, 1021) + '...' : text;
}

/** Deepest nesting a sent value may have (arrays and objects within each other). */
export const MAX_JSON_DEPTH = 500;

/**
 * JSON.stringify silently turns functions into null, drops undefined keys, writes NaN as null and
 * throws on BigInt: each would run the task with other arguments than the caller passed. So refuse.
 * With `storable`, also refuse text the result table cannot hold (src/storable.ts): args, kwargs
 * and return values are written to a task's row, and one such value used to fail every batch.
 */
export function assertJsonSafe(value: unknown, path: string, storable = false): void {
  // A null, boolean or finite number (most tasks return null) needs no walk: checkJson's key
  // stack and cycle set were garbage for every finished task.
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return;
  checkJson(value, path, [], storable, new Set());
}

/**
 * The walk behind assertJsonSafe. The keys down to `value` are kept on a stack and spelled out as a
 * path only when something is refused: building the path string at every key was most of the
 * walk's cost on the send path (a regex and a concatenation per key).
 */
function checkJson(
  value: unknown,
  root: string,
  keys: (string | number)[],
  storable: boolean,
  seen: Set<object>,
): void {
  if (seen.size > MAX_JSON_DEPTH)
    throw new EncodeError(
      `${pathOf(root, keys).slice(0, 200)}… is nested more than ${MAX_JSON_DEPTH} levels deep: Celery's Python workers cannot decode past about 990 levels and V8 cannot encode much deeper. Flatten the value.`,
    );
  switch (typeof value) {
    case 'string':
      if (storable) {
        const problem = textProblem(value);
        if (problem) throw notStorable(`${pathOf(root, keys)} ${problem}`);
      }
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value))
        throw new EncodeError(
          `${pathOf(root, keys)} is ${value}, which JSON cannot carry: pass a finite number or null.`,
        );
      return;
    case 'undefined':
      throw new EncodeError(
        `${pathOf(root, keys)} is undefined, which JSON cannot carry: pass null or leave the key out.`,
      );
    case 'bigint':
      throw new EncodeError(`${pathOf(root, keys)} is a BigInt, which JSON cannot carry: pass it as a string.`);
    case 'function':
    case 'symbol':
      throw new EncodeError(
        `${pathOf(root, keys)} is a ${typeof value}, which JSON cannot carry: pass plain data (strings, numbers, arrays, objects).`,
      );
  }
  if (value === null) return;
  const obj = value as object;
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) throw new EncodeError(`${pathOf(root, keys)} is an invalid Date.`);
    return; // sent as an ISO string, as Celery's JSON encoder does
  }
  if (seen.has(obj))
    throw new EncodeError(`${pathOf(root, keys)} refers back to itself (a cycle): JSON cannot carry it.`);
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      keys.push(i);
      checkJson(obj[i], root, keys, storable, seen);
      keys.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = obj.constructor?.name ?? 'object';
      throw new EncodeError(
        `${pathOf(root, keys)} is a ${name}, which JSON cannot carry faithfully: convert it to a plain object or array first.`,
      );
    }
    for (const k in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const v = (obj as Record<string, unknown>)[k];
      if (v === undefined) continue; // dropped by JSON, as the caller would expect of an optional key
      const problem = storable ? textProblem(k) : null;
      if (problem) throw notStorable(`${pathOf(root, keys)} has a key that ${problem}`);
      keys.push(k);
      checkJson(v, root, keys, storable, seen);
      keys.pop();
    }
  }
  seen.delete(obj);
}

function pathOf(root: string, keys: (string | number)[]): string {
  return root + keys.map((k) => (typeof k === 'number' ? `[${k}]` : pathKey(k))).join('');
}

/**
 * Queue and priority of a raw envelope, as kombu records them in delivery_info: where a transport
 * puts a message back (requeue, promotion of a delayed one). An envelope that does not parse goes
 * to 'celery' at priority 0, so giving it back never fails; the worker dead-letters it on intake.
 */
export function routeOf(raw: string): { queue: string; priority: number } {
  try {
    const p = JSON.parse(raw).properties ?? {};
    return { queue: String(p.delivery_info?.routing_key ?? 'celery'), priority: Number(p.priority ?? 0) };
  } catch {
    return { queue: 'celery', priority: 0 };
  }
}

function notStorable(what: string): NotStorableError {
  return new NotStorableError(
    `${what}: remove it, or encode the value (base64, hex) so that it is text Postgres can store.`,
  );
}
