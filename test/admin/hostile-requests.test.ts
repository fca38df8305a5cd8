import { Client } from 'pg';
import type { Celeriac } from '../../src';
import { cleanup, DATABASE_URL } from '../helpers';
import { adminApp, MOUNT, STAFF, staffSession, type StaffSession } from './helpers';

/**
 * Each request issue 15 found answering 500, hanging or writing half, replayed: every one must
 * be a 4xx naming its field (or a 503 for a database that does not answer), and write nothing.
 */

let app: Celeriac;
let s: StaffSession;
let pg: Client;
beforeAll(async () => {
  const made = await adminApp('admin_hostile', { admin: { readTimeoutMs: 400, controlTimeoutMs: 100 } });
  app = made.app;
  s = await staffSession(made.web);
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
});
afterAll(async () => {
  await pg.end();
  await cleanup(app);
});

const TABLES = [
  'celeriac_periodic_task',
  'celeriac_interval_schedule',
  'celeriac_crontab_schedule',
  'celeriac_solar_schedule',
  'celeriac_clocked_schedule',
  'celeriac_task_result',
];
async function rowCounts(): Promise<number[]> {
  await (await app.results()).flush(5000);
  const sel = TABLES.map((t) => `(SELECT count(*)::int FROM "${app.config.schema}".${t})`).join(', ');
  return Object.values((await pg.query(`SELECT ${sel}`)).rows[0]) as number[];
}

/** A request whose body is sent as this exact text (supertest would re-encode an object). */
function raw(method: 'post' | 'put' | 'patch' | 'delete', path: string, text: string, type = 'application/json') {
  return s.agent[method](MOUNT + path)
    .set(STAFF)
    .set('X-CSRF-Token', s.token)
    .set('Content-Type', type)
    .send(text);
}

const every = { name: 'hostile', task: 'math.add', schedule: 60 };

/** Sends, expects `status`, checks each field is named, and that no row changed. */
async function refused(send: () => PromiseLike<{ status: number; body: any }>, status: number, fields: RegExp[]) {
  const before = await rowCounts();
  const res = await send();
  expect({ status: res.status, body: res.body }).toMatchObject({ status });
  const named = Object.keys(res.body.errors ?? {});
  for (const f of fields) expect(named.some((n) => f.test(n))).toBe(true);
  expect(await rowCounts()).toEqual(before);
  return res.body;
}

