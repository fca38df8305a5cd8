import { randomBytes, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { taskOf, taskStatusJson } from '../../src';
import { celeriac } from './celeriac';
import { ReportTasks } from './reports/tasks';
import { sendWelcome } from './emails/tasks';
import { homePage, loginPage } from './pages';

/**
 * Demo sign-in for the admin: one shared password (CELERIAC_DEMO_PASSWORD, default 'celeriac'),
 * a random session id in an HttpOnly cookie. A real app plugs its own users into authorize().
 */
const sessions = new Set<string>();
const SESSION_COOKIE = 'demo_session';

function sessionOf(req: express.Request): string | undefined {
  const m = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([\\w-]+)`).exec(req.headers.cookie ?? '');
  return m && sessions.has(m[1]) ? m[1] : undefined;
}

function passwordMatches(given: unknown): boolean {
  const expected = Buffer.from(process.env.CELERIAC_DEMO_PASSWORD ?? 'celeriac');
  const actual = Buffer.from(typeof given === 'string' ? given : '');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Only paths on this site: `//evil.example` would be another host. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/admin/celeriac/';
}

/** The sample app's Express app. Exported without listening so tests drive it with supertest. */
export function createWeb(): express.Express {
  const web = express();
  web.use(express.json());
  web.use(celeriac.middleware());

  web.get('/', (_req, res) => {
    res.type('html').send(homePage());
  });

  web.get('/login', (req, res) => {
    res.type('html').send(loginPage(safeNext(req.query.next)));
  });

  web.post('/login', express.urlencoded({ extended: false, limit: '2kb' }), (req, res) => {
    const next = safeNext(req.body?.next);
    if (!passwordMatches(req.body?.password))
      return void res.status(401).type('html').send(loginPage(next, 'Wrong password.'));
    const id = randomBytes(24).toString('base64url');
    sessions.add(id);
    res.cookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'lax', path: '/' });
    res.redirect(303, next);
  });

  web.post('/logout', (req, res) => {
    const id = sessionOf(req);
    if (id) sessions.delete(id);
    res.clearCookie(SESSION_COOKIE, { path: '/' }).redirect(303, '/');
  });

  // The admin, for signed-in users; its static celeriac-status.js is public, for the page above.
  web.use(
    '/admin/celeriac',
    celeriac.admin({ authorize: (req) => sessionOf(req) !== undefined, showTracebacks: true, loginUrl: '/login' }),
  );

  web.post('/reports', async (req, res) => {
    const title =
      typeof req.body?.title === 'string' && req.body.title.trim()
        ? req.body.title.trim().slice(0, 100)
        : 'Quarterly report';
    const result = await taskOf(ReportTasks.prototype.build).delay(title, 10);
    res.status(202).json({ taskId: result.id });
  });

  web.post('/emails', async (req, res) => {
    const to = String(req.body?.to ?? '');
    if (!/^[^@\s]+@[^@\s]+$/.test(to))
      return void res.status(400).json({ errors: { to: 'Enter an email address like ada@example.com' } });
    const result = await sendWelcome.delay(to);
    res.status(202).json({ taskId: result.id });
  });

  // The public status route the page polls, in the admin's task-status shape (no stacks), which
  // celeriac-status.js understands. A real app would check the task belongs to the visitor.
  web.get('/tasks/:id', async (req, res) => {
    const info = await req.celeriac.asyncResult(req.params.id).info();
    res.set('Cache-Control', 'no-store');
    if (!info) return void res.status(404).json({ id: req.params.id, state: 'UNKNOWN' });
    res.json(taskStatusJson(info));
  });
  return web;
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  // Express 5 passes listen errors (EADDRINUSE) to this callback: unhandled, the app would exit 0 silently.
  createWeb().listen(port, (error) => {
    if (error) throw error;
    console.log(`Sample app on http://localhost:${port}`);
  });
}
