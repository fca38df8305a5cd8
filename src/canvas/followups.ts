import type { TaskMessage } from '../broker/message';
import { CeleriacError } from '../errors';
import type { PreparedMessage } from '../runtime/runtime';
import type { StateUpdate } from '../results/store';
import { applyNode, emptyPlan, type Lineage, type Plan, type Prepare } from './apply';
import type { CanvasBackend } from './backend';
import {
  chainSteps,
  chordBody,
  chordHeader,
  cloneWire,
  errbacksOf,
  firstLeaf,
  groupMembers,
  kindOf,
  opts,
  resultIds,
  type Wire,
} from './wire';

/** A finished (or never-to-run) member of a chord, to be counted in. */
interface Join {
  groupId: string;
  memberId: string;
  failed: boolean;
  body: Wire;
  rootId: string | null;
}

/**
 * Runs what a task's final state sets off, read from its message's `embed` as Celery's worker
 * does: on success its callbacks and the chain's next step; on failure its errbacks, and every
 * step of the chain that now never runs recorded as FAILURE (ChainBroken). A chord member joins
 * its chord; the member that completes it fires the body, or, if any member failed, records the
 * body as FAILURE (ChordError) and fires the chord's errbacks. Whatever can no longer run because
 * of a failure is recorded, and counted into the chords it belonged to, so a work-flow of any
 * shape ends instead of leaving a waiter on PENDING.
 *
 * Returns the messages to send in the same atomic step as the task's ack. Everything before that
 * is idempotent (group rows keyed by frozen ids, final rows under the seq guard, set-based joins,
 * fire-once chords), so a task redelivered after a crash here runs it again harmlessly.
 */
export async function runFollowUps(
  prepare: Prepare,
  backend: CanvasBackend,
  msg: TaskMessage,
  state: 'SUCCESS' | 'FAILURE' | 'REVOKED',
  result: unknown,
): Promise<PreparedMessage[]> {
  const lineage: Lineage = { parentId: msg.id, rootId: msg.rootId };
  const plan = emptyPlan();
  const chain = (msg.embed.chain ?? []).map(cloneWire);
  const fallout: Fallout = { rows: [], joins: [] };
  if (state === 'SUCCESS') {
    const of = `${msg.task}[${msg.id}]`;
    for (const cb of msg.embed.callbacks ?? [])
      applyOrCancel(prepare, cb, [result], lineage, plan, fallout, `a callback of ${of}`);
    if (chain.length > 0) {
      const next = chain.pop()!;
      if (!applyOrCancel(prepare, next, [result], lineage, plan, fallout, `the chain's next step after ${of}`, chain)) {
        const why = `the chain's step after ${of} could not be sent, so the chain stopped there`;
        for (const step of chain) cancel(step, { excType: 'ChainBroken', message: why, ...lineage }, fallout);
      }
    }
  } else {
    // Celery's old-style errback: the failed task's id comes first.
    for (const eb of msg.embed.errbacks ?? [])
      applyOrCancel(prepare, eb, [msg.id], lineage, plan, fallout, `an errback of ${msg.task}[${msg.id}]`);
    const why = `${msg.task}[${msg.id}] ${state === 'REVOKED' ? 'was revoked' : 'failed'}, so the chain stopped here`;
    for (const step of chain) cancel(step, { excType: 'ChainBroken', message: why, ...lineage }, fallout);
  }
  if (msg.embed.chord && msg.groupId)
    fallout.joins.push({
      groupId: msg.groupId,
      memberId: msg.id,
      failed: state !== 'SUCCESS',
      body: msg.embed.chord,
      rootId: msg.rootId,
    });
  await settle(prepare, backend, plan, fallout);
  return plan.messages;
}

/**
 * One follow-up of a finished task: a callback, the chain's next step, an errback. One that
 * cannot be sent (options a send refuses, such as a Python signature's priority 300; a message
 * too large) is recorded FAILURE with the reason, as a chain step that never runs is, and the
 * task's other follow-ups go on: thrown, it made the finisher give the task back to run again
 * and then record the task that succeeded as FAILURE, its good callbacks never run. Applied into
 * a plan of its own first, so a node that fails part-way sends none of itself. Returns whether it
 * was applied.
 */
function applyOrCancel(
  prepare: Prepare,
  wire: Wire,
  args: unknown[],
  lineage: Lineage,
  plan: Plan,
  out: Fallout,
  what: string,
  chain?: Wire[],
): boolean {
  const own = emptyPlan();
  try {
    applyNode(prepare, cloneWire(wire), args, chain ? { ...lineage, chain } : lineage, own);
  } catch (err) {
    if (!(err instanceof CeleriacError)) throw err;
    cancel(cloneWire(wire), { excType: err.name, message: `${what} cannot be sent: ${err.message}`, ...lineage }, out);
    return false;
  }
  plan.messages.push(...own.messages);
  plan.groups.push(...own.groups);
  return true;
}

interface Fallout {
  rows: StateUpdate[];
  joins: Join[];
}

async function settle(prepare: Prepare, backend: CanvasBackend, plan: Plan, fallout: Fallout): Promise<void> {
  if (plan.groups.length) await backend.saveGroups(plan.groups);
  if (fallout.rows.length) await backend.writeFinal(fallout.rows);
  for (const j of fallout.joins) await joinChord(prepare, backend, j);
}

