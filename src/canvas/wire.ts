import { randomUUID } from 'node:crypto';
import type { Signature as WireSignature } from '../broker/message';
import { CanvasError } from '../errors';

/**
 * Canvas in Celery's wire form (celery/canvas.py, 5.2): every node is a signature dict, and
 * chains, groups and chords are signatures of the tasks `celery.chain`, `celery.group` and
 * `celery.chord` with a `subtask_type` and their parts in `kwargs`. Work-flows travel in this form
 * inside messages (`embed.chain`, `embed.chord`, callbacks), so the rules that shape them live
 * here, once, and both the sender and the worker read them the same way, whoever froze the node
 * (Celeriac or Python).
 */
export type Wire = WireSignature;

export interface WireOptions {
  task_id?: string;
  group_id?: string;
  group_index?: number;
  /** The chord body this task's result is a member of (with group_id). */
  chord?: Wire | null;
  /** Celeriac: how many results the chord with this body waits for. */
  chord_size?: number;
  /** What runs after this node, reversed (the worker pops from the end), as Celery's `chain` option. */
  chain?: Wire[] | null;
  link?: Wire[];
  link_error?: Wire[];
  root_id?: string;
  parent_id?: string;
  [key: string]: unknown;
}

export type Kind = 'leaf' | 'chain' | 'group' | 'chord';

export function kindOf(w: Wire): Kind {
  const type = w.subtask_type ?? typeFromName(w.task);
  if (type === 'chain' || type === 'group' || type === 'chord') return type;
  return 'leaf';
}

function typeFromName(task: string): string | null {
  return task === 'celery.chain'
    ? 'chain'
    : task === 'celery.group'
      ? 'group'
      : task === 'celery.chord'
        ? 'chord'
        : null;
}

export const opts = (w: Wire): WireOptions => (w.options ??= {}) as WireOptions;

function list(value: unknown, what: string, w: Wire): Wire[] {
  if (!Array.isArray(value))
    throw new CanvasError(
      `A ${w.subtask_type ?? w.task} signature has no ${what} list: ${JSON.stringify(w).slice(0, 200)}`,
    );
  return value as Wire[];
}

export function makeWire(task: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options = {}): Wire {
  return { task, args, kwargs, options, subtask_type: null, immutable: false };
}

export function makeChain(tasks: Wire[], options: WireOptions = {}): Wire {
  return { task: 'celery.chain', args: [], kwargs: { tasks }, options, subtask_type: 'chain', immutable: false };
}

export function makeGroup(tasks: Wire[], options: WireOptions = {}): Wire {
  return { task: 'celery.group', args: [], kwargs: { tasks }, options, subtask_type: 'group', immutable: false };
}

export function makeChord(header: Wire, body: Wire, options: WireOptions = {}): Wire {
  return {
    task: 'celery.chord',
    args: [],
    kwargs: { kwargs: {}, header, body },
    options,
    subtask_type: 'chord',
    immutable: false,
  };
}

/** A group's members with nested groups unrolled into it, as Celery's group does. */
export function groupMembers(w: Wire): Wire[] {
  return list(w.kwargs?.tasks, 'tasks', w).flatMap((t) => (kindOf(t) === 'group' ? groupMembers(spread(t)) : [t]));
}

/**
 * A group or chain about to be unrolled into its parent hands its own callbacks down to the
 * tasks they act on first, so unrolling never drops a link or link_error.
 */
function spread(w: Wire): Wire {
  const o = opts(w);
  const { link, link_error } = o;
  if (!link?.length && !link_error?.length) return w;
  delete o.link;
  delete o.link_error;
  for (const eb of link_error ?? []) addErrback(w, eb);
  for (const cb of link ?? []) addCallback(w, cb);
  return w;
}

/** The chord's header as a group (Python may send it as a plain list of signatures). */
export function chordHeader(w: Wire): Wire {
  const header = w.kwargs?.header;
  if (Array.isArray(header)) return makeGroup(header as Wire[]);
  if (header && typeof header === 'object') {
    const h = header as Wire;
    return kindOf(h) === 'group' ? h : makeGroup([h]);
  }
  throw new CanvasError(`A chord signature has no header: ${JSON.stringify(w).slice(0, 200)}`);
}

export function chordBody(w: Wire): Wire {
  const body = w.kwargs?.body;
  if (!body || typeof body !== 'object') throw new CanvasError('A chord signature has no body.');
  return body as Wire;
}

/**
 * A chain's steps as Celery's prepare_steps runs them: nested chains spliced in, and a group
 * followed by another step upgraded to a chord whose body is that step (Celery walks from the
 * end, so `g1 | g2 | c` is `chord(g1, chord(g2, c))`). Unlike Celery, a one-member group stays a
 * group: its result is a list whatever the number of members, as its type says.
 */
export function chainSteps(w: Wire): Wire[] {
  const flat: Wire[] = [];
  const push = (s: Wire) => {
    if (kindOf(s) === 'chain') return list(spread(s).kwargs?.tasks, 'tasks', s).forEach(push);
    flat.push(s);
  };
  list(w.kwargs?.tasks, 'tasks', w).forEach(push);
  const steps: Wire[] = [];
  for (let i = flat.length - 1; i >= 0; i--) {
    const s = flat[i];
    if (kindOf(s) === 'group' && steps.length > 0) steps[0] = makeChord(s, steps[0]);
    else steps.unshift(s);
  }
  return steps;
}

/**
 * The leaves whose results stand for the node: a chain's last step's, a chord's body's, every
 * member's of a group. A chord waits for these, and a GroupResult lists them.
 */