describe('values Postgres cannot store are field errors, and nothing is sent or written', () => {
  test('POST api/tasks: NUL and a lone surrogate in args, NUL in a kwargs key', async () => {
    const broker = await app.broker();
    const queued = await broker.queueLength('celery');
    const nul = await refused(() => s.post('/api/tasks', { task: 'math.echo', args: ['a\u0000b'] }), 400, [/^args$/]);
    expect(nul.errors.args).toMatch(/args\[0\] contains U\+0000/);
    const lone = await refused(() => raw('post', '/api/tasks', '{"task":"math.echo","args":["\\ud800"]}'), 400, [
      /^args$/,
    ]);
    expect(lone.errors.args).toMatch(/lone UTF-16 surrogate/);
    await refused(() => s.post('/api/tasks', { task: 'math.echo', kwargs: { 'a\u0000': 1 } }), 400, [/^kwargs$/]);
    expect(await broker.queueLength('celery')).toBe(queued);
  });

  test('periodic tasks: NUL or lone surrogates in name, description, args, headers — all named at once', async () => {
    const body = await refused(
      () =>
        raw(
          'post',
          '/api/periodic-tasks',
          JSON.stringify({
            ...every,
            name: 'a\u0000',
            description: 'x\u0000',
            args: ['\u0000'],
            headers: { h: '\u0000' },
          }),
        ),
      400,
      [/^name$/, /^description$/, /^args$/, /^headers$/],
    );
    expect(body.errors.name).toMatch(/U\+0000/);
    await refused(
      () => raw('post', '/api/periodic-tasks', '{"name":"\\udc00x","task":"math.add","schedule":60}'),
      400,
      [/^name$/],
    );
  });

  test('numbers past int32 and periods past any date', async () => {
    const huge = { kind: 'interval', every: 100_000_000, period: 'days' };
    await refused(() => s.post('/api/periodic-tasks', { ...every, schedule: huge }), 400, [/^schedule\.every$/]);
    const created = (await s.post('/api/periodic-tasks', every).expect(201)).body;
    await refused(() => s.patch(`/api/periodic-tasks/${created.id}`, { schedule: huge }), 400, [/^schedule\.every$/]);
    await refused(() => s.post('/api/schedules/preview', { schedule: huge }), 400, [/^schedule\.every$/]);
    await refused(
      () =>
        s.post('/api/periodic-tasks', { ...every, schedule: { kind: 'interval', every: 2 ** 31, period: 'seconds' } }),
      400,
      [/^schedule\.every$/],
    );
    await refused(() => s.post('/api/periodic-tasks', { ...every, expireSeconds: 2 ** 31 }), 400, [/^expireSeconds$/]);
    await refused(() => s.post('/api/periodic-tasks/bulk', { action: 'enable', ids: [2 ** 31] }), 400, [/^ids$/]);
    // The longest accepted period still previews (and lists) without an Invalid Date.
    const far = (
      await s
        .post('/api/schedules/preview', { schedule: { kind: 'interval', every: 3_650_000, period: 'days' }, n: 3 })
        .expect(200)
    ).body;
    expect(far.runs).toHaveLength(3);
  });

  test('instants before 4714 BC: clocked time, start time, expires', async () => {
    const ancient = '-004714-01-01T00:00:00.000Z';
    await refused(
      () =>
        s.post('/api/periodic-tasks', {
          ...every,
          schedule: { kind: 'clocked', clockedTime: ancient },
          startTime: ancient,
          expires: ancient,
        }),
      400,
      [/^schedule\.clockedTime$/, /^startTime$/, /^expires$/],
    );
    await refused(() => s.post('/api/schedules/preview', { schedule: 60, startTime: ancient }), 400, [/^startTime$/]);
  });

  test('instants past 9999 (found by the fuzz run: Postgres refused "+065799-06-28T…" in the bulk write, a 500)', async () => {
    for (const far of ['+065799-06-28T22:40:12.620Z', '+010000-01-01T00:00:00.000Z']) {
      const body = await refused(
        () =>
          s.post('/api/periodic-tasks', { ...every, schedule: { kind: 'clocked', clockedTime: far }, startTime: far }),
        400,
        [/^schedule\.clockedTime$/, /^startTime$/],
      );
      expect(body.errors.startTime).toMatch(/9999-12-31/);
    }
    const last = '9999-12-31T23:59:59.999Z';
    const t = (await s.post('/api/periodic-tasks', { ...every, name: 'last instant', startTime: last }).expect(201))
      .body;
    expect(t.startTime).toBe(last);
  });

  test('cron fields longer than their columns', async () => {
    const minute = Array.from({ length: 120 }, (_, i) => String(i % 60)).join(',');
    const body = await refused(
      () => s.post('/api/periodic-tasks', { ...every, schedule: { kind: 'crontab', minute } }),
      400,
      [/^schedule\.minute$/],
    );
    expect(body.errors['schedule.minute']).toMatch(/240/);
  });

  test('nesting: args 3,000 deep (periodic) and 20,000 deep (tasks) are refused without overflowing the stack', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const p = await refused(
      () => raw('post', '/api/periodic-tasks', `{"name":"deep","task":"math.add","schedule":60,"args":${deep(3000)}}`),
      400,
      [/^args$/],
    );
    expect(p.errors.args).toMatch(/nested more than 64 levels/);
    await refused(() => raw('post', '/api/tasks', `{"task":"math.echo","args":${deep(20_000)}}`), 400, [/^args$/]);
  });
});

describe('client errors keep their 4xx', () => {
  test('a body labelled gzip that is not gzip', async () => {
    const res = await raw('post', '/api/tasks', '{"task":"math.add"}').set('Content-Encoding', 'gzip');
    expect(res.status).toBe(400);
    expect(res.body.errors.body).toMatch(/could not be read/);
  });

  test('bad percent-encoding and NUL in URL ids, NUL in a query', async () => {
    expect((await s.get('/api/tasks/%ZZ').expect(400)).body.errors.path).toMatch(/percent-encoding/);
    expect((await s.get('/api/tasks/%ED%A0%80/detail').expect(400)).body.errors.path).toBeDefined();
    expect((await s.get('/api/tasks/a%00b').expect(400)).body.errors.id).toMatch(/U\+0000/);
    expect((await s.post('/api/tasks/a%00b/revoke', {}).expect(400)).body.errors.id).toMatch(/U\+0000/);
    expect((await s.get('/api/tasks?q=%00').expect(400)).body.errors.q).toMatch(/U\+0000/);
    expect((await s.get('/api/periodic-tasks?q=a%00').expect(400)).body.errors.q).toMatch(/U\+0000/);
    await s.get('/tasks/a%00b').set('Accept', 'text/html').expect(400);
    await s.get('/tasks?window=constructor').set('Accept', 'text/html').expect(200);
  });
});