interface Reason extends Lineage {
  excType: string;
  message: string;
}

/**
 * A node that will never run: each of its tasks gets a FAILURE row saying why, and each of its
 * result tasks that belonged to a chord outside the node is counted into that chord as failed.
 */
function cancel(node: Wire, reason: Reason, out: Fallout): void {
  const inner = new Set<string>();
  const leaves: [Wire, Reason][] = [];
  const walk = (w: Wire, why: Reason) => {
    switch (kindOf(w)) {
      case 'leaf':
        leaves.push([w, why]);
        break;
      case 'chain':
        chainSteps(w).forEach((s) => walk(s, why));
        break;
      case 'group':
        groupMembers(w).forEach((m) => walk(m, why));
        break;
      case 'chord': {
        const header = chordHeader(w);
        if (opts(header).task_id) inner.add(opts(header).task_id!);
        groupMembers(header).forEach((m) => walk(m, why));
        walk(chordBody(w), why);
        break;
      }
    }
    const after = opts(w).chain;
    if (after?.length) {
      const first = firstLeaf(w);
      const message = `${first?.task ?? w.task}[${(first && opts(first).task_id) ?? '?'}] did not run, so the chain stopped here`;
      for (const later of after) walk(later, { ...why, excType: 'ChainBroken', message });
    }
  };
  walk(node, reason);
  for (const [leaf, why] of leaves) {
    const o = opts(leaf);
    if (!o.task_id) continue; // unfrozen (a Python sender's): nobody can be waiting on it by id
    out.rows.push({
      taskId: o.task_id,
      status: 'FAILURE',
      retries: 0,
      taskName: leaf.task,
      args: leaf.args ?? [],
      kwargs: leaf.kwargs ?? {},
      parentId: why.parentId ?? null,
      rootId: why.rootId ?? null,
      groupId: o.group_id ?? null,
      result: { exc_type: why.excType, exc_message: [why.message], exc_module: 'celeriac' },
      dateDone: new Date(),
    });
    if (o.chord && o.group_id && !inner.has(o.group_id))
      out.joins.push({
        groupId: o.group_id,
        memberId: o.task_id,
        failed: true,
        body: o.chord,
        rootId: why.rootId ?? null,
      });
  }
}

/**
 * Joins a finished member to its chord; the member whose join completes the chord sends the body
 * with every member's result in order (read from the result table, where each member committed
 * its result before joining). Called before the member's ack, so a crash anywhere here
 * redelivers the member and the join runs again; the set-based join and the fire-once flag make
 * the repeat harmless. Work done before the fire (failure rows, joins into enclosing chords) is
 * idempotent and done again on a repeat, so a crash between it and the fire loses nothing.
 */
async function joinChord(prepare: Prepare, backend: CanvasBackend, j: Join): Promise<void> {
  const joined = await backend.chordJoin(j.groupId, j.memberId, j.failed);
  const { finished } = joined;
  let ids = joined.memberIds;
  if (ids) {
    if (finished < ids.length) return;
  } else {
    const bodyOptions = opts(j.body);
    const declared = bodyOptions.chord_size ?? (bodyOptions.headers as { chord_size?: number } | undefined)?.chord_size;
    if (typeof declared === 'number' && finished < declared) return;
    ids = (await backend.groupTaskIds(j.groupId)) ?? [];
    if (finished < (typeof declared === 'number' ? declared : ids.length)) return;
  }
  const rows = new Map((await backend.getMany(ids)).map((r) => [r.taskId, r]));
  // A counter's join does not know which members failed (Python's members never say); their rows do.
  const failed = joined.memberIds ? ids.filter((id) => rows.get(id)?.status !== 'SUCCESS').length : joined.failed;
  const body = cloneWire(j.body);
  const lineage: Lineage = { parentId: j.memberId, rootId: j.rootId };
  const plan = emptyPlan();
  if (failed > 0) {
    const bad = ids.map((id) => rows.get(id)).find((r) => r && r.status !== 'SUCCESS');
    const excType = (bad?.result as { exc_type?: string } | null)?.exc_type;
    const why = bad
      ? `${bad.taskName}[${bad.taskId}] ended ${bad.status}${excType ? ` (${excType})` : ''}`
      : 'a member failed';
    const fallout: Fallout = { rows: [], joins: [] };
    cancel(
      body,
      { excType: 'ChordError', message: `Dependency ${why}; the chord callback did not run.`, ...lineage },
      fallout,
    );
    const resultId = resultIds(body)[0] ?? j.groupId;
    for (const eb of errbacksOf(body))
      applyOrCancel(
        prepare,
        eb,
        [resultId],
        lineage,
        plan,
        fallout,
        `an errback of group ${j.groupId}'s chord callback`,
      );
    await settle(prepare, backend, plan, fallout);
  } else {
    const results = ids.map((id) => rows.get(id)?.result ?? null);
    // A callback that cannot be sent is recorded FAILURE: thrown, the member completing the chord
    // was given back and dead-lettered, and the callback's row stayed PENDING for good.
    const unsent: Fallout = { rows: [], joins: [] };
    if (!applyOrCancel(prepare, body, [results], lineage, plan, unsent, `group ${j.groupId}'s chord callback`))
      await settle(prepare, backend, plan, unsent);
  }
  if (plan.groups.length) await backend.saveGroups(plan.groups);
  await backend.chordFire(j.groupId, plan.messages);
}
