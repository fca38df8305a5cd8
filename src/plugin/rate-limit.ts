import { ConfigError, quoted } from '../errors';

/** A rate limit as Celery writes it ('10/s', '100/m', '1000/h'), read once where it is configured. */
export interface RateLimit {
  perMs: number;
  tokens: number;
  text: string;
}

/**
 * Celery's rate(): a number without a unit is per second ('100', or 100 from Python's
 * `app.control.rate_limit(name, 100)`), as a Celery worker reads it.
 */
export function parseRateLimit(key: string, text: string | number): RateLimit {
  const m =
    typeof text === 'string' || typeof text === 'number'
      ? /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|h))?\s*$/.exec(String(text))
      : null;
  if (!m || Number(m[1]) <= 0)
    throw new ConfigError(
      key,
      `${quoted(text)} is not a rate: use '10/s', '100/m' or '1000/h' (a bare number is per second)`,
    );
  const unit = (m[2] ?? 's') as 's' | 'm' | 'h';
  return { tokens: Number(m[1]), perMs: { s: 1000, m: 60_000, h: 3_600_000 }[unit], text: String(text) };
}