describe('__proto__, constructor and prototype keys are refused by name', () => {
  const cases: [string, 'post' | 'put' | 'patch', string, string][] = [
    ['create a task', 'post', '/api/tasks', '{"task":"math.add","__proto__":{"x":1}}'],
    ['task options', 'post', '/api/tasks', '{"task":"math.add","options":{"__proto__":{"queue":"x"}}}'],
    ['revoke', 'post', '/api/tasks/some-id/revoke', '{"__proto__":{"terminate":true}}'],
    ['retry', 'post', '/api/tasks/some-id/retry', '{"constructor":1}'],
    ['bulk', 'post', '/api/periodic-tasks/bulk', '{"action":"enable","ids":[1],"__proto__":{}}'],
    ['control', 'post', '/api/workers/w/control/pool-grow', '{"n":1,"__proto__":{"n":2}}'],
    ['periodic create', 'post', '/api/periodic-tasks', '{"name":"p","task":"math.add","schedule":60,"__proto__":{}}'],
    ['periodic PUT', 'put', '/api/periodic-tasks/1', '{"name":"p","task":"math.add","schedule":60,"__proto__":{}}'],
    ['periodic PATCH', 'patch', '/api/periodic-tasks/1', '{"__proto__":{"enabled":false}}'],
    ['schedule preview', 'post', '/api/schedules/preview', '{"schedule":{"kind":"interval","prototype":1}}'],
  ];
  test.each(cases)('%s', async (_label, method, path, text) => {
    const body = await refused(() => raw(method, path, text), 400, [/__proto__|constructor|prototype/]);
    expect(Object.values(body.errors).join(' ')).toMatch(/is refused/);
  });

  test('deep inside kwargs: named as kwargs, with the path', async () => {
    const body = await refused(
      () => raw('post', '/api/tasks', '{"task":"math.add","kwargs":{"a":{"constructor":{}}}}'),
      400,
      [/^kwargs$/],
    );
    expect(body.errors.kwargs).toMatch(/kwargs\.a\.constructor/);
  });
});

describe('PUT names every bad field at once', () => {
  test('missing required fields together with the other problems', async () => {
    const t = (await s.post('/api/periodic-tasks', { ...every, name: 'put me' }).expect(201)).body;
    const body = await refused(() => s.put(`/api/periodic-tasks/${t.id}`, { priority: 300, catchUp: 'all' }), 400, [
      /^name$/,
      /^task$/,
      /^schedule$/,
      /^priority$/,
      /^catchUp$/,
    ]);
    expect(Object.keys(body.errors).sort()).toEqual(['catchUp', 'name', 'priority', 'schedule', 'task']);
  });
});

describe('DELETE with or without a body and a content type', () => {
  const del = (path: string) =>
    s.agent
      .delete(MOUNT + path)
      .set(STAFF)
      .set('X-CSRF-Token', s.token);
  test('periodic task: JSON type and no body, no type and no body, {} — all 204', async () => {
    for (const [i, send] of [
      (p: string) => del(p).set('Content-Type', 'application/json'),
      (p: string) => del(p),
      (p: string) => del(p).send({}),
    ].entries()) {
      const t = (await s.post('/api/periodic-tasks', { ...every, name: `delete me ${i}` }).expect(201)).body;
      await send(`/api/periodic-tasks/${t.id}`).expect(204);
      await s.get(`/api/periodic-tasks/${t.id}`).expect(404);
    }
  });

  test('a schedule nobody uses; a body that is not JSON is 415, fields are 400', async () => {
    const [{ id }] = (
      await pg.query(
        `INSERT INTO "${app.config.schema}".celeriac_interval_schedule (every, period) VALUES (77, 'days') RETURNING id`,
      )
    ).rows;
    await del(`/api/schedules/interval/${id}`).set('Content-Type', 'text/plain').send('x').expect(415);
    await del(`/api/schedules/interval/${id}`).send({ cascade: true }).expect(400);
    await del(`/api/schedules/constructor/${id}`).expect(400);
    await del(`/api/schedules/interval/${id}`).set('Content-Type', 'application/json').expect(204);
  });
});

describe('reads are bounded: a wedged database answers 503, not a hang', () => {
  test('status, list, detail, dashboard and periodic list while a lock holds the tables', async () => {
    const id = (
      await s.post('/api/tasks', { task: 'math.add', args: [1, 2], options: { queue: 'nobody' } }).expect(202)
    ).body.id;
    await s.get(`/api/tasks/${id}`).expect(200);
    const locker = new Client({ connectionString: DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(
        `LOCK TABLE "${app.config.schema}".celeriac_task_result, "${app.config.schema}".celeriac_periodic_task IN ACCESS EXCLUSIVE MODE`,
      );
      for (const path of [
        `/api/tasks/${id}`,
        '/api/tasks',
        `/api/tasks/${id}/detail`,
        '/api/stats',
        '/api/periodic-tasks',
      ]) {
        const res = await s.get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 503 });
        expect(res.body.message).toMatch(/did not answer within 400 ms|not yet written/);
      }
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await s.get(`/api/tasks/${id}`).expect(200);
  });
});
