import request from 'supertest';
import type { Celeriac } from '../../src';
import { ADMIN_SCRIPTS, ADMIN_STYLES } from '../../src/admin/static';
import { cleanup } from '../helpers';
import { adminApp, MOUNT, STAFF, staffSession } from './helpers';

let app: Celeriac;
let web: Awaited<ReturnType<typeof adminApp>>['web'];
beforeAll(async () => {
  ({ app, web } = await adminApp('admin_auth'));
});
afterAll(() => cleanup(app));

/** Every route the admin serves (periodic-task routes included): none may answer without authorize. */
const ROUTES: [method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string][] = [
  ['get', '/'],
  ['get', '/tasks'],
  ['get', '/tasks/new'],
  ['get', '/tasks/some-id'],
  ['get', '/workers'],
  ['get', '/workers/w@host'],
  ['get', '/queues'],
  ['get', '/no-such-page'],
  ['get', '/periodic-tasks'],
  ['get', '/periodic-tasks/new'],
  ['get', '/periodic-tasks/1'],
  ['get', '/api/csrf'],
  ['get', '/api/registered'],
  ['get', '/api/tasks'],
  ['post', '/api/tasks'],
  ['get', '/api/tasks/some-id'],
  ['get', '/api/tasks/some-id/detail'],
  ['post', '/api/tasks/some-id/revoke'],
  ['post', '/api/tasks/some-id/retry'],
  ['get', '/api/workers'],
  ['get', '/api/queues'],
  ['get', '/api/queues/celery/messages'],
  ['post', '/api/queues/celery/purge'],
  ['delete', '/api/queues/celery/messages/some-id'],
  ['get', '/api/dead-letters'],
  ['post', '/api/dead-letters/some-id/requeue'],
  ['delete', '/api/dead-letters/some-id'],
  ['get', '/api/workers/w@host/overview'],
  ['get', '/api/workers/w@host/inspect/conf'],
  ['post', '/api/workers/w@host/control/pool-grow'],
  ['post', '/api/workers/w@host/control/autoscale'],
  ['post', '/api/workers/w@host/control/pool-restart'],
  ['post', '/api/workers/w@host/control/shutdown'],
  ['get', '/api/stats'],
  ['get', '/api/stats/tasks'],
  ['get', '/api/events'],
  ['get', '/api/periodic-tasks'],
  ['post', '/api/periodic-tasks'],
  ['get', '/api/periodic-tasks/1'],
  ['put', '/api/periodic-tasks/1'],
  ['patch', '/api/periodic-tasks/1'],
  ['delete', '/api/periodic-tasks/1'],
  ['post', '/api/periodic-tasks/1/enable'],
  ['post', '/api/periodic-tasks/1/disable'],
  ['post', '/api/periodic-tasks/1/run'],
  ['post', '/api/periodic-tasks/bulk'],
  ['get', '/api/periodic-tasks/1/preview'],
  ['post', '/api/schedules/preview'],
  ['get', '/api/schedules'],
  ['delete', '/api/schedules/interval/1'],
  ['get', '/api/beats'],
];

