import { ConfigError, MessageDecodeError } from '../../errors';
import { showValue } from '../shown-value';
import { AUTH_CONTENT_TYPE, registeredAuth, type AuthSerializer } from './auth';

/**
 * Task bodies in Celery's serializers and compressions, byte for byte as kombu 5 writes them:
 * json (`application/json`, utf-8) and msgpack (`application/x-msgpack`, binary: kombu's
 * `packb(use_bin_type=True)` / `unpackb(raw=False)`), optionally compressed with the method named
 * in the `compression` header. kombu registers zlib under the content type `application/x-gzip`
 * with the aliases 'zlib' and 'gzip': both names mean a zlib stream, not the gzip file format.
 */
export const SERIALIZERS = {
  json: { contentType: 'application/json', contentEncoding: 'utf-8' },
  msgpack: { contentType: 'application/x-msgpack', contentEncoding: 'binary' },
  /** Celery's signed serializer (auth.ts): json inside, signed with the app's security key. */
  auth: { contentType: AUTH_CONTENT_TYPE, contentEncoding: 'utf-8' },
} as const;
export type SerializerName = keyof typeof SERIALIZERS;

export const COMPRESSIONS = {
  zlib: 'application/x-gzip',
  gzip: 'application/x-gzip',
  brotli: 'application/x-brotli',
} as const;
export type CompressionName = keyof typeof COMPRESSIONS;

/** A decompressed body larger than this is refused: a few KiB of zlib can inflate to gigabytes. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export interface EncodedBody {
  bytes: Buffer;
  contentType: string;
  contentEncoding: string;
  /** The `compression` header, when compressed. */
  compression?: string;
}

/** `value` must already have passed assertJsonSafe: both serializers carry exactly what JSON does. */
export function encodeBody(
  value: unknown,
  serializer: SerializerName,
  compression?: CompressionName | null,
  auth?: AuthSerializer,
): EncodedBody {
  const { contentType, contentEncoding } = SERIALIZERS[serializer];
  let bytes: Buffer;
  if (serializer === 'auth') {
    if (!auth) throw new ConfigError('taskSerializer', "'auth' signs with the app's security key: set security");
    bytes = auth.wrap(Buffer.from(JSON.stringify(value), 'utf8'), SERIALIZERS.json.contentType, 'utf-8');
  } else
    bytes =
      serializer === 'json'
        ? Buffer.from(JSON.stringify(value), 'utf8')
        : Buffer.from(msgpack().encode(asJson(value), { ignoreUndefined: true }));
  if (!compression) return { bytes, contentType, contentEncoding };
  bytes = compression === 'brotli' ? zlib().brotliCompressSync(bytes) : zlib().deflateSync(bytes);
  return { bytes, contentType, contentEncoding, compression: COMPRESSIONS[compression] };
}

/** Whether Celeriac can decode bodies of this content type at all. */
export function readable(contentType: unknown): boolean {
  return Object.values(SERIALIZERS).some((s) => s.contentType === contentType);
}

/** The body of task `id` as its content type and `compression` header say. */
export function decodeBody(bytes: Buffer, contentType: unknown, compression: unknown, id: string): unknown {
  if (compression !== undefined && compression !== null) bytes = decompress(bytes, compression, id);
  if (contentType === AUTH_CONTENT_TYPE) {
    const auth = registeredAuth();
    if (!auth)
      throw new MessageDecodeError(
        `Task ${id} is signed with Celery's auth serializer: set security (certStore) and acceptContent ['auth'] to verify and run it.`,
      );
    const inner = auth.unwrap(bytes);
    if ('refused' in inner) throw new MessageDecodeError(`Task ${id} is refused: ${inner.refused}.`);
    if (inner.contentType === AUTH_CONTENT_TYPE)
      throw new MessageDecodeError(`Task ${id} is signed twice over: not a message Celery writes.`);
    return decodeBody(inner.bytes, inner.contentType, undefined, id);
  }
  if (contentType === SERIALIZERS.json.contentType) return parseJsonBody(bytes.toString('utf8'), id);
  if (contentType === SERIALIZERS.msgpack.contentType) {
    try {
      return msgpack().decode(bytes);
    } catch (err) {
      throw new MessageDecodeError(`The body of task ${id} is not valid msgpack (${(err as Error).message}).`);
    }
  }
  throw new MessageDecodeError(
    `Task ${id} uses content-type ${contentType === undefined ? 'none' : showValue(contentType)}: Celeriac reads application/json and application/x-msgpack. Set task_serializer='json' or 'msgpack' on the sender.`,
  );
}

/** A JSON body's text, parsed; MessageDecodeError when it is not JSON. */
export function parseJsonBody(text: string, id: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MessageDecodeError(`The body of task ${id} is not valid JSON.`);
  }
}

function decompress(bytes: Buffer, compression: unknown, id: string): Buffer {
  const limit = { maxOutputLength: MAX_INFLATED_BYTES };
  try {
    if (compression === COMPRESSIONS.zlib)
      // kombu's gzip is zlib; a sender that wrote the gzip file format is read too.
      return bytes[0] === 0x1f && bytes[1] === 0x8b
        ? zlib().gunzipSync(bytes, limit)
        : zlib().inflateSync(bytes, limit);
    if (compression === COMPRESSIONS.brotli) return zlib().brotliDecompressSync(bytes, limit);
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
    throw new MessageDecodeError(
      tooBig
        ? `The body of task ${id} inflates past ${MAX_INFLATED_BYTES} bytes: refused (send large data by reference).`
        : `The body of task ${id} does not decompress as ${showValue(compression)} (${(err as Error).message}).`,
    );
  }
  throw new MessageDecodeError(
    `Task ${id} is compressed with ${showValue(compression)}: Celeriac reads application/x-gzip (kombu's zlib and gzip) and application/x-brotli. Set task_compression='zlib' or none on the sender.`,
  );
}

/** What JSON would carry: Dates as ISO strings (msgpack would write its timestamp extension, which Celery's msgpack returns as an object). */
function asJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(asJson);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = asJson(v);
  return out;
}

let zlibModule: typeof import('node:zlib') | undefined;
/** Loaded on the first compressed body: an app without compression never needs it at start. */
function zlib(): typeof import('node:zlib') {
  return (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));
}

let msgpackModule: typeof import('@msgpack/msgpack') | undefined;
/** Loaded on the first msgpack body: an app on JSON (the default) never needs its 16 modules. */
function msgpack(): typeof import('@msgpack/msgpack') {
  return (msgpackModule ??= require('@msgpack/msgpack') as typeof import('@msgpack/msgpack'));
}
