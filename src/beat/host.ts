/**
 * The one place beat meets the app: the app's Runtime (../runtime/runtime.ts) seen as the narrow
 * BeatHost beat's parts use (./runtime.ts).
 */
import type { PreparedMessage, Runtime } from '../runtime/runtime';
import type { BeatHost } from './runtime';

export function beatHost(app: Runtime): BeatHost {
  return {
    get logger() {
      return app.logger;
    },
    knowsTask: (task) => app.registry.get(task) !== undefined || app.route(task) !== undefined,
    registeredTasks: () => app.registry.names(),
    prepare: (task, args, kwargs, options) => app.prepare(task, args, kwargs, options),
    recordSent(prepared) {
      // Beat hands back exactly what prepare() above returned.
      const messages = prepared as PreparedMessage[];
      app.recordPending(messages);
      if (app.signals.has('afterPublish')) for (const p of messages) app.signals.emit('afterPublish', p.info);
    },
    async recordResent(runs) {
      if (!app.config.trackPending) return;
      const store = await app.results();
      // The worker fills in what an outbox record does not hold (args, kwargs).
      for (const r of runs) {
        store.writeLater({
          taskId: r.taskId,
          status: 'PENDING',
          retries: 0,
          taskName: r.task,
          periodicTaskName: r.name,
          queue: r.queue,
          rootId: r.taskId,
        });
      }
    },
  };
}
