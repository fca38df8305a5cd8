import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import type { AdminOptions, Celeriac, CeleriacOptions } from '../../src';
import { makeApp } from '../helpers';

export const MOUNT = '/admin/celeriac';
export const STAFF = { 'x-test-user': 'staff' };

/**
 * An app with the math and behave fixture tasks and the admin mounted at MOUNT. Requests are
 * authorised by the header `x-test-user: staff`; `x-test-tracebacks: 1` lets them see stacks.
 */
export async function adminApp(label: string, options: { admin?: Partial<AdminOptions>; app?: CeleriacOptions } = {}) {
  const app = await makeApp(label, {
    apps: [join(__dirname, '../fixtures/apps/math'), join(__dirname, '../fixtures/behave')],
    ...options.app,
  });
  const web = express();
  web.use(
    MOUNT,
    app.admin({
      authorize: (req) => req.get('x-test-user') === 'staff',
      showTracebacks: (req) => req.get('x-test-tracebacks') === '1',
      ...options.admin,
    } as AdminOptions),
  );
  return { app, web };
}

/** A signed-in browser session: keeps the CSRF cookie and sends the token with every write. */
export async function staffSession(web: express.Express) {
  const agent = request.agent(web);
  const { body } = await agent.get(`${MOUNT}/api/csrf`).set(STAFF).expect(200);
  const token: string = body.token;
  return {
    token,
    agent,
    get: (path: string) => agent.get(MOUNT + path).set(STAFF),
    post: (path: string, payload: unknown = {}) =>
      agent
        .post(MOUNT + path)
        .set(STAFF)
        .set('X-CSRF-Token', token)
        .send(payload as object),
    put: (path: string, payload: unknown = {}) =>
      agent
        .put(MOUNT + path)
        .set(STAFF)
        .set('X-CSRF-Token', token)
        .send(payload as object),
    patch: (path: string, payload: unknown = {}) =>
      agent
        .patch(MOUNT + path)
        .set(STAFF)
        .set('X-CSRF-Token', token)
        .send(payload as object),
    delete: (path: string) =>
      agent
        .delete(MOUNT + path)
        .set(STAFF)
        .set('X-CSRF-Token', token)
        .send({}),
  };
}

export type StaffSession = Awaited<ReturnType<typeof staffSession>>;

/** Waits until a task reaches one of `states` (through the status API). */
export async function waitForState(s: StaffSession, id: string, states: string[], timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await s.get(`/api/tasks/${id}`)).body;
    if (states.includes(last.state)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`task ${id} stayed ${last?.state}, wanted ${states.join('/')}`);
}

export type { Celeriac };
