import type { OutgoingTask } from '../src/broker/message';

/** A task message to encode with encodeTask(): plain defaults (queue celery, no eta, no work-flow) and what `over` sets. */
export function outgoingTask(over: Partial<OutgoingTask> & Pick<OutgoingTask, 'id' | 'task'>): OutgoingTask {
  return {
    args: [],
    kwargs: {},
    queue: 'celery',
    priority: 0,
    eta: null,
    expires: null,
    retries: 0,
    timeLimit: null,
    softTimeLimit: null,
    rootId: null,
    parentId: null,
    groupId: null,
    groupIndex: null,
    ignoreResult: false,
    headers: {},
    ...over,
  };
}
