import { task } from '../plugin/task';
import { registry } from '../plugin/registry';
import type { TaskContext } from '../plugin/context';

/**
 * Celery's built-in `celery.map` and `celery.starmap` (celery/app/builtins.py): one message whose
 * worker runs another task's body once per item. Python sends the task as a signature dict; we
 * accept that or a plain name.
 */
function target(ref: unknown) {
  const name = typeof ref === 'string' ? ref : String((ref as { task?: unknown })?.task);
  return registry.require(name);
}

if (!registry.has('celery.map')) {
  task('celery.map', async (ctx: TaskContext, ref: unknown, items: unknown[]) => {
    const t = target(ref);
    const out: unknown[] = [];
    for (const item of items) out.push(await t.run(ctx, [item], {}));
    return out;
  });
  task('celery.starmap', async (ctx: TaskContext, ref: unknown, items: unknown[][]) => {
    const t = target(ref);
    const out: unknown[] = [];
    for (const item of items) out.push(await t.run(ctx, item, {}));
    return out;
  });
}
