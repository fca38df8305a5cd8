import { ConfigError, quoted } from '../errors';

/** A rate limit as Celery writes it ('10/s', '100/m', '1000/h'), read once where it is configured. */
export interface RateLimit {
  perMs: number;
  tokens: number;
  text: string;
}

export function parseRateLimit(key: string, text: string): RateLimit {
  const m = typeof text === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)\s*$/.exec(text) : null;
  if (!m || Number(m[1]) <= 0)
    throw new ConfigError(key, `${quoted(text)} is not a rate: use '10/s', '100/m' or '1000/h'`);
  return { tokens: Number(m[1]), perMs: { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'], text };
}
