import { randomUUID } from 'node:crypto';

/**
 * Celery's broadcast control messages (kombu pidbox), as captured from `app.control.revoke`
 * (shared/reference/celery.md §5.4): a kombu envelope published on `/<db>.celery.pidbox` whose
 * body is {method, arguments, destination, pattern, matcher}. Speaking it means Python's
 * `celery control revoke` reaches Celeriac workers, and Celeriac's revoke reaches Python workers.
 */
export interface ControlMessage {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  pattern?: string | null;
  matcher?: string | null;
  reply_to?: { exchange: string; routing_key: string } | null;
  ticket?: string | null;
}

/** kombu's Mailbox('celery'): the direct exchange replies go through, and each client's reply queue on it. */
export const REPLY_EXCHANGE = 'reply.celery.pidbox';
export function replyQueueName(oid: string): string {
  return `${oid}.${REPLY_EXCHANGE}`;
}

/** `timeoutMs`: how long the sender waits for replies; kombu puts `expires` = now + timeout in the headers. */
export function encodeControl(msg: ControlMessage, timeoutMs = 1000): string {
  const body = JSON.stringify({ pattern: null, matcher: null, ...msg });
  return JSON.stringify({
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { clock: 1, expires: (Date.now() + timeoutMs) / 1000 },
    properties: {
      delivery_mode: 2,
      delivery_info: { exchange: 'celery.pidbox', routing_key: '' },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

export function decodeControl(raw: string): ControlMessage | null {
  try {
    const envelope = JSON.parse(raw);
    const text =
      envelope.properties?.body_encoding === 'base64'
        ? Buffer.from(envelope.body, 'base64').toString('utf8')
        : String(envelope.body);
    const body = JSON.parse(text);
    if (!body || typeof body.method !== 'string') return null;
    return { arguments: {}, destination: null, ...body };
  } catch {
    return null;
  }
}

/** Whether a broadcast is meant for the worker called `name`. */
export function isAddressedTo(msg: ControlMessage, name: string): boolean {
  return !msg.destination || msg.destination.length === 0 || msg.destination.includes(name);
}

/**
 * A node's reply, as kombu's `Mailbox._publish_reply` sends it (captured from a Celery 5.2.6
 * worker answering `celery inspect ping`): body `{<hostname>: <result>}`, the request's `ticket`
 * in the headers, transient delivery through the direct exchange `reply.celery.pidbox` with the
 * client's oid as routing key. The envelope is LPUSHed onto `<oid>.reply.celery.pidbox`.
 */
export function encodeReply(
  hostname: string,
  result: unknown,
  ticket: string | null | undefined,
  routingKey: string,
): string {
  const body = JSON.stringify({ [hostname]: result ?? null });
  return JSON.stringify({
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { ticket: ticket ?? null, clock: 1 },
    properties: {
      delivery_mode: 1,
      delivery_info: { exchange: REPLY_EXCHANGE, routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  });
}

export interface ControlReply {
  ticket: string | null;
  /** Seconds since the epoch after which the sender stopped caring (kombu drops such replies); null if none. */
  expires: number | null;
  /** `{<hostname>: <result>}`: one node's answer. */
  body: Record<string, unknown>;
}

export function decodeReply(raw: string): ControlReply | null {
  try {
    const envelope = JSON.parse(raw);
    const text =
      envelope.properties?.body_encoding === 'base64'
        ? Buffer.from(envelope.body, 'base64').toString('utf8')
        : String(envelope.body);
    const body = JSON.parse(text);
    if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
    const headers = envelope.headers ?? {};
    return {
      ticket: typeof headers.ticket === 'string' ? headers.ticket : null,
      expires: typeof headers.expires === 'number' && headers.expires > 0 ? headers.expires : null,
      body,
    };
  } catch {
    return null;
  }
}
