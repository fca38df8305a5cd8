import type { PreparedMessage } from '../runtime/runtime';
import type { CanvasBackend } from '../canvas/backend';
import type { ResultBackend } from '../results/backend';
import { stateSeq } from '../results/state-rules';
import { READY_STATES } from '../results/states';
import type { StateUpdate, TaskResultRow } from '../results/store';

/**
 * The results of one eager run, in memory: what its EagerResults read and what its work-flow's
 * follow-ups (followups.ts, the worker's own code) keep their groups and chord joins in. One per
 * run, held by the handles it returned, so a long-lived app in eager mode keeps nothing once its
 * callers drop their results. Rows only move forward, under the same guard as the result table.
 */
export class MemoryResultBackend implements ResultBackend, CanvasBackend {
  private readonly rows = new Map<string, TaskResultRow & { seq: number }>();
  private readonly groups = new Map<string, string[]>();
  private readonly joins = new Map<string, { members: Set<string>; failed: Set<string> }>();
  private readonly fired = new Set<string>();
  private readonly children = new Map<string, string[]>();

  constructor(
    /** Runs what a chord that completed sets off (the eager run's queue). */
    private readonly onFire: (messages: PreparedMessage[]) => void,
  ) {}

  write(u: StateUpdate): void {
    const seq = stateSeq(u.status, u.retries);
    const old = this.rows.get(u.taskId);
    if (old && old.seq > seq) return;
    const now = new Date();
    const row = {
      taskId: u.taskId,
      taskName: u.taskName ?? old?.taskName ?? null,
      periodicTaskName: u.periodicTaskName ?? old?.periodicTaskName ?? null,
      status: u.status,
      args: u.args ?? old?.args ?? null,
      kwargs: u.kwargs ?? old?.kwargs ?? null,
      result: u.result === undefined ? (old?.result ?? null) : u.result,
      traceback: u.traceback === undefined ? (old?.traceback ?? null) : u.traceback,
      meta: u.meta ?? old?.meta ?? null,
      worker: u.worker ?? old?.worker ?? null,
      queue: u.queue ?? old?.queue ?? null,
      retries: u.retries,
      parentId: u.parentId ?? old?.parentId ?? null,
      rootId: u.rootId ?? old?.rootId ?? null,
      groupId: u.groupId ?? old?.groupId ?? null,
      dateCreated: old?.dateCreated ?? u.dateCreated ?? now,
      dateStarted: u.dateStarted ?? old?.dateStarted ?? null,
      dateDone: u.dateDone ?? old?.dateDone ?? null,
      dateChanged: now,
      seq,
    };
    this.rows.set(u.taskId, row);
    if (!old && row.parentId) {
      const list = this.children.get(row.parentId) ?? [];
      list.push(row.taskId);
      this.children.set(row.parentId, list);
    }
  }

  async readResult(taskId: string): Promise<TaskResultRow | null> {
    return this.view(taskId);
  }

  async readResults(taskIds: string[]): Promise<TaskResultRow[]> {
    return taskIds.map((id) => this.view(id)).filter((r): r is TaskResultRow => r !== null);
  }

  /** An eager run has finished before its handle is returned: nothing is left to wait for. */
  async waitForResult(taskId: string): Promise<TaskResultRow | null> {
    return this.view(taskId);
  }

  async forgetResult(taskId: string): Promise<void> {
    this.rows.delete(taskId);
  }

  /** Every task of an eager run has finished by the time anyone holds its handle. */
  async revoke(): Promise<void> {}

  async childIds(taskId: string): Promise<string[]> {
    return [...(this.children.get(taskId) ?? [])];
  }

  async saveGroup(groupId: string, taskIds: string[]): Promise<void> {
    this.groups.set(groupId, [...taskIds]);
  }

  async groupTaskIds(groupId: string): Promise<string[] | null> {
    return this.groups.get(groupId) ?? null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    this.groups.delete(groupId);
  }

  // CanvasBackend: the follow-up code's view of this run.
  async saveGroups(groups: { groupId: string; taskIds: string[] }[]): Promise<void> {
    for (const g of groups) this.groups.set(g.groupId, [...g.taskIds]);
  }

  async getMany(taskIds: string[]): Promise<TaskResultRow[]> {
    return this.readResults(taskIds);
  }

  async writeFinal(updates: StateUpdate[]): Promise<void> {
    for (const u of updates) this.write(u);
  }

  async chordJoin(groupId: string, memberId: string, failed: boolean): Promise<{ finished: number; failed: number }> {
    let j = this.joins.get(groupId);
    if (!j) this.joins.set(groupId, (j = { members: new Set(), failed: new Set() }));
    j.members.add(memberId);
    if (failed) j.failed.add(memberId);
    return { finished: j.members.size, failed: j.failed.size };
  }

  async chordFire(groupId: string, messages: PreparedMessage[]): Promise<boolean> {
    if (this.fired.has(groupId)) return false;
    this.fired.add(groupId);
    this.onFire(messages);
    return true;
  }

  /** True when every row this run wrote is final. */
  settled(): boolean {
    for (const r of this.rows.values()) if (!READY_STATES.has(r.status)) return false;
    return true;
  }

  private view(taskId: string): TaskResultRow | null {
    const row = this.rows.get(taskId);
    if (!row) return null;
    const { seq: _seq, ...rest } = row;
    return { ...rest };
  }
}