export function resultLeaves(w: Wire): Wire[] {
  switch (kindOf(w)) {
    case 'leaf':
      return [w];
    case 'chain': {
      const steps = chainSteps(w);
      return steps.length ? resultLeaves(steps[steps.length - 1]) : [];
    }
    case 'group':
      return groupMembers(w).flatMap(resultLeaves);
    case 'chord':
      return resultLeaves(chordBody(w));
  }
}

export function resultIds(w: Wire): string[] {
  return resultLeaves(w).map((l) => opts(l).task_id ?? '');
}

/** The first leaf that would be sent when the node is applied (its id is the root of a chain). */
export function firstLeaf(w: Wire): Wire | undefined {
  switch (kindOf(w)) {
    case 'leaf':
      return w;
    case 'chain':
      return chainSteps(w).map(firstLeaf).find(Boolean);
    case 'group':
      return groupMembers(w).map(firstLeaf).find(Boolean);
    case 'chord':
      return groupMembers(chordHeader(w)).map(firstLeaf).find(Boolean) ?? firstLeaf(chordBody(w));
  }
}

/**
 * Makes the node's result leaves members of group `groupId` (and of the chord with `body`):
 * the leaf that finishes the node joins for it, whatever the nesting, as Celery's freeze does
 * with group_id/chord on a chain's last task. A group reached here is unrolled into the outer
 * group; its own group_id option marks that, so it is not saved as a group of its own.
 */
export function markTails(w: Wire, groupId: string, body: Wire | null, counter = { i: 0 }): void {
  switch (kindOf(w)) {
    case 'leaf': {
      const o = opts(w);
      o.group_id = groupId;
      o.group_index = counter.i++;
      if (body) o.chord = body;
      else delete o.chord;
      return;
    }
    case 'chain': {
      const steps = chainSteps(w);
      w.kwargs = { ...w.kwargs, tasks: steps };
      if (steps.length) markTails(steps[steps.length - 1], groupId, body, counter);
      return;
    }
    case 'group': {
      const members = groupMembers(w);
      w.kwargs = { ...w.kwargs, tasks: members };
      opts(w).group_id = groupId;
      for (const m of members) markTails(m, groupId, body, counter);
      return;
    }
    case 'chord':
      return markTails(chordBody(w), groupId, body, counter);
  }
}

/** Errbacks attached to a node reach the tasks that can fail on its behalf (Celery's link_error). */
export function addErrback(w: Wire, eb: Wire): void {
  switch (kindOf(w)) {
    case 'leaf':
      (opts(w).link_error ??= []).push(eb);
      return;
    case 'chain':
      return chainSteps(w).forEach((s) => addErrback(s, eb));
    case 'group':
      return groupMembers(w).forEach((m) => addErrback(m, eb));
    case 'chord':
      return addErrback(chordBody(w), eb);
  }
}

/** A callback gets the node's single result: a chain's last step's, a chord's body's. */
export function addCallback(w: Wire, cb: Wire): void {
  switch (kindOf(w)) {
    case 'leaf':
      (opts(w).link ??= []).push(cb);
      return;
    case 'chain': {
      const steps = chainSteps(w);
      if (!steps.length) throw new CanvasError('link() on an empty chain: there is no task to call back from.');
      return addCallback(steps[steps.length - 1], cb);
    }
    case 'group':
      throw new CanvasError(
        'A group has no single result to pass to a callback: use chord(group, callback) to run it with every result.',
      );
    case 'chord':
      return addCallback(chordBody(w), cb);
  }
}

/**
 * The errbacks to fire when the node cannot run at all (a chord whose member failed): what its
 * first task would have fired, deduplicated, so an errback given to a whole group fires once.
 */
export function errbacksOf(w: Wire): Wire[] {
  switch (kindOf(w)) {
    case 'leaf':
      return opts(w).link_error ?? [];
    case 'chain': {
      const first = chainSteps(w)[0];
      return first ? errbacksOf(first) : [];
    }
    case 'group': {
      const seen = new Set<string>();
      return groupMembers(w)
        .flatMap(errbacksOf)
        .filter((eb) => {
          const key = JSON.stringify(eb);
          return seen.has(key) ? false : (seen.add(key), true);
        });
    }
    case 'chord':
      return errbacksOf(chordBody(w));
  }
}

/**
 * Gives every task and group in the node its id now, in canonical form (chains normalised, groups
 * unrolled, link/link_error moved to the tasks they act on), so a work-flow's ids are all known
 * before anything runs and a redelivered task re-sends the same ones. Callbacks keep no fixed id:
 * one errback may fire for several failed members. Mutates `w`; pass a copy.
 */
export function freeze(w: Wire, resolveQueue?: (task: string) => string | undefined): Wire {
  const o = opts(w);
  const { link, link_error } = o;
  switch (kindOf(w)) {
    case 'leaf':
      o.task_id ??= randomUUID();
      if (!o.queue && resolveQueue) {
        const q = resolveQueue(w.task);
        if (q) o.queue = q;
      }
      return w;
    case 'chain': {
      delete o.link;
      delete o.link_error;
      w.kwargs = { tasks: chainSteps(w).map((s) => freeze(s, resolveQueue)) };
      break;
    }
    case 'group': {
      delete o.link;
      delete o.link_error;
      o.task_id ??= randomUUID();
      w.kwargs = { tasks: groupMembers(w).map((m) => freeze(m, resolveQueue)) };
      break;
    }
    case 'chord': {
      delete o.link;
      delete o.link_error;
      const header = freeze(chordHeader(w), resolveQueue);
      w.kwargs = { ...w.kwargs, header, body: freeze(chordBody(w), resolveQueue) };
      break;
    }
  }
  for (const eb of link_error ?? []) addErrback(w, eb);
  for (const cb of link ?? []) addCallback(w, cb);
  return w;
}

export function cloneWire(w: Wire): Wire {
  return structuredClone(w);
}
