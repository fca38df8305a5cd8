import { randomUUID } from 'node:crypto';
import type { ResolvedTaskOptions } from '../plugin/options';
import type { MessageSigner } from '../broker/signing';

/**
 * Celery's get_exponential_backoff_interval: factor·2^retries seconds, capped, with full jitter
 * (a uniform draw in [0, countdown]) so a burst of failures does not retry in lockstep.
 */
export function retryDelayMs(
  options: ResolvedTaskOptions,
  retries: number,
  requestedMs: number,
  auto: boolean,
): number {
  if (requestedMs >= 0) return requestedMs;
  if (auto && options.retryBackoff > 0) {
    const countdown = Math.min(options.retryBackoffMax, options.retryBackoff * 2 ** retries);
    return (options.retryJitter ? Math.random() * countdown : countdown) * 1000;
  }
  return options.defaultRetryDelay * 1000;
}

/**
 * The next attempt is the same message (same id, every header kept, including ones only Python
 * understands) with retries + 1, the new eta, and a fresh delivery tag.
 */
export function nextAttempt(raw: string, etaMs: number, signer?: MessageSigner): string {
  const envelope = JSON.parse(raw);
  envelope.headers.retries = Number(envelope.headers.retries ?? 0) + 1;
  envelope.headers.eta = new Date(etaMs).toISOString();
  envelope.properties.delivery_tag = randomUUID();
  if (signer) signer.sign(envelope.headers, envelope.body);
  return JSON.stringify(envelope);
}
