import type { ConsumeMessage, Options } from 'amqplib';
import { EncodeError, MessageDecodeError } from '../../errors';

/**
 * Celeriac's layers above the transport speak kombu's JSON envelope (the form a message takes in
 * kombu's Redis layout: `{body, content-type, content-encoding, headers, properties}`). On
 * RabbitMQ the same message is an AMQP message: properties and headers travel as AMQP basic
 * properties and the body as raw bytes, exactly as py-amqp sends them (captured from Celery 5.2.6:
 * the body is the JSON text itself, not base64). These two functions map between the forms at the
 * transport's edge, so encoding, signing and decoding stay in one place (message.ts, pidbox.ts).
 */

export interface AmqpOutgoing {
  content: Buffer;
  options: Options.Publish;
}

/**
 * The envelope's properties as AMQP publish options. The AMQP `expiration` property is left
 * out on purpose: RabbitMQ would drop an expired message silently while it waits in the queue,
 * so nobody would record it as REVOKED; a Celeriac worker that takes it late records the expiry.
 */
export function toAmqp(raw: string): AmqpOutgoing {
  let envelope: any;
  try {
    envelope = JSON.parse(raw);
  } catch (err) {
    throw new EncodeError(`Cannot send a message that is not a kombu envelope: ${(err as Error).message}`);
  }
  const props = envelope.properties ?? {};
  const body =
    props.body_encoding === 'base64'
      ? Buffer.from(String(envelope.body ?? ''), 'base64')
      : Buffer.from(typeof envelope.body === 'string' ? envelope.body : JSON.stringify(envelope.body ?? null), 'utf8');
  const headers = envelope.headers ?? {};
  for (const key of Object.keys(headers)) {
    // AMQP field-table keys are short strings; a longer one would fail deep in the encoder.
    if (Buffer.byteLength(key) > 255)
      throw new EncodeError(
        `Header '${key.slice(0, 40)}…' is ${Buffer.byteLength(key)} bytes long: AMQP header names are at most 255 bytes.`,
      );
  }
  const options: Options.Publish = {
    contentType: envelope['content-type'] ?? 'application/json',
    contentEncoding: envelope['content-encoding'] ?? 'utf-8',
    headers,
    deliveryMode: props.delivery_mode === 1 ? 1 : 2,
    priority: clampPriority(props.priority),
  };
  if (props.correlation_id !== undefined && props.correlation_id !== null)
    options.correlationId = String(props.correlation_id);
  if (props.reply_to !== undefined && props.reply_to !== null) options.replyTo = String(props.reply_to);
  return { content: body, options };
}

/** AMQP priorities are one octet; RabbitMQ caps them at the queue's x-max-priority anyway. */
function clampPriority(p: unknown): number {
  const n = Math.trunc(Number(p));
  return Number.isFinite(n) ? Math.min(255, Math.max(0, n)) : 0;
}

/**
 * An AMQP delivery as the kombu envelope the worker, remote control and monitors decode.
 * `deliveryTag` is the transport's own handle (connection generation and AMQP tag), recorded
 * where kombu records the tag (`properties.delivery_tag`); it also makes each raw string unique
 * per delivery, which the worker relies on to tell held messages apart. The body is re-encoded
 * in base64 so a signature computed over the base64 text at the sender verifies here too.
 */
export function fromAmqp(msg: ConsumeMessage | { content: Buffer; fields: any; properties: any }, deliveryTag: string) {
  const p = msg.properties;
  const properties: Record<string, unknown> = {
    delivery_mode: p.deliveryMode ?? 2,
    delivery_info: { exchange: msg.fields.exchange ?? '', routing_key: msg.fields.routingKey ?? '' },
    priority: p.priority ?? 0,
    body_encoding: 'base64',
    delivery_tag: deliveryTag,
  };
  if (p.correlationId !== undefined) properties.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) properties.reply_to = p.replyTo;
  return JSON.stringify({
    body: msg.content.toString('base64'),
    'content-encoding': p.contentEncoding ?? 'utf-8',
    'content-type': p.contentType ?? 'application/json',
    headers: p.headers ?? {},
    properties,
  });
}

/** The transport's delivery handle: `<generation>.<AMQP delivery tag>`. */
export function parseDeliveryTag(tag: string | undefined): { generation: number; tag: number } | null {
  if (!tag) return null;
  const dot = tag.indexOf('.');
  if (dot < 0) return null;
  const generation = Number(tag.slice(0, dot));
  const n = Number(tag.slice(dot + 1));
  return Number.isInteger(generation) && Number.isInteger(n) ? { generation, tag: n } : null;
}

/** The delivery handle recorded in a raw envelope this transport produced. */
export function deliveryTagOf(raw: string): string | undefined {
  try {
    return JSON.parse(raw).properties?.delivery_tag;
  } catch {
    throw new MessageDecodeError('A held message is not a kombu envelope: cannot find its delivery tag.');
  }
}
