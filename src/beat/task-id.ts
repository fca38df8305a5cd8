import { createHash } from 'node:crypto';

/** RFC 4122 URL namespace; any fixed UUID would do, this one is well known. */
const NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/**
 * The task id of one scheduled run: a UUIDv5 of (install, periodic task id, scheduled instant).
 * The same run always gets the same id, so a re-send after a crash is the same task (the result
 * table's task_id is unique, and the send marker is per batch of such ids), and two
 * installations sharing a Redis or a result table never collide (`scope` is the schema).
 */
export function runTaskId(scope: string, periodicTaskId: number, scheduledAtMs: number): string {
  const hash = createHash('sha1')
    .update(NAMESPACE)
    .update(`celeriac-beat:${scope}:${periodicTaskId}:${new Date(scheduledAtMs).toISOString()}`)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
