import { join } from 'node:path';
import { Celeriac, DuplicateTaskError } from '../../src';
import { silentLogger } from '../../src/log';

/**
 * A decorated method is named after its module and method (Celery's rule), so two classes of one
 * tasks.ts with a same-named method share a name. That must fail at start, naming both classes and
 * the explicit name that cures it, under both decorator modes; never let one silently replace the other.
 */
test.each(['legacy', 'tc39'])(
  'two classes of one module with a same-named method fail at start (%s decorators)',
  (mode) => {
    let error: unknown;
    try {
      new Celeriac({
        brokerUrl: 'memory://',
        logger: silentLogger,
        apps: [join(__dirname, '../fixtures/clash', mode)],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DuplicateTaskError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^Two tasks are named 'test\.fixtures\.clash\.\w+\.tasks\.build': \w+Tasks\.build and \w+Tasks\.build in /,
    );
    expect(message).toContain('ReportTasks.build');
    expect(message).toContain('InvoiceTasks.build');
    expect(message).toContain(join('clash', mode, 'tasks.ts'));
    expect(message).toMatch(
      /@task\(\{ name: 'test\.fixtures\.clash\.\w+\.tasks\.(reportTasks|invoiceTasks)\.build' \}\)/,
    );
  },
);
