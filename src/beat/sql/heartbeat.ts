/**
 * One row per running beat, refreshed every heartbeatMs, for the admin's "beats" view (and for
 * operators: `SELECT * FROM celeriac_beat_instance`). A beat that stops deletes its row; a
 * crashed one's row goes stale and is swept after a day.
 *
 * $1 beat id, $2 hostname, $3 pid, $4 started at, $5 now, $6 listening.
 */
export function upsertHeartbeat(schema: string): string {
  return `
    WITH swept AS (
      DELETE FROM "${schema}".celeriac_beat_instance WHERE last_seen_at < $5::timestamptz - interval '1 day'
    )
    INSERT INTO "${schema}".celeriac_beat_instance (beat_id, hostname, pid, started_at, last_seen_at, listening)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (beat_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, listening = EXCLUDED.listening`;
}

export function deleteHeartbeat(schema: string): string {
  return `DELETE FROM "${schema}".celeriac_beat_instance WHERE beat_id = $1`;
}
