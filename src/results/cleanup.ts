import { currentApp } from '../plugin/current-app';
import { registry } from '../plugin/registry';
import { task } from '../plugin/task';

/**
 * Celery's `celery.backend_cleanup`: deletes results older than `resultExpires`. Beat runs it
 * daily (04:00 UTC, as django-celery-beat installs it); results of ignoreResult tasks are never
 * written, so they need no cleanup.
 */
if (!registry.has('celery.backend_cleanup')) {
  task('celery.backend_cleanup', async () => {
    const app = currentApp();
    const before = new Date(Date.now() - app.config.resultExpires * 1000);
    const deleted = await (await app.results()).deleteExpired(before);
    app.logger.log('info', `backend_cleanup deleted ${deleted} results finished before ${before.toISOString()}`);
    return { deleted, before: before.toISOString() };
  }, { expires: 12 * 3600 });
}