describe('authorize', () => {
  test.each(ROUTES)('%s %s without authorisation → 401 and no data', async (method, path) => {
    const agent = request(web);
    const res = await agent[method](MOUNT + path)
      .set('Content-Type', 'application/json')
      .send(method === 'get' ? undefined : '{}');
    expect(res.status).toBe(401);
    expect(res.headers['cache-control']).toBe('no-store');
    if (path.startsWith('/api/'))
      expect(res.body).toEqual({ error: 'unauthorized', message: expect.stringMatching(/Not authorised/) });
    else expect(res.text).toMatch(/Sign in to the application/);
  });

  test('a wrong user is refused like no user', async () => {
    await request(web).get(`${MOUNT}/api/tasks`).set('x-test-user', 'visitor').expect(401);
  });

  test('an authorize hook that throws refuses (and is logged), never lets through', async () => {
    const { app: a2, web: w2 } = await adminApp('admin_auth_throw', {
      admin: {
        authorize: () => {
          throw new Error('session store down');
        },
      },
    });
    await request(w2).get(`${MOUNT}/api/tasks`).expect(401);
    await cleanup(a2);
  });

  test('async authorize works; pages redirect to loginUrl with next=', async () => {
    const { app: a2, web: w2 } = await adminApp('admin_auth_async', {
      admin: {
        authorize: async (req) => (await Promise.resolve(req.get('x-test-user'))) === 'staff',
        loginUrl: '/login',
      },
    });
    const page = await request(w2).get(`${MOUNT}/tasks?state=FAILURE`).expect(302);
    expect(page.headers.location).toBe(`/login?next=${encodeURIComponent(`${MOUNT}/tasks?state=FAILURE`)}`);
    await request(w2).get(`${MOUNT}/api/tasks`).expect(401);
    await request(w2).get(`${MOUNT}/api/tasks`).set(STAFF).expect(200);
    await cleanup(a2);
  });

  test('the static scripts are public (they carry no data) and cacheable', async () => {
    for (const file of ['celeriac-status.js', ...ADMIN_STYLES, ...ADMIN_SCRIPTS]) {
      const res = await request(web).get(`${MOUNT}/static/${file}`).expect(200);
      expect(res.headers['cache-control']).toMatch(/max-age/);
      await request(web).get(`${MOUNT}/static/${file}`).set('If-None-Match', res.headers.etag).expect(304);
    }
    expect((await request(web).get(`${MOUNT}/static/celeriac-status.js`)).headers['content-type']).toMatch(
      /javascript/,
    );
    await request(web).get(`${MOUNT}/static/secret.txt`).expect(401);
  });

  test('every response carries the security headers', async () => {
    const res = await request(web).get(`${MOUNT}/`).set(STAFF).expect(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('same-origin');
  });
});

describe('CSRF', () => {
  const job = { task: 'math.add', args: [1, 2] };

  test('pages set an HttpOnly SameSite=Strict token cookie scoped to the mount, and embed the token', async () => {
    const res = await request(web).get(`${MOUNT}/tasks`).set(STAFF).expect(200);
    const cookie = res.headers['set-cookie'][0];
    expect(cookie).toMatch(new RegExp(`^celeriac_csrf=[\\w-]{43}; Path=${MOUNT}; HttpOnly; SameSite=Strict$`));
    const token = cookie.split(';')[0].split('=')[1];
    expect(res.text).toContain(`<meta name="celeriac-csrf" content="${token}">`);
  });

  test('a write with the session token passes', async () => {
    const s = await staffSession(web);
    const res = await s.post('/api/tasks', job).expect(202);
    expect(res.body.id).toEqual(expect.any(String));
  });

  test('no JSON content type → 415, even with a valid token (an HTML form cannot send JSON)', async () => {
    const s = await staffSession(web);
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await s.agent
        .post(`${MOUNT}/api/tasks`)
        .set(STAFF)
        .set('X-CSRF-Token', s.token)
        .set('Content-Type', type)
        .send('task=math.add');
      expect(res.status).toBe(415);
      expect(res.body.error).toBe('unsupported_media_type');
    }
    const none = await s.agent.post(`${MOUNT}/api/tasks`).set(STAFF).set('X-CSRF-Token', s.token);
    expect(none.status).toBe(415);
  });

  test('JSON without a token and without Origin/Referer → 403', async () => {
    const res = await request(web).post(`${MOUNT}/api/tasks`).set(STAFF).send(job).expect(403);
    expect(res.body).toMatchObject({ error: 'csrf_failed', message: expect.stringMatching(/Missing CSRF proof/) });
  });

  test('a wrong token → 403', async () => {
    const s = await staffSession(web);
    const res = await s.agent
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('X-CSRF-Token', 'x'.repeat(43))
      .send(job)
      .expect(403);
    expect(res.body.message).toMatch(/does not match/);
    // A token with no cookie at all (another browser's token) fails too.
    await request(web).post(`${MOUNT}/api/tasks`).set(STAFF).set('X-CSRF-Token', s.token).send(job).expect(403);
  });

  test('a foreign Origin is refused even with a valid token; a foreign Referer too', async () => {
    const s = await staffSession(web);
    const res = await s.agent
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('X-CSRF-Token', s.token)
      .set('Origin', 'https://evil.example')
      .send(job)
      .expect(403);
    expect(res.body.message).toMatch(/Cross-origin request refused/);
    await request(web)
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('Referer', 'https://evil.example/page')
      .send(job)
      .expect(403);
    await request(web).post(`${MOUNT}/api/tasks`).set(STAFF).set('Origin', 'null').send(job).expect(403);
  });

  test('same-origin Origin or Referer without a token passes (API clients may use either)', async () => {
    const agent = request(web);
    const r1 = await agent
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('Host', 'admin.test:8080')
      .set('Origin', 'http://admin.test:8080')
      .send(job);
    expect(r1.status).toBe(202);
    const r2 = await agent
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('Host', 'admin.test:8080')
      .set('Referer', 'http://admin.test:8080/admin/celeriac/tasks')
      .send(job);
    expect(r2.status).toBe(202);
  });

  test('trustedOrigins admits a configured origin', async () => {
    const { app: a2, web: w2 } = await adminApp('admin_trusted', {
      admin: { trustedOrigins: ['https://ops.example.com'] },
    });
    await request(w2)
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('Origin', 'https://ops.example.com')
      .send(job)
      .expect(202);
    await request(w2)
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('Origin', 'https://other.example.com')
      .send(job)
      .expect(403);
    await cleanup(a2);
  });

  test('readOnly refuses every write with 403', async () => {
    const { app: a2, web: w2 } = await adminApp('admin_readonly', { admin: { readOnly: true } });
    const s = await staffSession(w2);
    expect((await s.post('/api/tasks', job)).status).toBe(403);
    expect((await s.post('/api/tasks', job)).body.error).toBe('read_only');
    await s.get('/api/tasks').expect(200);
    await s.get('/tasks/new').expect(403);
    await cleanup(a2);
  });

  test('an oversized body → 413 naming the limit; malformed JSON → 400', async () => {
    const s = await staffSession(web);
    const big = await s.post('/api/tasks', { task: 'math.echo', args: ['x'.repeat(200_000)] });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({
      error: 'payload_too_large',
      errors: { body: expect.stringMatching(/larger than the admin accepts/) },
    });
    const bad = await s.agent
      .post(`${MOUNT}/api/tasks`)
      .set(STAFF)
      .set('X-CSRF-Token', s.token)
      .set('Content-Type', 'application/json')
      .send('{"task":');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_json', errors: { body: expect.any(String) } });
  });

  test('GET /api/csrf hands API clients the token and the header to send it in', async () => {
    const s = await staffSession(web);
    const res = await s.get('/api/csrf').expect(200);
    expect(res.body).toEqual({ token: s.token, header: 'X-CSRF-Token' });
  });

  test('an unknown API route is a JSON 404', async () => {
    const res = await request(web).get(`${MOUNT}/api/nope`).set(STAFF).expect(404);
    expect(res.body.error).toBe('not_found');
  });
});
