import { READY_STATES } from '../results/states';
import type {
  IsoDates,
  StateName,
  TaskChildJson,
  TaskDetailJson,
  TaskErrorJson,
  TaskListItemJson,
  TaskProgressJson,
  TaskStatusJson,
} from './types';

/** A result-table row as SQL returns it (snake_case; dates may be Date or text depending on the driver). */
export type RawRow = Record<string, any>;

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());
const isoRequired = (v: unknown): string => new Date(v as string).toISOString();

function runtimeMs(r: RawRow): number | null {
  if (!r.date_started || !r.date_done) return null;
  return Math.max(0, new Date(r.date_done).getTime() - new Date(r.date_started).getTime());
}

/** PROGRESS meta as written by ctx.progress(done, total, meta); null for any other meta. */
export function progressOf(state: string, meta: unknown): TaskProgressJson | null {
  if (state !== 'PROGRESS' || !meta || typeof meta !== 'object') return null;
  const m = meta as Record<string, unknown>;
  if (typeof m.done !== 'number') return null;
  const total = typeof m.total === 'number' && m.total > 0 ? m.total : null;
  return {
    ...m,
    done: m.done,
    total,
    percent: total ? Math.max(0, Math.min(100, Math.round((100 * m.done) / total))) : null,
  };
}

export function errorOf(r: RawRow, withStack: boolean): TaskErrorJson | null {
  const state = r.status as string;
  let error: TaskErrorJson | null = null;
  if (state === 'REVOKED') {
    const reason =
      r.meta && typeof r.meta === 'object' && typeof r.meta.reason === 'string' ? r.meta.reason : 'revoked';
    error = { type: 'TaskRevokedError', message: `The task was revoked (${reason}).`, module: 'celeriac' };
  } else if (state === 'FAILURE' || state === 'RETRY' || state === 'REJECTED') {
    const exc = r.result && typeof r.result === 'object' ? (r.result as Record<string, unknown>) : null;
    if (exc || r.traceback) {
      const message = Array.isArray(exc?.exc_message)
        ? exc!.exc_message.map(String).join(' ')
        : String(exc?.exc_message ?? '');
      error = {
        type: String(exc?.exc_type ?? 'Error'),
        message,
        module: (exc?.exc_module as string | undefined) ?? null,
      };
    }
  }
  if (error && withStack) error.stack = r.traceback ?? null;
  return error;
}

export function toStatus(r: RawRow, withStack: boolean): TaskStatusJson {
  return {
    id: r.task_id,
    state: r.status,
    ready: READY_STATES.has(r.status),
    name: r.task_name ?? null,
    result: r.status === 'SUCCESS' ? (r.result ?? null) : null,
    error: errorOf(r, withStack),
    progress: progressOf(r.status, r.meta),
    meta: r.meta ?? null,
    retries: r.retries ?? 0,
    dateCreated: isoRequired(r.date_created),
    dateStarted: iso(r.date_started),
    dateDone: iso(r.date_done),
    dateChanged: isoRequired(r.date_changed),
  };
}

function preview(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return text.length > 200 ? text.slice(0, 200) + '…' : text;
}

export function toListItem(r: RawRow): TaskListItemJson {
  return {
    id: r.task_id,
    name: r.task_name ?? null,
    periodicTaskName: r.periodic_task_name ?? null,
    state: r.status,
    worker: r.worker ?? null,
    queue: r.queue ?? null,
    retries: r.retries ?? 0,
    parentId: r.parent_id ?? null,
    rootId: r.root_id ?? null,
    argsPreview: preview(r.args_preview),
    kwargsPreview: preview(r.kwargs_preview),
    // An error's JSON is noise in a table; its type and message say it better.
    resultPreview: r.status === 'SUCCESS' ? preview(r.result_preview) : null,
    progress: progressOf(r.status, r.meta),
    dateCreated: isoRequired(r.date_created),
    dateStarted: iso(r.date_started),
    dateDone: iso(r.date_done),
    dateChanged: isoRequired(r.date_changed),
    runtimeMs: runtimeMs(r),
  };
}

export function toDetail(r: RawRow, children: RawRow[], childLimit: number, withStack: boolean): TaskDetailJson {
  const meta = r.meta && typeof r.meta === 'object' ? r.meta : null;
  return {
    ...toStatus(r, withStack),
    periodicTaskName: r.periodic_task_name ?? null,
    args: r.args ?? null,
    kwargs: r.kwargs ?? null,
    worker: r.worker ?? null,
    queue: r.queue ?? null,
    parentId: r.parent_id ?? null,
    rootId: r.root_id ?? null,
    groupId: r.group_id ?? null,
    runtimeMs: runtimeMs(r),
    retriedFrom: typeof meta?.retried_from === 'string' ? meta.retried_from : null,
    children: children.slice(0, childLimit).map(toChild),
    childrenTruncated: children.length > childLimit,
  };
}

function toChild(r: RawRow): TaskChildJson {
  return {
    id: r.task_id,
    name: r.task_name ?? null,
    state: r.status as StateName,
    dateCreated: isoRequired(r.date_created),
    dateDone: iso(r.date_done),
  };
}

/** Each Date field as ISO text (null for an Invalid Date, which must not turn an answer into a 500). */
export function isoDates<T extends object>(value: T): IsoDates<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = v instanceof Date ? (Number.isNaN(v.getTime()) ? null : v.toISOString()) : v;
  return out as IsoDates<T>;
}
