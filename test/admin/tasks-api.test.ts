import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { countResults, listResults } from '../../src/admin/sql';
import { resultRelation } from '../../src/results/table-mode';
import { encodeCursor, parseListQuery } from '../../src/admin/validate';
import { cleanup, eventually } from '../helpers';
import { adminApp, MOUNT, staffSession, waitForState, type StaffSession } from './helpers';

let app: Celeriac;
let worker: Worker;
let s: StaffSession;
beforeAll(async () => {
  const made = await adminApp('admin_tasks', { app: { routes: { 'remote.*': { queue: 'remote' } } } });
  app = made.app;
  s = await staffSession(made.web);
  worker = app.worker({ name: 'admin-w@test', concurrency: 4 });
  await worker.start();
});
afterAll(() => cleanup(app));

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

async function start(task: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await s.post('/api/tasks', { task, args, ...extra }).expect(202);
  return res.body.id;
}

describe('registered tasks', () => {
  test('lists every task with its options, and the routes', async () => {
    const { body } = await s.get('/api/registered').expect(200);
    const names = body.tasks.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['math.add', 'math.boom', 'behave.progress', 'behave.limited']));
    expect(names).toEqual([...names].sort());
    expect(body.tasks.find((t: any) => t.name === 'behave.limited')).toMatchObject({
      rateLimit: '5/s',
      queue: 'celery',
      acksLate: true,
    });
    expect(body.tasks.find((t: any) => t.name === 'behave.alwaysFlaky')).toMatchObject({
      maxRetries: 2,
      autoretryFor: ['FlakyError'],
    });
    expect(body.tasks.find((t: any) => t.name === 'behave.hang')).toMatchObject({ timeLimit: 0.3 });
    expect(body.routes).toEqual([{ pattern: 'remote.*', queue: 'remote', priority: null }]);
  });
});

