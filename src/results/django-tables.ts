/**
 * The result store on a Django project's django-celery-results 2.x tables, written as Python's
 * `django-db` backend (celery.backends.database of django_celery_results) writes them, so the
 * Django admin's Task results list shows a Celeriac worker's tasks beside a Python worker's, and
 * Python's AsyncResult reads them:
 *
 *   status, task_name, worker, periodic_task_name, traceback  as they are
 *   result       JSON text (content_type application/json, content_encoding utf-8); a task's null
 *                result is 'null'; a state that is not final carries its meta here, as Celery's
 *                backends store a custom state's meta as its result
 *   meta         JSON text {"children": [...]} plus Celeriac's own meta keys (reason, next_eta)
 *   task_args    JSON text of a string holding the arguments, as Python stores argsrepr there
 *   task_kwargs  ('"[1,2]"' for Celeriac, '"(1, 2)"' for Python); read back as the array where it parses
 *   date_created set once, at insert (Django's auto_now_add)
 *   date_done    set at every write (Django's auto_now, NOT NULL); read as dateDone only once final
 *
 * Django's table has no seq column and none is added: a later state wins except that a state that
 * is not final never replaces a final one, and PENDING never replaces anything.
 */
import type { TaskResultRow } from './rows';
import { recordset } from './sql';
import type { ResultTables } from './tables';

const FINAL = `('SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED')`;

/** Columns of a state write, as batch-write.ts toRecord writes them (json keeps the sender's text). */
const recordColumns = recordset([
  ['task_id', 'text'],
  ['status', 'text'],
  ['task_name', 'text'],
  ['periodic_task_name', 'text'],
  ['args', 'json'],
  ['kwargs', 'json'],
  ['result', 'json'],
  ['traceback', 'text'],
  ['meta', 'json'],
  ['worker', 'text'],
  ['date_created', 'timestamptz'],
  ['date_done', 'timestamptz'],
]);
const finishColumns = recordset([
  ['task_id', 'text'],
  ['status', 'text'],
  ['result', 'json'],
  ['traceback', 'text'],
  ['meta', 'json'],
  ['worker', 'text'],
  ['date_done', 'timestamptz'],
]);

/** Admits `u`'s state over the row `t` holds (the seq guard of Celeriac's own table, without seq). */
const admits = (t: string, u: string) =>
  `NOT (${t}.status IN ${FINAL} AND ${u}.status NOT IN ${FINAL}) AND NOT (${u}.status = 'PENDING' AND ${t}.status <> 'PENDING')`;

const resultText = (u: string) =>
  `COALESCE(${u}.result::text, CASE WHEN ${u}.status NOT IN ${FINAL} THEN ${u}.meta::text END, 'null')`;
const metaText = (u: string) => `('{"children": []}'::jsonb || COALESCE(${u}.meta::jsonb, '{}'::jsonb))::text`;
const argsText = (v: string) => `CASE WHEN ${v} IS NULL THEN NULL ELSE to_json(${v}::text)::text END`;

