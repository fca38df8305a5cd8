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

export function encodeControl(msg: ControlMessage): string {
  const body = JSON.stringify({ pattern: null, matcher: null, ...msg });
  return JSON.stringify({
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: { clock: 1, expires: Date.now() / 1000 + 1 },
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
      envelope.properties?.body_encoding === 'base64' ? Buffer.from(envelope.body, 'base64').toString('utf8') : String(envelope.body);
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
