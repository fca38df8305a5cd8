import type { Broker } from '../broker';
import { encodeControl } from '../broker/pidbox';
import type { ResultStore } from '../results/store';
import { RemoteControl } from './inspect';

/** How long revoked ids are remembered: Celery's LimitedSet keeps them 3 hours. */
const REVOKE_MEMORY_MS = 3 * 3600 * 1000;

/**
 * Remote control from the client side. Revoke is stored (so a worker that starts later still
 * drops the task: Celery forgets it) and broadcast in Celery's pidbox format (so workers running
 * the task now can terminate it), and the result row turns REVOKED at once. Inspect and the other
 * control commands come from RemoteControl (inspect.ts).
 */
export class Control extends RemoteControl {
  constructor(
    private readonly broker: () => Promise<Broker>,
    private readonly results: () => Promise<ResultStore | undefined>,
  ) {
    super(broker);
  }

  async revoke(taskIds: string | string[], options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    const ids = Array.isArray(taskIds) ? taskIds : [taskIds];
    const broker = await this.broker();
    await broker.addRevoked(ids, Date.now() + REVOKE_MEMORY_MS);
    await broker.publish(
      broker.channels.pidbox,
      encodeControl({
        method: 'revoke',
        arguments: {
          task_id: ids.length === 1 ? ids[0] : ids,
          terminate: options.terminate ?? false,
          signal: options.signal ?? 'SIGTERM',
        },
        destination: null,
      }),
    );
    const store = await this.results();
    await store?.markRevoked(ids);
  }
}