export function djangoResultTables(schema: string): ResultTables {
  const task = `"${schema}".django_celery_results_taskresult`;
  const group = `"${schema}".django_celery_results_groupresult`;
  const counter = `"${schema}".django_celery_results_chordcounter`;
  return {
    key: `django_${schema}`,
    upsert: `
      INSERT INTO ${task} AS t (task_id, status, content_type, content_encoding, result, date_done, traceback, meta,
                                task_args, task_kwargs, task_name, worker, date_created, periodic_task_name)
      SELECT u.task_id, u.status, 'application/json', 'utf-8', ${resultText('u')}, COALESCE(u.date_done, now()),
             u.traceback, ${metaText('u')}, ${argsText('u.args')}, ${argsText('u.kwargs')}, u.task_name, u.worker,
             COALESCE(u.date_created, now()), u.periodic_task_name
        FROM ${recordColumns} ORDER BY u.task_id COLLATE "C"
      ON CONFLICT (task_id) DO UPDATE SET
        status             = EXCLUDED.status,
        result             = EXCLUDED.result,
        traceback          = EXCLUDED.traceback,
        meta               = EXCLUDED.meta,
        worker             = COALESCE(EXCLUDED.worker, t.worker),
        task_name          = COALESCE(t.task_name, EXCLUDED.task_name),
        periodic_task_name = COALESCE(t.periodic_task_name, EXCLUDED.periodic_task_name),
        task_args          = COALESCE(t.task_args, EXCLUDED.task_args),
        task_kwargs        = COALESCE(t.task_kwargs, EXCLUDED.task_kwargs),
        date_done          = EXCLUDED.date_done
      WHERE ${admits('t', 'EXCLUDED')}`,
    // Rows locked first in task-id order, as the upsert inserts them, so the two never deadlock.
    updateKnown: `
      WITH locked AS MATERIALIZED (
        SELECT t.id, u.* FROM ${task} AS t JOIN ${finishColumns} ON t.task_id = u.task_id
         WHERE ${admits('t', 'u')}
         ORDER BY t.task_id COLLATE "C"
           FOR UPDATE OF t),
      changed AS (
        UPDATE ${task} AS t SET
          status    = u.status,
          result    = ${resultText('u')},
          traceback = u.traceback,
          meta      = ${metaText('u')},
          worker    = COALESCE(u.worker, t.worker),
          date_done = COALESCE(u.date_done, now())
        FROM locked AS u
        WHERE t.id = u.id
        RETURNING 1)
      SELECT count(*)::int AS n FROM changed`,
    select: `SELECT task_id, task_name, periodic_task_name, status, content_type, content_encoding, task_args, task_kwargs,
                    result, traceback, meta, worker, date_created, date_done
               FROM ${task} WHERE task_id = ANY($1::text[])`,
    deleteResult: `DELETE FROM ${task} WHERE task_id = $1`,
    markRevoked: `UPDATE ${task} SET status = 'REVOKED', date_done = now()
                   WHERE task_id = ANY($1::text[]) AND status NOT IN ${FINAL}`,
    // GroupResult.as_tuple() as Python saves it: [[group_id, null], [[[task_id, null], null], ...]].
    insertGroup: `
      INSERT INTO ${group} (group_id, date_created, date_done, content_type, content_encoding, result)
      SELECT $1::text, now(), now(), 'application/json', 'utf-8',
             json_build_array(json_build_array($1::text, NULL),
                              COALESCE((SELECT json_agg(json_build_array(json_build_array(id, NULL), NULL) ORDER BY i)
                                          FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS m(id, i)), '[]'::json))::text
      ON CONFLICT (group_id) DO NOTHING`,
    selectGroup: `SELECT COALESCE((SELECT json_agg(m->0->>0 ORDER BY i)
                                     FROM json_array_elements(g.result::json->1) WITH ORDINALITY AS e(m, i)), '[]'::json) AS task_ids
                    FROM ${group} AS g WHERE g.group_id = $1`,
    deleteGroup: `DELETE FROM ${group} WHERE group_id = $1`,
    deleteExpiredBatch: `DELETE FROM ${task} WHERE id IN (SELECT id FROM ${task}
                          WHERE status IN ${FINAL} AND date_done < $1 ORDER BY date_done LIMIT $2)`,
    deleteStaleBatch: `DELETE FROM ${task} WHERE id IN (SELECT id FROM ${task}
                        WHERE status NOT IN ${FINAL} AND date_done < $1 ORDER BY date_done LIMIT $2)`,
    deleteExpiredGroups: `DELETE FROM ${group} WHERE date_done < $1`,
    // Django's table has no parent column: the children are those Python's backend lists in meta.
    selectChildren: `SELECT c->0->>0 AS task_id FROM ${task} AS t,
                            json_array_elements(CASE WHEN json_typeof(t.meta::json->'children') = 'array'
                                                     THEN t.meta::json->'children' ELSE '[]'::json END) AS c
                      WHERE t.task_id = $1 LIMIT $2`,
    chordCounter: {
      // AsyncResult.as_tuple() per member, as DatabaseBackend.apply_chord stores them: [[id, null], null].
      insert: `
        INSERT INTO ${counter} (group_id, sub_tasks, count)
        SELECT $1::text, COALESCE(json_agg(json_build_array(json_build_array(id, NULL), NULL) ORDER BY i), '[]'::json)::text, $3::int
          FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS m(id, i)
        ON CONFLICT (group_id) DO NOTHING`,
      lock: `SELECT sub_tasks, count FROM ${counter} WHERE group_id = $1 FOR UPDATE`,
      setCount: `UPDATE ${counter} SET count = $2 WHERE group_id = $1`,
      remove: `DELETE FROM ${counter} WHERE group_id = $1`,
    },
    toRow: djangoRow,
    createdBy:
      "Run the Django project's `python manage.py migrate django_celery_results` on this database, with `schema` set to the schema Django's tables are in",
  };
}

