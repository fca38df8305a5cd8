import express from 'express';
import { taskOf } from '../../src';
import { celeriac } from './celeriac';
import { ReportTasks } from './reports/tasks';
import { sendWelcome } from './emails/tasks';
import { homePage } from './pages';

/** The sample app's Express app. Exported without listening so tests drive it with supertest. */
export function createWeb(): express.Express {
  const web = express();
  web.use(express.json());
  web.use(celeriac.middleware());

  web.get('/', (_req, res) => {
    res.type('html').send(homePage());
  });

  web.post('/reports', async (req, res) => {
    const title = typeof req.body?.title === 'string' && req.body.title.trim() ? req.body.title.trim().slice(0, 100) : 'Quarterly report';
    const result = await taskOf(ReportTasks.prototype.build).delay(title, 10);
    res.status(202).json({ taskId: result.id });
  });

  web.post('/emails', async (req, res) => {
    const to = String(req.body?.to ?? '');
    if (!/^[^@\s]+@[^@\s]+$/.test(to)) return void res.status(400).json({ errors: { to: 'Enter an email address like ada@example.com' } });
    const result = await sendWelcome.delay(to);
    res.status(202).json({ taskId: result.id });
  });

  // The status route the page polls (the admin's /tasks/:id serves the same for admins).
  web.get('/tasks/:id', async (req, res) => {
    const info = await req.celeriac.asyncResult(req.params.id).info();
    if (!info) return void res.status(404).json({ id: req.params.id, state: 'UNKNOWN' });
    res.json({ id: info.taskId, state: info.status, result: info.status === 'SUCCESS' ? info.result : null, progress: info.meta ?? null });
  });
  return web;
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  createWeb().listen(port, () => console.log(`Sample app on http://localhost:${port}`));
}
