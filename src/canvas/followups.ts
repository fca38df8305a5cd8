import type { Broker } from '../broker';
import type { TaskMessage } from '../broker/message';
import type { Celeriac, PreparedMessage } from '../celeriac';
import type { ResultStore, StateUpdate } from '../results/store';
import { Signature } from './signature';

/** Chord bookkeeping in Redis outlives any plausible chord: a day, as results do. */
const CHORD_TTL_MS = 24 * 3600 * 1000;

export interface FollowUps {
  /** Messages to send atomically with the finished task's ack: callbacks, errbacks, the chain's next link. */
  messages: PreparedMessage[];
  /** Rows for a broken chain's remaining links, so the chain's result (its last link) shows the failure. */
  brokenChain: StateUpdate[];
  chord: { groupId: string; body: Signature; size: number } | null;
}

/** What a task's final state sets off, read from its message's `embed` as Celery's worker does. */
export function followUps(
  app: Celeriac,
  msg: TaskMessage,
  state: 'SUCCESS' | 'FAILURE' | 'REVOKED',
  result: unknown,
): FollowUps {
  const out: FollowUps = { messages: [], brokenChain: [], chord: null };
  const lineage = { parentId: msg.id, rootId: msg.rootId };
  const chainLinks = msg.embed.chain ?? [];
  if (state === 'SUCCESS') {
    for (const cb of msg.embed.callbacks ?? [])
      out.messages.push(Signature.fromJSON(cb).prepare([result], {}, lineage));
    if (chainLinks.length > 0) {
      const rest = chainLinks.slice(0, -1);
      const next = Signature.fromJSON(chainLinks[chainLinks.length - 1]);
      out.messages.push(next.prepare([result], {}, { ...lineage, embed: { chain: rest.length ? rest : null } }));
    }
  } else {
    // Celery's old-style errback: the failed task's id comes first.
    for (const eb of msg.embed.errbacks ?? []) out.messages.push(Signature.fromJSON(eb).prepare([msg.id], {}, lineage));
    const reason = `${msg.task}[${msg.id}] ${state === 'REVOKED' ? 'was revoked' : 'failed'}, so the chain stopped here`;
    for (const link of chainLinks) {
      const id = (link.options as { task_id?: string })?.task_id;
      if (!id) continue;
      out.brokenChain.push({
        taskId: id,
        status: 'FAILURE',
        retries: 0,
        taskName: link.task,
        parentId: msg.id,
        rootId: msg.rootId,
        result: { exc_type: 'ChainBroken', exc_message: [reason], exc_module: 'celeriac' },
        dateDone: new Date(),
      });
    }
  }
  if (msg.embed.chord && msg.groupId) {
    const body = Signature.fromJSON(msg.embed.chord);
    const size = Number((body.options.headers as { chord_size?: number } | undefined)?.chord_size);
    if (size > 0) out.chord = { groupId: msg.groupId, body, size };
  }
  return out;
}

/**
 * Joins a finished member to its chord; the member whose join completes the chord sends the
 * callback with every member's result in order (read from the result table, where each member
 * committed its result before joining). Called before the member's ack, so a crash anywhere
 * here redelivers the member and the join runs again; the set-based join and the fire-once
 * flag make the repeat harmless.
 */
export async function joinChord(
  app: Celeriac,
  broker: Broker,
  store: ResultStore,
  chord: NonNullable<FollowUps['chord']>,
  memberId: string,
  failed: boolean,
): Promise<void> {
  const { finished, failed: failedCount } = await broker.chordJoin(chord.groupId, memberId, failed, CHORD_TTL_MS);
  if (finished < chord.size) return;
  const ids = (await store.groupTaskIds(chord.groupId)) ?? [];
  const rows = new Map((await store.getMany(ids)).map((r) => [r.taskId, r]));
  if (failedCount > 0) {
    const bad = ids.map((id) => rows.get(id)).find((r) => r && r.status !== 'SUCCESS');
    const why = bad
      ? `${bad.taskName}[${bad.taskId}] ended ${bad.status}${bad.result && (bad.result as any).exc_type ? ` (${(bad.result as any).exc_type})` : ''}`
      : 'a member failed';
    await store.write({
      taskId: chord.body.id!,
      status: 'FAILURE',
      retries: 0,
      taskName: chord.body.task,
      groupId: chord.groupId,
      result: {
        exc_type: 'ChordError',
        exc_message: [`Dependency ${why}; the chord callback did not run.`],
        exc_module: 'celeriac',
      },
      dateDone: new Date(),
    });
    await broker.chordFire(chord.groupId, null, CHORD_TTL_MS);
    return;
  }
  const results = ids.map((id) => rows.get(id)?.result ?? null);
  const prepared = chord.body.prepare([results], {}, { parentId: memberId, rootId: chord.body.id });
  if (await broker.chordFire(chord.groupId, prepared.outgoing, CHORD_TTL_MS)) app.recordPending([prepared]);
}