describe('create a job', () => {
  test('202 with the id, a Location for polling and the page URL; the worker runs it', async () => {
    const res = await s.post('/api/tasks', { task: 'math.add', args: [2, 3] }).expect(202);
    expect(res.body).toEqual({
      id: expect.any(String),
      task: 'math.add',
      state: 'PENDING',
      statusUrl: `${MOUNT}/api/tasks/${res.body.id}`,
      pageUrl: `${MOUNT}/tasks/${res.body.id}`,
    });
    expect(res.headers.location).toBe(res.body.statusUrl);
    const done = await waitForState(s, res.body.id, ['SUCCESS']);
    expect(done.result).toBe(5);
  });

  test('kwargs and options reach the message (queue, priority, countdown, expires)', async () => {
    const id = await start('math.echo', ['a'], {
      kwargs: { k: 1 },
      options: { queue: 'idle', priority: 3, countdown: 120, expires: 600 },
    });
    const detail = (await s.get(`/api/tasks/${id}/detail`).expect(200)).body;
    expect(detail).toMatchObject({ state: 'PENDING', queue: 'idle', args: ['a'], kwargs: { k: 1 } });
    expect(await (await app.broker()).delayedCount()).toBeGreaterThanOrEqual(1);
  });

  test('an ISO eta is accepted', async () => {
    const id = await start('math.add', [1, 1], { options: { eta: new Date(Date.now() + 3_600_000).toISOString() } });
    expect((await s.get(`/api/tasks/${id}`)).body.state).toBe('PENDING');
  });

  test('a routed name (another service’s task) may be sent; it goes to its queue', async () => {
    const id = await start('remote.thing', [1]);
    expect((await s.get(`/api/tasks/${id}/detail`)).body.queue).toBe('remote');
  });

  const invalid: [string, unknown, Record<string, RegExp>][] = [
    [
      'unknown task, with a hint',
      { task: 'math.ad' },
      { task: /no task named 'math.ad' is registered or routed \(did you mean 'math.add'\?\)/ },
    ],
    ['missing task', { args: [] }, { task: /give the name of a registered task/ }],
    ['args not an array', { task: 'math.add', args: { a: 1 } }, { args: /expected a JSON array/ }],
    ['args a string', { task: 'math.add', args: '[1,2]' }, { args: /got the string/ }],
    ['kwargs not an object', { task: 'math.add', kwargs: [1] }, { kwargs: /expected a JSON object/ }],
    ['unknown field', { task: 'math.add', argz: [] }, { argz: /unknown field \(did you mean 'args'\?\)/ }],
    ['options not an object', { task: 'math.add', options: 'fast' }, { options: /expected an object/ }],
    ['bad queue', { task: 'math.add', options: { queue: 'no spaces' } }, { 'options.queue': /queue name/ }],
    ['negative countdown', { task: 'math.add', options: { countdown: -1 } }, { 'options.countdown': /seconds from 0/ }],
    [
      'countdown as text',
      { task: 'math.add', options: { countdown: '10' } },
      { 'options.countdown': /seconds from 0/ },
    ],
    ['bad eta', { task: 'math.add', options: { eta: 'tomorrow' } }, { 'options.eta': /ISO 8601/ }],
    ['eta without offset', { task: 'math.add', options: { eta: '2030-01-01T10:00' } }, { 'options.eta': /ISO 8601/ }],
    [
      'countdown and eta',
      { task: 'math.add', options: { countdown: 1, eta: '2030-01-01T10:00:00Z' } },
      { 'options.eta': /not both/ },
    ],
    ['priority out of range', { task: 'math.add', options: { priority: 10 } }, { 'options.priority': /integer 0-9/ }],
    ['expires negative', { task: 'math.add', options: { expires: -5 } }, { 'options.expires': /seconds > 0/ }],
    [
      'unknown option',
      { task: 'math.add', options: { countdwn: 1 } },
      { 'options.countdwn': /did you mean 'options.countdown'/ },
    ],
    ['body not an object', [1, 2], { body: /JSON object/ }],
  ];
  test.each(invalid)('%s → 400 with a message per field, nothing sent', async (_label, payload, expected) => {
    const before = await (await app.broker()).queueLength('celery');
    const res = await s.post('/api/tasks', payload).expect(400);
    expect(res.body.error).toBe('validation_failed');
    for (const [field, re] of Object.entries(expected)) expect(res.body.errors[field]).toMatch(re);
    expect(Object.keys(res.body.errors).sort()).toEqual(Object.keys(expected).sort());
    expect(await (await app.broker()).queueLength('celery')).toBe(before);
  });

  test('several bad fields are all reported at once', async () => {
    const res = await s
      .post('/api/tasks', { task: 'nope', args: 1, kwargs: 2, options: { priority: 'high' } })
      .expect(400);
    expect(Object.keys(res.body.errors).sort()).toEqual(['args', 'kwargs', 'options.priority', 'task']);
  });
});

