import { task, type TaskContext } from '../../../src';

/** A long task that reports its progress, for the page's progress bar. */
export class ReportTasks {
  @task({ name: 'reports.build', trackStarted: true, timeLimit: 120 })
  async build(ctx: TaskContext, title: string, pages = 10) {
    for (let page = 1; page <= pages; page++) {
      ctx.signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 300));
      await ctx.progress(page, pages, { step: `Rendering page ${page} of ${pages}` });
    }
    return { title, pages, url: `/reports/${encodeURIComponent(title)}.pdf` };
  }
}
