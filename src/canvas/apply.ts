import { randomUUID } from 'node:crypto';
import { isoDate } from '../broker/headers';
import type { Embed } from '../broker/message';
import type { PreparedMessage } from '../runtime/runtime';
import type { ApplyOptions } from '../plugin/options';
import {
  chainSteps,
  chordBody,
  chordHeader,
  firstLeaf,
  groupMembers,
  kindOf,
  makeChain,
  makeChord,
  markTails,
  opts,
  resultIds,
  type Wire,
  type WireOptions,
} from './wire';

/** What applying a node comes to: messages to send and group rows to save before them. */
export interface Plan {
  messages: PreparedMessage[];
  /** chordSize: the group is a chord's header. */
  groups: { groupId: string; taskIds: string[]; chordSize?: number }[];
}

export type Prepare = (
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: ApplyOptions & { embed?: Partial<Embed> },
) => PreparedMessage;

export interface Lineage {
  parentId?: string | null;
  rootId?: string | null;
}

interface Cont extends Lineage {
  /** Steps to run after this node, reversed (the next one last), as the `chain` option. */
  chain?: Wire[] | null;
  kwargs?: Record<string, unknown>;
  /** Options of the call, for the messages sent by this apply (not for later steps). */
  options?: ApplyOptions;
}

export function emptyPlan(): Plan {
  return { messages: [], groups: [] };
}

/**
 * Applies a (frozen) node with partial `args`, the way Celery's apply_async of a chain, group or
 * chord does, and collects what that sends now: a chain sends its first step carrying the rest;
 * a group sends every member; a chord sends its header's members, each carrying the body. The
 * same function runs in the sender and in the worker that continues a work-flow, so a shape
 * behaves the same wherever it is taken up. Mutates the node's options (group membership,
 * chord size); nodes here are copies owned by the caller.
 */
export function applyNode(prepare: Prepare, node: Wire, args: unknown[], cont: Cont, plan: Plan): Plan {
  const o = opts(node);
  switch (kindOf(node)) {
    case 'leaf':
      plan.messages.push(prepareLeaf(prepare, node, args, cont));
      return plan;
    case 'chain': {
      const steps = chainSteps(node);
      if (steps.length === 0) return plan;
      const [first, ...rest] = steps;
      const chain = [...(cont.chain ?? o.chain ?? []), ...rest.reverse()];
      const rootId = cont.rootId ?? (o.root_id as string | undefined) ?? opts(firstLeaf(first) ?? first).task_id;
      return applyNode(prepare, first, args, { ...cont, rootId, chain }, plan);
    }
    case 'group': {
      const after = cont.chain ?? o.chain;
      if (after?.length) {
        // Celery only sends a group last in a chain; should one come with steps after it, they wait for all of it.
        delete o.chain;
        const chord = makeChord(node, makeChain([...after].reverse()));
        return applyNode(prepare, chord, args, { ...cont, chain: null }, plan);
      }
      const members = groupMembers(node);
      if (!o.group_id) {
        const groupId = (o.task_id ??= randomUUID());
        const counter = { i: 0 };
        for (const m of members) markTails(m, groupId, null, counter);
        plan.groups.push({ groupId, taskIds: resultIds(node) });
      }
      // else: unrolled into an outer group that marked these members already.
      for (const m of members) applyNode(prepare, m, args, { ...cont, chain: null }, plan);
      return plan;
    }
    case 'chord': {
      const header = chordHeader(node);
      const groupId = (opts(header).task_id ??= randomUUID());
      const body = chordBody(node);
      const after = cont.chain ?? o.chain;
      if (after?.length) opts(body).chain = after;
      delete o.chain;
      const members = groupMembers(header);
      const taskIds = members.flatMap(resultIds);
      opts(body).chord_size = taskIds.length;
      const counter = { i: 0 };
      for (const m of members) markTails(m, groupId, body, counter);
      plan.groups.push({ groupId, taskIds, chordSize: taskIds.length });
      for (const m of members) applyNode(prepare, m, args, { ...cont, chain: null }, plan);
      // Nothing will ever join an empty chord: its body runs now, with no results.
      if (taskIds.length === 0) applyNode(prepare, body, [[]], { parentId: cont.parentId, rootId: cont.rootId }, plan);
      return plan;
    }
  }
}

function prepareLeaf(prepare: Prepare, node: Wire, args: unknown[], cont: Cont): PreparedMessage {
  const o = opts(node);
  const chain = cont.chain ?? o.chain;
  return prepare(
    node.task,
    node.immutable ? [...(node.args ?? [])] : [...args, ...(node.args ?? [])],
    node.immutable ? { ...node.kwargs } : { ...node.kwargs, ...cont.kwargs },
    {
      ...messageOptions(o),
      ...cont.options,
      taskId: o.task_id,
      parentId: cont.parentId ?? (o.parent_id as string | undefined),
      rootId: cont.rootId ?? (o.root_id as string | undefined),
      groupId: o.group_id,
      groupIndex: o.group_index,
      embed: {
        callbacks: o.link?.length ? o.link : null,
        errbacks: o.link_error?.length ? o.link_error : null,
        chain: chain?.length ? chain : null,
        chord: o.chord ?? null,
      },
    },
  );
}

/** A signature's execution options (ours or Python's) as the options of one send. */
function messageOptions(o: WireOptions): ApplyOptions {
  const out: ApplyOptions = {};
  if (typeof o.queue === 'string' && o.queue) out.queue = o.queue;
  if (typeof o.priority === 'number') out.priority = o.priority;
  if (typeof o.countdown === 'number') out.countdown = o.countdown;
  // A naive date-time (Python's isoformat) is UTC, as Celery reads it.
  if (typeof o.eta === 'string') out.eta = isoDate(o.eta);
  if (typeof o.expires === 'number') out.expires = o.expires;
  else if (typeof o.expires === 'string') out.expires = isoDate(o.expires);
  if (o.headers && typeof o.headers === 'object') out.headers = o.headers as Record<string, unknown>;
  if (typeof o.time_limit === 'number') out.timeLimit = o.time_limit;
  if (typeof o.soft_time_limit === 'number') out.softTimeLimit = o.soft_time_limit;
  if (o.ignore_result === true) out.ignoreResult = true;
  return out;
}
