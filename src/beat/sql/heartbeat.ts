import { statement, type Statement } from './statement';

export interface Heartbeat {
  beat: string;
  hostname: string;
  pid: number;
  startedAtMs: number;
  nowMs: number;
  listening: boolean;
}

/**
 * One row per running beat, refreshed every heartbeatMs, for the admin's "beats" view (and for
 * operators: `SELECT * FROM celeriac_beat_instance`). A beat that stops deletes its row; a
 * crashed one's row goes stale and is swept after a day.
 */
export function upsertHeartbeat(schema: string): Statement<Heartbeat> {
  return statement(
    'heartbeat',
    schema,
    `
    WITH swept AS (
      DELETE FROM "${schema}".celeriac_beat_instance WHERE last_seen_at < $5::timestamptz - interval '1 day'
    )
    INSERT INTO "${schema}".celeriac_beat_instance (beat_id, hostname, pid, started_at, last_seen_at, listening)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (beat_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, listening = EXCLUDED.listening`,
    (h) => [h.beat, h.hostname, h.pid, new Date(h.startedAtMs), new Date(h.nowMs), h.listening],
  );
}

export function deleteHeartbeat(schema: string): Statement<{ beat: string }> {
  return statement('bye', schema, `DELETE FROM "${schema}".celeriac_beat_instance WHERE beat_id = $1`, (i) => [i.beat]);
}
