import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, closest, shown } from '../errors';
import { MAX_TIMER_MS } from '../time-limit';
import { systemClock, type Clock } from './clock';

export interface BeatOptions {
  /** Where "now" comes from. Default: the system clock. Tests pass a ManualClock. */
  clock?: Clock;
  /** This beat's id in the outbox and heartbeat rows; must be unique among running beats. Default host-pid-random. */
  name?: string;
  /** Most runs claimed and sent per statement. Default 1000. */
  batchSize?: number;
  /**
   * How long before its slot a running beat claims a run and encodes its message, so that the
   * message goes out at the slot instead of a claim's duration after it. A change to a task
   * made less than this before a run applies from the next run. 0 claims at the slot. Default 1000 ms.
   */
  claimAheadMs?: number;
  /** Longest sleep while LISTEN works (a safety net for lost notifications). Default 30000 ms. */
  maxSleepMs?: number;
  /** Longest sleep while LISTEN is unavailable: how soon a change made meanwhile is seen. Default 1000 ms. */
  pollIntervalMs?: number;
  /** catch_up='skip': how late a run may be and still count as on time. Default 60000 ms. */
  misfireGraceMs?: number;
  /** How long a claimed batch may stay unconfirmed before another beat re-sends it. Default 10000 ms. */
  outboxLeaseMs?: number;
  /** How long Redis remembers that a batch was sent. Default 24 h. Batches unconfirmed for longer are given up, not re-sent. */
  sentMarkerTtlMs?: number;
  /** How often the heartbeat row is refreshed. Default 5000 ms. */
  heartbeatMs?: number;
  /** Use LISTEN/NOTIFY to hear of changes at once. Default true; false polls every pollIntervalMs. */
  listen?: boolean;
  /** Upsert the app's beatSchedule into the tables at start. Default true. */
  syncSchedule?: boolean;
}

export interface ResolvedBeatOptions {
  clock: Clock;
  name: string;
  batchSize: number;
  claimAheadMs: number;
  maxSleepMs: number;
  pollIntervalMs: number;
  misfireGraceMs: number;
  outboxLeaseMs: number;
  sentMarkerTtlMs: number;
  heartbeatMs: number;
  listen: boolean;
  syncSchedule: boolean;
}

const defaults = {
  batchSize: 1000,
  claimAheadMs: 1000,
  maxSleepMs: 30_000,
  pollIntervalMs: 1000,
  misfireGraceMs: 60_000,
  outboxLeaseMs: 10_000,
  sentMarkerTtlMs: 24 * 3600_000,
  heartbeatMs: 5000,
  listen: true,
  syncSchedule: true,
} satisfies Partial<ResolvedBeatOptions>;

const knownKeys: ReadonlySet<string> = new Set<keyof BeatOptions>([
  'clock',
  'name',
  'batchSize',
  'claimAheadMs',
  'maxSleepMs',
  'pollIntervalMs',
  'misfireGraceMs',
  'outboxLeaseMs',
  'sentMarkerTtlMs',
  'heartbeatMs',
  'listen',
  'syncSchedule',
]);

export function resolveBeatOptions(options: BeatOptions): ResolvedBeatOptions {
  for (const key of Object.keys(options)) {
    if (!knownKeys.has(key)) {
      const hint = closest(key, knownKeys);
      throw new ConfigError(`beat.${key}`, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
  }
  const ms = (key: keyof typeof defaults & string, value: unknown) => {
    const v = value ?? defaults[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new ConfigError(`beat.${key}`, `expected a positive whole number, got ${shown(v)}`);
    return v;
  };
  // A delay setTimeout/setInterval is armed with: past 2^31-1 ms Node fires it after 1 ms, and
  // the beat would spin instead of sleeping.
  const timerMs = (key: keyof typeof defaults & string, value: unknown) => {
    const v = ms(key, value);
    if (v > MAX_TIMER_MS)
      throw new ConfigError(`beat.${key}`, `expected at most ${MAX_TIMER_MS} ms (about 24 days), got ${v}`);
    return v;
  };
  const nonNegativeMs = (key: keyof typeof defaults & string, value: unknown) => (value === 0 ? 0 : ms(key, value));
  const bool = (key: keyof typeof defaults & string, value: unknown) => {
    const v = value ?? defaults[key];
    if (typeof v !== 'boolean') throw new ConfigError(`beat.${key}`, `expected true or false, got ${shown(v)}`);
    return v;
  };
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function') throw new ConfigError('beat.clock', 'expected an object with now(): number');
  const name = options.name ?? `beat@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  if (typeof name !== 'string' || name === '' || name.length > 200)
    throw new ConfigError('beat.name', 'expected 1-200 characters');
  const resolved: ResolvedBeatOptions = {
    clock,
    name,
    batchSize: ms('batchSize', options.batchSize),
    claimAheadMs: nonNegativeMs('claimAheadMs', options.claimAheadMs),
    maxSleepMs: timerMs('maxSleepMs', options.maxSleepMs),
    pollIntervalMs: timerMs('pollIntervalMs', options.pollIntervalMs),
    misfireGraceMs: ms('misfireGraceMs', options.misfireGraceMs),
    outboxLeaseMs: ms('outboxLeaseMs', options.outboxLeaseMs),
    sentMarkerTtlMs: ms('sentMarkerTtlMs', options.sentMarkerTtlMs),
    heartbeatMs: timerMs('heartbeatMs', options.heartbeatMs),
    listen: bool('listen', options.listen),
    syncSchedule: bool('syncSchedule', options.syncSchedule),
  };
  if (resolved.sentMarkerTtlMs < resolved.outboxLeaseMs * 10) {
    throw new ConfigError(
      'beat.sentMarkerTtlMs',
      `${resolved.sentMarkerTtlMs} ms is too short for outboxLeaseMs ${resolved.outboxLeaseMs}: the marker must outlive every re-send, keep it at least 10 leases`,
    );
  }
  return resolved;
}
