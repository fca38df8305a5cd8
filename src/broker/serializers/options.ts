import { ConfigError, shown } from '../../errors';
import { COMPRESSIONS, SERIALIZERS, type CompressionName, type SerializerName } from './codec';
import { AuthSerializer, registerAuth, type SecurityOptions } from './auth';

/** The serializer settings of an app (Celery's task_serializer, accept_content, task_compression). */
export interface SerialOptions {
  /** How sent task bodies are encoded: 'json' (default), 'msgpack', or 'auth' (Celery's X.509-signed serializer; needs security). */
  taskSerializer?: SerializerName;
  /** Content a worker runs (names or content types); a message of another is dead-lettered with the reason. Default ['json'], as Celery. */
  acceptContent?: string[];
  /** Compress sent task bodies: 'zlib' (= Celery's 'gzip'), 'brotli', or null (default). */
  taskCompression?: CompressionName | null;
  /** Celery's security_key, security_certificate, security_cert_store and security_digest, for the 'auth' serializer. */
  security?: SecurityOptions;
}

export interface ResolvedSerialOptions {
  taskSerializer: SerializerName;
  /** Content types, not names. */
  acceptContent: ReadonlySet<string>;
  taskCompression: CompressionName | null;
  security: AuthSerializer | undefined;
}

const names = Object.keys(SERIALIZERS)
  .map((n) => `'${n}'`)
  .join(', ');

export function checkSerializer(key: string, value: unknown): SerializerName {
  if (typeof value === 'string' && Object.hasOwn(SERIALIZERS, value)) return value as SerializerName;
  throw new ConfigError(key, `${shown(value)} is not a serializer Celeriac has: use ${names}`);
}

export function checkCompression(key: string, value: unknown): CompressionName | null {
  if (value === null) return null;
  if (typeof value === 'string' && Object.hasOwn(COMPRESSIONS, value)) return value as CompressionName;
  throw new ConfigError(
    key,
    `${shown(value)} is not a compression Celeriac has: use 'zlib' (kombu's 'gzip' is the same), 'brotli' or null`,
  );
}

/** The content type a name in acceptContent stands for ('json', 'msgpack' or a content type). */
function contentType(key: string, entry: unknown): string {
  if (typeof entry === 'string') {
    if (Object.hasOwn(SERIALIZERS, entry)) return SERIALIZERS[entry as SerializerName].contentType;
    const known = Object.values(SERIALIZERS).find((s) => s.contentType === entry);
    if (known) return known.contentType;
  }
  throw new ConfigError(
    key,
    `${shown(entry)} cannot be accepted: list ${names} or their content types (pickle and yaml are not supported)`,
  );
}

export function resolveSerialOptions(options: SerialOptions): ResolvedSerialOptions {
  const taskSerializer =
    options.taskSerializer === undefined ? 'json' : checkSerializer('taskSerializer', options.taskSerializer);
  const taskCompression =
    options.taskCompression === undefined ? null : checkCompression('taskCompression', options.taskCompression);
  const accept = options.acceptContent ?? ['json'];
  if (!Array.isArray(accept) || accept.length === 0)
    throw new ConfigError(
      'acceptContent',
      `expected a non-empty list such as ['json', 'msgpack'], got ${shown(accept)}`,
    );
  const acceptContent = new Set(accept.map((entry, i) => contentType(`acceptContent[${i}]`, entry)));
  const security = options.security === undefined ? undefined : new AuthSerializer(options.security);
  if (taskSerializer === 'auth' && !security?.canSign)
    throw new ConfigError('taskSerializer', "'auth' signs what is sent: set security.key and security.certificate");
  if (acceptContent.has(SERIALIZERS.auth.contentType) && !security)
    throw new ConfigError('acceptContent', "'auth' messages are verified against security.certStore: set security");
  // As kombu's register_auth: the process's children (pool threads and processes) decode with it too.
  if (security) registerAuth(security);
  return { taskSerializer, acceptContent, taskCompression, security };
}

type Encoding = { serializer?: SerializerName; compression?: CompressionName | null };

/** Serializer and compression of one send: the call's, else the task's, else the app's (Celery's precedence). */
export function sendEncoding(
  call: Encoding,
  task: Encoding | undefined,
  app: ResolvedSerialOptions,
): { serializer: SerializerName; compression: CompressionName | null; auth: AuthSerializer | undefined } {
  const pick = <T>(a: T | undefined, b: T | undefined, c: T) => (a !== undefined ? a : b !== undefined ? b : c);
  return {
    serializer: checkSerializer('serializer', pick(call.serializer, task?.serializer, app.taskSerializer)),
    compression: checkCompression('compression', pick(call.compression, task?.compression, app.taskCompression)),
    auth: app.security,
  };
}
