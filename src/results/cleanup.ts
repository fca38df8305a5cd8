import { currentApp } from '../plugin/current-app';
import type { Runtime } from '../runtime/runtime';
import { registry } from '../plugin/registry';
import { task } from '../plugin/task';

/**
 * Celery's `celery.backend_cleanup`: deletes results older than `resultExpires`, and rows that
 * never finished and have not changed for as long (Celery stores no PENDING rows, so it has none
 * to forget; we do). Beat runs it daily (04:00 UTC, as django-celery-beat installs it); results of
 * ignoreResult tasks are never written, so they need no cleanup.
 */
if (!registry.has('celery.backend_cleanup')) {
  task(
    'celery.backend_cleanup',
    async () => {
      const app = currentApp<Runtime>();
      const before = new Date(Date.now() - app.config.resultExpires * 1000);
      const { finished, unfinished } = await (await app.results()).deleteExpired(before);
      app.logger.log(
        'info',
        `backend_cleanup deleted ${finished} results finished before ${before.toISOString()} and ${unfinished} unfinished ones unchanged since`,
      );
      return { deleted: finished + unfinished, finished, unfinished, before: before.toISOString() };
    },
    { expires: 12 * 3600 },
  );
}
