/**
 * A chord's join through django-celery-results' chord counter (django mode), so one chord's header
 * can run on Python workers (django-db backend) and Celeriac workers alike, and either side fires
 * the body. It follows DatabaseBackend of django-celery-results 2.4:
 *
 *   apply_chord            a row (group_id, sub_tasks = the header's AsyncResult tuples as JSON,
 *                          count = the chord size), made before the header is sent
 *   on_chord_part_return   the row locked FOR UPDATE, count decremented; the member that takes it
 *                          to 0 deletes the row and sends the body
 *
 * What Celeriac adds, in its own table beside Django's (celeriac_chord_member): a Celeriac member
 * is counted once however often it is redelivered (Python's counter would count it again), and
 * the member that completed the chord is remembered, with the header's ids saved as a GroupResult,
 * so a redelivery of that member after a crash sends the body again (the fire-once marker keeps it
 * to one) while any other late member does not.
 */
import type { Database } from '../db/database';
import type { ResultTables } from './tables';

export interface CounterJoin {
  /** Members counted so far; the chord is complete when it equals memberIds.length. */
  finished: number;
  /** The header's result ids in order (sub_tasks). */
  memberIds: string[];
}

/** The member id under which the member that completed a chord is remembered. */
const completedBy = (memberId: string) => `completed-by:${memberId}`;

export async function joinChordCounter(
  db: Database,
  schema: string,
  tables: ResultTables,
  groupId: string,
  memberId: string,
  failed: boolean,
): Promise<CounterJoin | null> {
  const sql = tables.chordCounter;
  if (!sql) return null;
  const members = `"${schema}".celeriac_chord_member`;
  return db.transaction(async (q) => {
    const [row]: { sub_tasks: string; count: number }[] = await q(sql.lock, [groupId]);
    if (!row) {
      // Completed already, or a chord nobody registered a counter for (the caller joins it the
      // broker's way). Only the member that completed it is told to send the body again.
      const mine: unknown[] = await q(`SELECT 1 FROM ${members} WHERE group_id = $1 AND member_id = $2`, [
        groupId,
        completedBy(memberId),
      ]);
      if (mine.length === 0) return null;
      const [g]: { task_ids: string[] }[] = await q(tables.selectGroup, [groupId]);
      const ids = g?.task_ids ?? [];
      return { finished: ids.length, memberIds: ids };
    }
    const memberIds = subTaskIds(row.sub_tasks);
    const counted: unknown[] = await q(
      `INSERT INTO ${members} (group_id, member_id, failed) VALUES ($1, $2, $3)
       ON CONFLICT (group_id, member_id) DO NOTHING RETURNING 1`,
      [groupId, memberId, failed],
    );
    let count = row.count;
    if (counted.length > 0) {
      count -= 1;
      if (count > 0) await q(sql.setCount, [groupId, count]);
      else {
        await q(sql.remove, [groupId]);
        await q(`INSERT INTO ${members} (group_id, member_id, failed) VALUES ($1, $2, false)`, [
          groupId,
          completedBy(memberId),
        ]);
        await q(tables.insertGroup, [groupId, JSON.stringify(memberIds)]);
      }
    }
    // Python's chord_size may differ from the number of tuples; the counter reaching 0 is what completes it.
    return {
      finished: count > 0 ? Math.min(memberIds.length - 1, memberIds.length - count) : memberIds.length,
      memberIds,
    };
  });
}

/** Registers a chord's counter before its header is sent (DatabaseBackend.apply_chord). */
export async function registerChordCounter(
  db: Database,
  tables: ResultTables,
  groupId: string,
  taskIds: string[],
  size: number,
): Promise<void> {
  // An empty header is never joined: Python makes no counter for it either.
  if (!tables.chordCounter || size <= 0) return;
  await db.execute(tables.chordCounter.insert, [groupId, JSON.stringify(taskIds), size]);
}

/** The ids in sub_tasks: [[[id, parent], null], ...] (result_from_tuple's shape); a group tuple's id too. */
function subTaskIds(text: string): string[] {
  let tuples: unknown;
  try {
    tuples = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(tuples)) return [];
  return tuples.map((t) => (Array.isArray(t) && Array.isArray(t[0]) ? String(t[0][0]) : String(t)));
}