describe('task status (polling)', () => {
  test('an unknown id → 404 UNKNOWN', async () => {
    const res = await s.get('/api/tasks/no-such-task').expect(404);
    expect(res.body).toMatchObject({ id: 'no-such-task', state: 'UNKNOWN' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('just sent: PENDING at once (this process’s own batched write is flushed first)', async () => {
    const id = await start('math.add', [1, 2], { options: { countdown: 300 } });
    const res = await s.get(`/api/tasks/${id}`).expect(200);
    expect(res.body).toMatchObject({
      id,
      state: 'PENDING',
      ready: false,
      result: null,
      error: null,
      progress: null,
      name: 'math.add',
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('SUCCESS carries the result and timestamps; the ETag makes an unchanged poll a 304', async () => {
    const id = await start('math.add', [20, 22]);
    const body = await waitForState(s, id, ['SUCCESS']);
    expect(body).toEqual({
      id,
      state: 'SUCCESS',
      ready: true,
      name: 'math.add',
      result: 42,
      error: null,
      progress: null,
      meta: null,
      retries: 0,
      dateCreated: expect.any(String),
      // Filled for every finished task (counted back from the measured runtime), trackStarted or not.
      dateStarted: expect.any(String),
      dateDone: expect.any(String),
      dateChanged: expect.any(String),
    });
    expect(Date.parse(body.dateStarted)).toBeLessThanOrEqual(Date.parse(body.dateDone));
    const first = await s.get(`/api/tasks/${id}`).expect(200);
    expect(first.headers.etag).toMatch(/^W\/"/);
    await s.get(`/api/tasks/${id}`).set('If-None-Match', first.headers.etag).expect(304);
  });

  test('FAILURE: error type and message; the stack only for requests showTracebacks allows', async () => {
    const id = await start('math.boom');
    const plain = await waitForState(s, id, ['FAILURE']);
    expect(plain.error).toEqual({ type: 'RangeError', message: 'boom', module: expect.anything() });
    expect(plain.error).not.toHaveProperty('stack');
    expect(plain.result).toBeNull();
    const withStack = (await s.get(`/api/tasks/${id}`).set('x-test-tracebacks', '1')).body;
    expect(withStack.error.stack).toMatch(/RangeError: boom\n\s+at /);
    // The ETag differs with and without the stack, so a cached copy never leaks it.
    const a = await s.get(`/api/tasks/${id}`);
    const b = await s.get(`/api/tasks/${id}`).set('x-test-tracebacks', '1');
    expect(a.headers.etag).not.toBe(b.headers.etag);
    const detail = (await s.get(`/api/tasks/${id}/detail`)).body;
    expect(detail.error).not.toHaveProperty('stack');
  });

  test('PROGRESS: progress with done, total and percent while it runs', async () => {
    const id = await start('behave.progress', [40]);
    const seen = await eventually(
      async () => {
        const body = (await s.get(`/api/tasks/${id}`)).body;
        if (body.state !== 'PROGRESS') throw new Error(body.state);
        return body;
      },
      10_000,
      5,
    );
    expect(seen.progress).toMatchObject({
      done: expect.any(Number),
      total: 40,
      percent: expect.any(Number),
      stage: expect.stringMatching(/^step/),
    });
    expect(seen.dateStarted).not.toBeNull();
    await waitForState(s, id, ['SUCCESS']);
  });
});

describe('task list', () => {
  let ids: string[];
  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 5; i++) ids.push(await start('math.add', [i, i]));
    ids.push(await start('math.boom'));
    for (const id of ids) await waitForState(s, id, ['SUCCESS', 'FAILURE']);
  });

  test('newest first, with previews, counts and runtime', async () => {
    const { body } = await s.get('/api/tasks?limit=3').expect(200);
    expect(body.items).toHaveLength(3);
    expect(body.limit).toBe(3);
    expect(body.total).toBeGreaterThanOrEqual(6);
    expect(body.totalCapped).toBe(false);
    const changed = body.items.map((t: any) => t.dateChanged);
    expect([...changed].sort().reverse()).toEqual(changed);
    expect(body.items[0]).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        state: expect.any(String),
        argsPreview: expect.any(String),
        runtimeMs: expect.any(Number),
      }),
    );
  });

  test('sort by runtime and filter on it; every finished task has one', async () => {
    const slowest = (await s.get('/api/tasks?sort=-runtime&state=SUCCESS,FAILURE&limit=200').expect(200)).body.items;
    const runtimes = slowest.map((t: any) => t.runtimeMs);
    expect(runtimes.every((r: unknown) => typeof r === 'number')).toBe(true);
    expect([...runtimes].sort((a, b) => b - a)).toEqual(runtimes);
    const fastest = (await s.get('/api/tasks?sort=runtime&state=SUCCESS,FAILURE&limit=200').expect(200)).body.items;
    expect(fastest.map((t: any) => t.runtimeMs)).toEqual([...runtimes].sort((a, b) => a - b));
    const cutoff = runtimes[Math.floor(runtimes.length / 2)];
    const slow = (await s.get(`/api/tasks?minRuntimeMs=${cutoff}&limit=200`).expect(200)).body.items;
    expect(slow.length).toBeGreaterThanOrEqual(1);
    expect(slow.every((t: any) => t.runtimeMs >= cutoff)).toBe(true);
    const none = (await s.get('/api/tasks?maxRuntimeMs=0.0001&minRuntimeMs=0.00005&limit=200').expect(200)).body;
    expect(none.items.every((t: any) => t.runtimeMs <= 0.0001)).toBe(true);
    const bad = await s.get('/api/tasks?minRuntimeMs=5&maxRuntimeMs=1').expect(400);
    expect(bad.body.errors.maxRuntimeMs).toMatch(/at least minRuntimeMs/);
    expect((await s.get('/api/tasks?minRuntimeMs=-1').expect(400)).body.errors.minRuntimeMs).toMatch(/milliseconds/);
    const page = await s.get('/tasks?sort=slowest&minRuntime=0&worker=admin-w%40test').set('Accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.text).toContain('slowest first');
  });

  test('filters: state, task name, prefix, worker, search, time range', async () => {
    const failures = (await s.get('/api/tasks?state=FAILURE').expect(200)).body.items;
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.every((t: any) => t.state === 'FAILURE')).toBe(true);
    const several = (await s.get('/api/tasks?state=failure,success').expect(200)).body.items;
    expect(new Set(several.map((t: any) => t.state))).toEqual(new Set(['FAILURE', 'SUCCESS']));
    const adds = (await s.get('/api/tasks?task=math.add&limit=200').expect(200)).body.items;
    expect(adds.every((t: any) => t.name === 'math.add')).toBe(true);
    const maths = (await s.get('/api/tasks?task=math.*&limit=200').expect(200)).body.items;
    expect(new Set(maths.map((t: any) => t.name))).toEqual(new Set(['math.add', 'math.boom', 'math.echo']));
    expect((await s.get('/api/tasks?worker=admin-w@test').expect(200)).body.total).toBeGreaterThanOrEqual(6);
    expect((await s.get('/api/tasks?worker=nobody').expect(200)).body.total).toBe(0);
    const byId = (await s.get(`/api/tasks?q=${ids[2]}`).expect(200)).body.items;
    expect(byId.map((t: any) => t.id)).toEqual([ids[2]]);
    expect((await s.get('/api/tasks?q=BOOM').expect(200)).body.items.every((t: any) => t.name === 'math.boom')).toBe(
      true,
    );
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await s.get(`/api/tasks?since=${future}`).expect(200)).body.total).toBe(0);
    expect((await s.get(`/api/tasks?until=${future}`).expect(200)).body.total).toBeGreaterThanOrEqual(6);
    expect(
      (await s.get(`/api/tasks?dateField=date_done&since=2020-01-01`).expect(200)).body.total,
    ).toBeGreaterThanOrEqual(6);
  });

  test('periodic task filter', async () => {
    await app.sendTask('math.add', [7, 7], {}, { periodicTaskName: 'nightly-sum' });
    await eventually(async () => {
      const items = (await s.get('/api/tasks?periodicTask=nightly-sum')).body.items;
      expect(items).toHaveLength(1);
      expect(items[0].periodicTaskName).toBe('nightly-sum');
    });
  });

  test('keyset pages never repeat or skip a row', async () => {
    const all = (await s.get('/api/tasks?limit=200&sort=-date_created')).body.items.map((t: any) => t.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await s
        .get(`/api/tasks?limit=2&sort=-date_created${cursor ? `&cursor=${cursor}` : ''}`)
        .expect(200);
      seen.push(...res.body.items.map((t: any) => t.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  test('sorts on other columns page by offset', async () => {
    const page1 = (await s.get('/api/tasks?sort=task_name&limit=2')).body;
    expect(page1.nextCursor).toBeNull();
    expect(page1.nextOffset).toBe(2);
    const page2 = (await s.get('/api/tasks?sort=task_name&limit=2&offset=2')).body;
    expect(page2.offset).toBe(2);
    const names = [...page1.items, ...page2.items].map((t: any) => t.name);
    expect([...names].sort()).toEqual(names);
  });

  test('first pages and window counts read an index in order; none sorts or scans the whole table', async () => {
    const ds = await app.dataSource();
    const schema = resultRelation('celeriac', app.config.schema);
    const base = {
      dateField: 'date_created' as const,
      sort: 'date_changed' as const,
      descending: true,
      limit: 50,
      offset: 0,
    };
    const plans = [
      listResults(schema, base),
      listResults(schema, { ...base, states: ['FAILURE'] }),
      listResults(schema, { ...base, task: 'math.add' }),
      listResults(schema, { ...base, sort: 'date_created' }),
      countResults(schema, { dateField: 'date_created', since: new Date(Date.now() - 3_600_000) }),
    ];
    // A range on a nullable date, as the API parses it, must be an index condition on that date,
    // not a filter beside a walk of date_changed (which read half of 10M rows in bench W6).
    const ranged = [
      listResults(
        schema,
        parseListQuery({ query: { dateField: 'date_done', since: hoursAgo(20), until: hoursAgo(19) } }),
      ),
      listResults(
        schema,
        parseListQuery({
          query: {
            dateField: 'date_done',
            since: hoursAgo(20),
            sort: '-date_done',
            cursor: encodeCursor(hoursAgo(19), '1'),
          },
        }),
      ),
    ];
    for (const { text, params } of [...plans, ...ranged]) {
      // On a table this small the planner would rightly scan and sort it; price those out to see
      // whether an ordered index path exists at all, as it must at 10M rows (bench W6).
      const nodes = await ds.transaction(async (m) => {
        for (const off of ['seqscan', 'bitmapscan', 'sort']) await m.query(`SET LOCAL enable_${off} = off`);
        const [{ 'QUERY PLAN': plan }] = await m.query(`EXPLAIN (FORMAT JSON) ${text}`, params);
        return planNodes(plan[0].Plan);
      });
      expect({ text, nodes: nodes.filter((n) => n.type === 'Sort' || n.type === 'Seq Scan') }).toEqual({
        text,
        nodes: [],
      });
      if (ranged.some((r) => r.text === text))
        expect({ text, indexes: nodes.map((n) => n.index).filter(Boolean) }).toEqual({
          text,
          indexes: ['celeriac_task_result_done_idx'],
        });
    }
  });

  const badQueries: [string, string, RegExp][] = [
    ['state=DONE!', 'state', /'DONE!' is not a state/],
    ['sort=args', 'sort', /cannot be sorted on/],
    ['limit=0', 'limit', /1 to 200/],
    ['limit=500', 'limit', /1 to 200/],
    ['offset=20000', 'offset', /0 to 10000/],
    ['since=yesterday', 'since', /ISO 8601/],
    ['since=2030-01-02&until=2030-01-01', 'until', /after since/],
    ['cursor=garbage', 'cursor', /not a cursor/],
    ['dateField=date_birth', 'dateField', /date_created/],
    ['state=SUCCESS&state=FAILURE', 'state', /once/],
  ];
  test.each(badQueries)('?%s → 400 naming %s', async (qs, field, re) => {
    const res = await s.get(`/api/tasks?${qs}`).expect(400);
    expect(res.body.errors[field]).toMatch(re);
  });

  test('a list sorted on the date its range is on pages by cursor, newest first', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await start('math.add', [i, i]));
    for (const id of ids) await waitForState(s, id, ['SUCCESS']);
    const since = hoursAgo(1);
    const query = { dateField: 'date_done', since, sort: '-date_done', limit: 2 };
    const first = (await s.get('/api/tasks').query(query).expect(200)).body;
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (
      await s
        .get('/api/tasks')
        .query({ ...query, cursor: first.nextCursor })
        .expect(200)
    ).body;
    const done = [...first.items, ...second.items].map((t: { dateDone: string }) => t.dateDone);
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done).toEqual([...done].sort().reverse());
    expect(new Set([...first.items, ...second.items].map((t: { id: string }) => t.id)).size).toBe(done.length);
  });

  test('a cursor is refused for offset-paged sorts', async () => {
    const { nextCursor } = (await s.get('/api/tasks?limit=1')).body;
    const res = await s.get(`/api/tasks?sort=task_name&cursor=${nextCursor}`).expect(400);
    expect(res.body.errors.cursor).toMatch(/use offset/);
  });
});

describe('detail, revoke, retry', () => {
  test('detail has args, kwargs, worker, timing and children', async () => {
    const parent = await start('math.add', [1, 2]);
    await waitForState(s, parent, ['SUCCESS']);
    const child = (await app.sendTask('math.add', [3, 4], {}, { parentId: parent, rootId: parent })).id;
    await waitForState(s, child, ['SUCCESS']);
    const d = (await s.get(`/api/tasks/${parent}/detail`).expect(200)).body;
    expect(d).toMatchObject({
      id: parent,
      name: 'math.add',
      args: [1, 2],
      kwargs: {},
      worker: 'admin-w@test',
      queue: 'celery',
      rootId: parent,
      parentId: null,
    });
    expect(d.children).toEqual([
      { id: child, name: 'math.add', state: 'SUCCESS', dateCreated: expect.any(String), dateDone: expect.any(String) },
    ]);
    expect(d.childrenTruncated).toBe(false);
    const c = (await s.get(`/api/tasks/${child}/detail`)).body;
    expect(c).toMatchObject({ parentId: parent, rootId: parent });
    await s.get('/api/tasks/nope/detail').expect(404);
  });

  test('revoke a waiting task: REVOKED at once, and it never runs', async () => {
    const id = await start('math.add', [5, 5], { options: { countdown: 1 } });
    const res = await s.post(`/api/tasks/${id}/revoke`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      state: 'REVOKED',
      revoked: true,
      terminate: false,
      error: { type: 'TaskRevokedError' },
    });
    await eventually(
      async () => expect((await s.get(`/api/tasks/${id}/detail`)).body.meta).toMatchObject({ reason: 'revoked' }),
      5000,
    );
    expect((await s.get(`/api/tasks/${id}`)).body.result).toBeNull();
  });

  test('revoke with terminate stops a running task', async () => {
    const id = await start('behave.slow', [60_000]);
    await eventually(async () => expect(worker.info().active).toBeGreaterThan(0), 5000, 10);
    await s.post(`/api/tasks/${id}/revoke`, { terminate: true }).expect(200);
    await eventually(
      async () => expect((await s.get(`/api/tasks/${id}/detail`)).body.meta).toMatchObject({ reason: 'terminated' }),
      5000,
    );
  });

  test('revoke: finished → 409, unknown → 404, bad body → 400', async () => {
    const id = await start('math.add', [1, 1]);
    await waitForState(s, id, ['SUCCESS']);
    expect((await s.post(`/api/tasks/${id}/revoke`, {}).expect(409)).body.error).toBe('already_finished');
    await s.post('/api/tasks/unknown-id/revoke', {}).expect(404);
    const bad = await s.post(`/api/tasks/${id}/revoke`, { terminate: 'yes', signal: 9 }).expect(400);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['signal', 'terminate']);
  });

  test('retry a failed task: a new id with the original args, linked back', async () => {
    const boom = (await app.sendTask('math.boom', [1, 'two'], { three: 3 })).id;
    await waitForState(s, boom, ['FAILURE']);
    const res = await s.post(`/api/tasks/${boom}/retry`, {}).expect(202);
    expect(res.body).toMatchObject({ id: expect.any(String), task: 'math.boom', state: 'PENDING', retriedFrom: boom });
    expect(res.body.id).not.toBe(boom);
    expect(res.headers.link).toBe(`<${MOUNT}/api/tasks/${boom}>; rel="retried-from"`);
    expect(res.headers.location).toBe(`${MOUNT}/api/tasks/${res.body.id}`);
    await waitForState(s, res.body.id, ['FAILURE']);
    const d = (await s.get(`/api/tasks/${res.body.id}/detail`)).body;
    expect(d).toMatchObject({ args: [1, 'two'], kwargs: { three: 3 }, name: 'math.boom', retriedFrom: boom });
  });

  test('retry: not failed → 409, unknown → 404, unknown body field → 400', async () => {
    const ok = await start('math.add', [1, 1]);
    await waitForState(s, ok, ['SUCCESS']);
    expect((await s.post(`/api/tasks/${ok}/retry`, {}).expect(409)).body.error).toBe('not_retryable');
    await s.post('/api/tasks/unknown-id/retry', {}).expect(404);
    expect((await s.post(`/api/tasks/${ok}/retry`, { args: [9] }).expect(400)).body.errors.args).toMatch(
      /unknown field/,
    );
  });

  test('an over-long id is a 400', async () => {
    expect((await s.get(`/api/tasks/${'x'.repeat(300)}`).expect(400)).body.errors.id).toMatch(/1-255/);
  });
});

type PlanNode = { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] };
function planNodes(node: PlanNode): { type: string; index?: string }[] {
  return [{ type: node['Node Type'], index: node['Index Name'] }, ...(node.Plans ?? []).flatMap(planNodes)];
}
