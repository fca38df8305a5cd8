import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  timingSafeEqual,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { ConfigError } from '../errors';

/**
 * Optional message signing, so a worker on a shared Redis runs only tasks from trusted senders.
 * A shared secret (HMAC-SHA256) when every sender and worker is trusted alike; a key pair
 * (Ed25519) when workers should verify without being able to sign. The signature covers the task
 * name, id, body (args, kwargs, work-flow) and the headers that change what runs or when.
 */
export type SigningOptions = { secret: string } | { privateKey?: string; publicKeys: string[] };

export const SIGNATURE_HEADER = 'celeriac_signature';

const signedHeaders = [
  'task',
  'id',
  'eta',
  'expires',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'group',
  'group_index',
] as const;

function canonical(headers: Record<string, unknown>, body: string): string {
  return ['celeriac-v1', ...signedHeaders.map((h) => JSON.stringify(headers[h] ?? null)), body].join('\n');
}

export class MessageSigner {
  private readonly secret?: Buffer;
  private readonly privateKey?: KeyObject;
  private readonly publicKeys: KeyObject[] = [];

  constructor(options: SigningOptions) {
    if ('secret' in options) {
      if (typeof options.secret !== 'string' || options.secret.length < 32) {
        throw new ConfigError(
          'signing.secret',
          'use a random secret of at least 32 characters, e.g. from `openssl rand -hex 32`',
        );
      }
      this.secret = Buffer.from(options.secret);
      return;
    }
    try {
      if (options.privateKey) this.privateKey = createPrivateKey(options.privateKey);
      for (const pem of options.publicKeys ?? []) this.publicKeys.push(createPublicKey(pem));
    } catch (err) {
      throw new ConfigError(
        'signing',
        `a key could not be read (${(err as Error).message}): pass PEM-encoded Ed25519 keys`,
      );
    }
    if (this.publicKeys.length === 0)
      throw new ConfigError('signing.publicKeys', 'list at least one trusted public key (PEM)');
  }

  get canSign(): boolean {
    return !!this.secret || !!this.privateKey;
  }

  /** Adds the signature header; call after every other header is final. */
  sign(headers: Record<string, unknown>, body: string): void {
    const data = canonical(headers, body);
    if (this.secret)
      headers[SIGNATURE_HEADER] = 'hmac-sha256:' + createHmac('sha256', this.secret).update(data).digest('base64');
    else if (this.privateKey)
      headers[SIGNATURE_HEADER] = 'ed25519:' + edSign(null, Buffer.from(data), this.privateKey).toString('base64');
    else
      throw new ConfigError('signing.privateKey', 'this process sends tasks but has no private key to sign them with');
  }

  /** Null when the message is signed by a trusted sender, else why it is refused. */
  verify(raw: string): string | null {
    let envelope: { headers?: Record<string, unknown>; body?: unknown };
    try {
      envelope = JSON.parse(raw);
    } catch {
      return 'the message is not JSON';
    }
    const headers = envelope.headers ?? {};
    const signature = headers[SIGNATURE_HEADER];
    if (typeof signature !== 'string')
      return 'the message is not signed, and this worker accepts only signed messages (signing is on)';
    const data = canonical(headers, String(envelope.body ?? ''));
    const [scheme, value] = signature.split(':', 2);
    const given = Buffer.from(value ?? '', 'base64');
    if (scheme === 'hmac-sha256' && this.secret) {
      const expected = createHmac('sha256', this.secret).update(data).digest();
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? null
        : 'the signature does not match: the message was altered or signed with another secret';
    }
    if (scheme === 'ed25519' && this.publicKeys.length > 0) {
      return this.publicKeys.some((key) => edVerify(null, Buffer.from(data), key, given))
        ? null
        : 'the signature does not match any trusted public key';
    }
    return `the message is signed with '${scheme}', which this worker is not set up to verify`;
  }
}