const FINAL_STATES = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);

function djangoRow(r: any): TaskResultRow {
  const json = r.content_type === 'application/json' && r.content_encoding !== 'binary';
  const dateDone = new Date(r.date_done);
  return {
    taskId: r.task_id,
    taskName: r.task_name,
    periodicTaskName: r.periodic_task_name,
    status: r.status,
    args: decodeArgs(r.task_args) as unknown[] | null,
    kwargs: decodeArgs(r.task_kwargs) as Record<string, unknown> | null,
    result: json ? parse(r.result) : r.result,
    traceback: r.traceback,
    meta: withoutChildren(parse(r.meta)),
    worker: r.worker,
    queue: null,
    retries: 0,
    parentId: null,
    rootId: null,
    groupId: null,
    dateCreated: new Date(r.date_created),
    dateStarted: null,
    dateDone: FINAL_STATES.has(r.status) ? dateDone : null,
    dateChanged: dateDone,
  };
}

/** JSON text, or the text itself when it is not JSON (another serializer's content). */
function parse(text: string | null): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** task_args holds a string (argsrepr); Celeriac's are JSON, and read back as the array. Python's repr stays text. */
function decodeArgs(text: string | null): unknown {
  const v = parse(text);
  if (typeof v !== 'string') return v;
  const inner = parse(v);
  return inner !== null && typeof inner === 'object' ? inner : v;
}

function withoutChildren(meta: unknown): Record<string, unknown> | null {
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return null;
  const { children, ...rest } = meta as Record<string, unknown>;
  void children;
  return Object.keys(rest).length > 0 ? rest : null;
}

/** Text to jsonb that never throws: Python's json.dumps writes NaN and Infinity, which jsonb refuses. */
const jsonOf = (col: string) =>
  `CASE WHEN content_type = 'application/json' AND content_encoding = 'utf-8' AND ${col} !~ '(NaN|Infinity)'
        THEN ${col}::jsonb ELSE to_jsonb(${col}) END`;

/**
 * Django's task results as a relation with celeriac_task_result's columns, for the admin's reads
 * (its list, detail, dashboard): what Django's table lacks reads as null or 0.
 */
export function djangoResultRelation(schema: string): string {
  return `(SELECT id::bigint AS id, task_id, task_name, periodic_task_name, status, 0 AS seq,
                  to_jsonb(task_args) AS args, to_jsonb(task_kwargs) AS kwargs, ${jsonOf('result')} AS result,
                  traceback, ${jsonOf('meta')} AS meta, worker, NULL::text AS queue, 0 AS retries,
                  NULL::text AS parent_id, NULL::text AS root_id, NULL::text AS group_id, date_created,
                  NULL::timestamptz AS date_started, CASE WHEN status IN ${FINAL} THEN date_done END AS date_done,
                  date_done AS date_changed
             FROM "${schema}".django_celery_results_taskresult) AS celeriac_task_result`;
}
