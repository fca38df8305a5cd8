import { randomUUID } from 'node:crypto';
import { encodeTask, type OutgoingTask } from '../../src/broker/message';
import { outgoingTask } from '../outgoing';

/**
 * A task message for tests that talk to a broker directly: what a plain `delay()` sends, with a
 * fresh id (its first argument too, so deliveries can be told apart) unless `fields` say otherwise.
 */
export function testMessage(task: string, queue: string, priority = 0, fields: Partial<OutgoingTask> = {}) {
  const id = fields.id ?? randomUUID();
  const raw = encodeTask(outgoingTask({ id, task, args: [id], queue, priority, ...fields }));
  return { id, queue, priority, raw };
}
