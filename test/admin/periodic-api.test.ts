import { Client } from 'pg';
import type { Celeriac } from '../../src';
import { cleanup, DATABASE_URL, eventually } from '../helpers';
import { adminApp, MOUNT, staffSession, waitForState, type StaffSession } from './helpers';

let app: Celeriac;
let s: StaffSession;
let pg: Client;
beforeAll(async () => {
  const made = await adminApp('admin_periodic', { app: { timezone: 'Europe/Berlin' } });
  app = made.app;
  s = await staffSession(made.web);
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
});
afterAll(async () => {
  await pg.end();
  await cleanup(app);
});

const count = async (table: string) =>
  Number((await pg.query(`SELECT count(*) FROM "${app.config.schema}".${table}`)).rows[0].count);

const nightly = {
  name: 'nightly sums',
  task: 'math.add',
  schedule: {
    kind: 'crontab',
    minute: '30',
    hour: '2',
    dayOfWeek: 'mon-fri',
    dayOfMonth: '*',
    monthOfYear: '*',
    timezone: 'Europe/Berlin',
  },
  args: [1, 2],
  description: 'adds',
};

describe('create, read, update, delete', () => {
  test('create → 201 with the schedule in words and the next run beat will plan', async () => {
    const res = await s.post('/api/periodic-tasks', nightly).expect(201);
    expect(res.headers.location).toBe(`${MOUNT}/api/periodic-tasks/${res.body.id}`);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      name: 'nightly sums',
      task: 'math.add',
      schedule: nightly.schedule,
      scheduleText: expect.stringMatching(/02:30.*Monday.*Friday.*Europe\/Berlin/),
      args: [1, 2],
      kwargs: {},
      enabled: true,
      oneOff: false,
      catchUp: 'once',
      source: 'db',
      nextRunAt: null,
      lastRunAt: null,
      totalRunCount: 0,
      lastError: null,
    });
    const expected = new Date(res.body.nextRunExpectedAt);
    expect(expected.getTime()).toBeGreaterThan(Date.now());
    // 02:30 in Berlin is 00:30 or 01:30 UTC, on a weekday.
    expect(expected.getUTCMinutes()).toBe(30);
    expect([0, 1]).toContain(expected.getUTCHours());
    expect([1, 2, 3, 4, 5]).toContain(new Date(expected.getTime() + 3 * 3600_000).getUTCDay());
    const got = await s.get(`/api/periodic-tasks/${res.body.id}`).expect(200);
    expect(got.body).toEqual(res.body);
  });

  test('shorthand schedules: a cron string in the app zone, a number of seconds', async () => {
    const cron = (
      await s
        .post('/api/periodic-tasks', { name: 'cron string', task: 'math.add', schedule: '*/15 * * * *' })
        .expect(201)
    ).body;
    expect(cron.schedule).toMatchObject({ kind: 'crontab', minute: '*/15', timezone: 'Europe/Berlin' });
    const every = (
      await s.post('/api/periodic-tasks', { name: 'every 30 s', task: 'math.add', schedule: 30 }).expect(201)
    ).body;
    expect(every.schedule).toEqual({ kind: 'interval', every: 30, period: 'seconds' });
    expect(every.scheduleText).toMatch(/30 seconds/i);
  });

  test('every schedule kind can be created', async () => {
    const solar = (
      await s
        .post('/api/periodic-tasks', {
          name: 'at sunrise',
          task: 'math.add',
          schedule: { kind: 'solar', event: 'sunrise', latitude: 52.52, longitude: 13.405 },
        })
        .expect(201)
    ).body;
    expect(solar.scheduleText).toMatch(/sunrise/);
    const at = new Date(Date.now() + 86_400_000).toISOString();
    const clocked = (
      await s
        .post('/api/periodic-tasks', {
          name: 'once tomorrow',
          task: 'math.add',
          schedule: { kind: 'clocked', clockedTime: at },
        })
        .expect(201)
    ).body;
    expect(clocked).toMatchObject({
      schedule: { kind: 'clocked', clockedTime: at },
      oneOff: true,
      nextRunExpectedAt: at,
    });
  });

  test('list with filters, search and sorting', async () => {
    const all = (await s.get('/api/periodic-tasks').expect(200)).body;
    expect(all.total).toBeGreaterThanOrEqual(5);
    const names = all.items.map((t: any) => t.name);
    expect(names).toEqual([...names].sort());
    const found = (await s.get('/api/periodic-tasks?q=NIGHTLY').expect(200)).body;
    expect(found.items.map((t: any) => t.name)).toEqual(['nightly sums']);
    expect((await s.get('/api/periodic-tasks?task=math.add&limit=2').expect(200)).body.items).toHaveLength(2);
    expect(
      (await s.get('/api/periodic-tasks?enabled=false').expect(200)).body.items.every((t: any) => !t.enabled),
    ).toBe(true);
    await s.get('/api/periodic-tasks?sort=nextRunAt').expect(200);
    const bad = await s.get('/api/periodic-tasks?enabled=yes&sort=age&limit=0&source=web').expect(400);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['enabled', 'limit', 'sort', 'source']);
  });

  test('PATCH changes the given fields; PUT replaces the whole task', async () => {
    const t = (
      await s.post('/api/periodic-tasks', { ...nightly, name: 'to edit', queue: 'reports', priority: 5 }).expect(201)
    ).body;
    const patched = (
      await s
        .patch(`/api/periodic-tasks/${t.id}`, {
          description: 'changed',
          schedule: { kind: 'interval', every: 10, period: 'minutes' },
        })
        .expect(200)
    ).body;
    expect(patched).toMatchObject({
      description: 'changed',
      queue: 'reports',
      priority: 5,
      args: [1, 2],
      schedule: { kind: 'interval', every: 10, period: 'minutes' },
    });
    const put = (
      await s
        .put(`/api/periodic-tasks/${t.id}`, { name: 'to edit', task: 'math.echo', schedule: '0 * * * *' })
        .expect(200)
    ).body;
    expect(put).toMatchObject({
      task: 'math.echo',
      queue: null,
      priority: null,
      args: [],
      description: '',
      schedule: { kind: 'crontab', minute: '0' },
    });
    const missing = await s.put(`/api/periodic-tasks/${t.id}`, { name: 'to edit' }).expect(400);
    expect(Object.keys(missing.body.errors).sort()).toEqual(['schedule', 'task']);
  });

  test('DELETE → 204, then 404', async () => {
    const t = (await s.post('/api/periodic-tasks', { ...nightly, name: 'to delete' }).expect(201)).body;
    await s.delete(`/api/periodic-tasks/${t.id}`).expect(204);
    await s.get(`/api/periodic-tasks/${t.id}`).expect(404);
    await s.delete(`/api/periodic-tasks/${t.id}`).expect(404);
    await s.patch(`/api/periodic-tasks/${t.id}`, { description: 'x' }).expect(404);
  });

  test('ids must be numbers', async () => {
    expect((await s.get('/api/periodic-tasks/abc').expect(400)).body.errors.id).toMatch(/whole number/);
  });
});

describe('validation: 400 with a message per field, nothing written', () => {
  const cases: [string, Record<string, unknown>, Record<string, RegExp>][] = [
    [
      'unknown task, with a hint',
      { ...nightly, task: 'math.ad' },
      { task: /no task named 'math.ad' is registered \(did you mean 'math.add'\?\)/ },
    ],
    ['bad cron field', { ...nightly, schedule: { ...nightly.schedule, minute: '61' } }, { 'schedule.minute': /61/ }],
    [
      'bad day of week',
      { ...nightly, schedule: { ...nightly.schedule, dayOfWeek: 'funday' } },
      { 'schedule.dayOfWeek': /funday/ },
    ],
    [
      'unknown zone, with a hint',
      { ...nightly, schedule: { ...nightly.schedule, timezone: 'Europe/Berln' } },
      { 'schedule.timezone': /unknown time zone 'Europe\/Berln'.*did you mean 'Europe\/Berlin'/ },
    ],
    [
      'a day that never occurs',
      { ...nightly, schedule: { ...nightly.schedule, dayOfMonth: '31', monthOfYear: '2' } },
      { 'schedule.dayOfMonth': /never occurs/ },
    ],
    [
      'interval of zero',
      { ...nightly, schedule: { kind: 'interval', every: 0, period: 'minutes' } },
      { 'schedule.every': /./ },
    ],
    [
      'unknown period',
      { ...nightly, schedule: { kind: 'interval', every: 5, period: 'weeks' } },
      { 'schedule.period': /./ },
    ],
    [
      'solar out of range',
      { ...nightly, schedule: { kind: 'solar', event: 'sunrise', latitude: 123, longitude: 0 } },
      { 'schedule.latitude': /out of range/ },
    ],
    [
      'unknown solar event',
      { ...nightly, schedule: { kind: 'solar', event: 'sunrize', latitude: 1, longitude: 1 } },
      { 'schedule.event': /did you mean 'sunrise'/ },
    ],
    [
      'bad clocked time',
      { ...nightly, schedule: { kind: 'clocked', clockedTime: 'soon' } },
      { 'schedule.clockedTime': /./ },
    ],
    ['unknown kind', { ...nightly, schedule: { kind: 'weekly' } }, { 'schedule.kind': /not a schedule kind/ }],
    ['bad cron string', { ...nightly, schedule: '* * *' }, { 'schedule.kind': /not a cron expression/ }],
    ['missing schedule', { name: 'x', task: 'math.add' }, { schedule: /required/ }],
    ['missing name', { task: 'math.add', schedule: 30 }, { name: /required/ }],
    ['args not an array', { ...nightly, args: { a: 1 } }, { args: /must be an array/ }],
    ['kwargs not an object', { ...nightly, kwargs: [1] }, { kwargs: /must be an object/ }],
    ['reserved header', { ...nightly, headers: { id: 'x' } }, { headers: /may not set 'id'/ }],
    ['priority out of range', { ...nightly, priority: 300 }, { priority: /0-255/ }],
    [
      'expires and expireSeconds',
      { ...nightly, expires: '2030-01-01T00:00:00Z', expireSeconds: 60 },
      { expireSeconds: /not both/ },
    ],
    ['unknown field', { ...nightly, enable: false }, { enable: /did you mean 'enabled'/ }],
    ['bad catchUp', { ...nightly, catchUp: 'all' }, { catchUp: /'once'/ }],
  ];
  test.each(cases)('%s', async (_label, payload, expected) => {
    const before = [
      await count('celeriac_periodic_task'),
      await count('celeriac_crontab_schedule'),
      await count('celeriac_interval_schedule'),
    ];
    const res = await s.post('/api/periodic-tasks', payload).expect(400);
    expect(res.body.error).toBe('validation_failed');
    for (const [field, re] of Object.entries(expected)) expect(res.body.errors[field]).toMatch(re);
    expect(Object.keys(res.body.errors).sort()).toEqual(Object.keys(expected).sort());
    expect([
      await count('celeriac_periodic_task'),
      await count('celeriac_crontab_schedule'),
      await count('celeriac_interval_schedule'),
    ]).toEqual(before);
  });

  test('several problems come back together', async () => {
    const res = await s
      .post('/api/periodic-tasks', {
        name: '',
        task: 'nope',
        schedule: { ...nightly.schedule, minute: 'x', timezone: 'Mars/Base' },
        args: 5,
      })
      .expect(400);
    expect(Object.keys(res.body.errors).sort()).toEqual([
      'args',
      'name',
      'schedule.minute',
      'schedule.timezone',
      'task',
    ]);
  });

  test('a duplicate name is a field error, and its new schedule row is rolled back', async () => {
    const crontabs = await count('celeriac_crontab_schedule');
    const res = await s
      .post('/api/periodic-tasks', { ...nightly, schedule: { ...nightly.schedule, minute: '31' } })
      .expect(400);
    expect(res.body.errors.name).toMatch(/already exists/);
    expect(await count('celeriac_crontab_schedule')).toBe(crontabs);
  });

  test('a bad PATCH changes nothing', async () => {
    const t = (await s.get('/api/periodic-tasks?q=nightly').expect(200)).body.items[0];
    const res = await s
      .patch(`/api/periodic-tasks/${t.id}`, { description: 'new', schedule: { ...nightly.schedule, hour: '25' } })
      .expect(400);
    expect(res.body.errors['schedule.hour']).toBeDefined();
    expect((await s.get(`/api/periodic-tasks/${t.id}`)).body.description).toBe('adds');
  });
});

describe('enable, disable, run now, bulk', () => {
  let ids: number[];
  beforeAll(async () => {
    ids = [];
    for (const name of ['bulk a', 'bulk b', 'bulk c'])
      ids.push(
        (await s.post('/api/periodic-tasks', { name, task: 'math.add', schedule: 3600, args: [2, 3] }).expect(201)).body
          .id,
      );
  });

  test('disable and enable one', async () => {
    expect((await s.post(`/api/periodic-tasks/${ids[0]}/disable`).expect(200)).body).toMatchObject({
      enabled: false,
      nextRunExpectedAt: null,
    });
    expect((await s.post(`/api/periodic-tasks/${ids[0]}/enable`).expect(200)).body.enabled).toBe(true);
    await s.post('/api/periodic-tasks/999999/enable').expect(404);
    expect((await s.post(`/api/periodic-tasks/${ids[0]}/enable`, { now: true }).expect(400)).body.errors.now).toMatch(
      /unknown field/,
    );
  });

  test('run now sends the task with the periodic task name; it runs', async () => {
    const res = await s.post(`/api/periodic-tasks/${ids[1]}/run`).expect(202);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      task: 'math.add',
      periodicTask: 'bulk b',
      state: 'PENDING',
    });
    const worker = app.worker({ name: 'periodic-w@test' });
    await worker.start();
    const done = await waitForState(s, res.body.id, ['SUCCESS']);
    expect(done.result).toBe(5);
    expect(
      (await s.get(`/api/tasks?periodicTask=${encodeURIComponent('bulk b')}`)).body.items.map((t: any) => t.id),
    ).toContain(res.body.id);
    await worker.stop();
  });

  test('bulk disable / enable: all rows in one statement', async () => {
    expect((await s.post('/api/periodic-tasks/bulk', { action: 'disable', ids }).expect(200)).body).toEqual({
      action: 'disable',
      ids,
      count: 3,
    });
    for (const id of ids) expect((await s.get(`/api/periodic-tasks/${id}`)).body.enabled).toBe(false);
    await s.post('/api/periodic-tasks/bulk', { action: 'enable', ids }).expect(200);
    for (const id of ids) expect((await s.get(`/api/periodic-tasks/${id}`)).body.enabled).toBe(true);
  });

  test('bulk with an unknown id changes nothing', async () => {
    const res = await s.post('/api/periodic-tasks/bulk', { action: 'disable', ids: [...ids, 999999] }).expect(404);
    expect(res.body.message).toMatch(/999999.*nothing was changed/);
    for (const id of ids) expect((await s.get(`/api/periodic-tasks/${id}`)).body.enabled).toBe(true);
    await s.post('/api/periodic-tasks/bulk', { action: 'run', ids: [ids[0], 999999] }).expect(404);
  });

  test('bulk run sends each; bulk delete removes them', async () => {
    const run = (await s.post('/api/periodic-tasks/bulk', { action: 'run', ids: ids.slice(0, 2) }).expect(202)).body;
    expect(Object.keys(run.taskIds)).toEqual(ids.slice(0, 2).map(String));
    await s.post('/api/periodic-tasks/bulk', { action: 'delete', ids }).expect(200);
    for (const id of ids) await s.get(`/api/periodic-tasks/${id}`).expect(404);
  });

  test('bulk validation', async () => {
    const res = await s.post('/api/periodic-tasks/bulk', { action: 'toggle', ids: ['a'] }).expect(400);
    expect(Object.keys(res.body.errors).sort()).toEqual(['action', 'ids']);
    expect(
      (await s.post('/api/periodic-tasks/bulk', { action: 'enable', ids: [] }).expect(400)).body.errors.ids,
    ).toBeDefined();
  });
});

describe('previews and schedules', () => {
  test('preview of a stored task: the next N runs in its zone', async () => {
    const t = (await s.get('/api/periodic-tasks?q=nightly')).body.items[0];
    const res = await s.get(`/api/periodic-tasks/${t.id}/preview?n=7`).expect(200);
    expect(res.body.runs).toHaveLength(7);
    expect(res.body.text).toBe(t.scheduleText);
    for (const iso of res.body.runs) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Berlin',
        hour: '2-digit',
        minute: '2-digit',
        weekday: 'short',
      }).format(new Date(iso));
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 02:30$/);
    }
    expect((await s.get(`/api/periodic-tasks/${t.id}/preview?n=500`).expect(400)).body.errors.n).toMatch(/1 to 50/);
    await s.get('/api/periodic-tasks/999999/preview').expect(404);
  });

  test('preview of an unsaved schedule, with field errors', async () => {
    const res = await s
      .post('/api/schedules/preview', {
        schedule: { kind: 'crontab', minute: '0', hour: '9', dayOfWeek: '1', timezone: 'America/New_York' },
        n: 3,
      })
      .expect(200);
    expect(res.body.schedule).toMatchObject({ kind: 'crontab', dayOfMonth: '*', monthOfYear: '*' });
    expect(res.body.text).toMatch(/09:00.*America\/New_York/);
    expect(res.body.runs).toHaveLength(3);
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const started = (await s.post('/api/schedules/preview', { schedule: 3600, startTime: later, n: 2 }).expect(200))
      .body;
    expect(started.runs[0]).toBe(later);
    const bad = await s
      .post('/api/schedules/preview', { schedule: { kind: 'crontab', minute: '99', timezone: 'Nowhere/Zone' }, n: 0 })
      .expect(400);
    expect(Object.keys(bad.body.errors).sort()).toEqual(['n']);
    const bad2 = await s
      .post('/api/schedules/preview', { schedule: { kind: 'crontab', minute: '99', timezone: 'Nowhere/Zone' } })
      .expect(400);
    expect(Object.keys(bad2.body.errors).sort()).toEqual(['schedule.minute', 'schedule.timezone']);
    expect((await s.post('/api/schedules/preview', {}).expect(400)).body.errors.schedule).toMatch(/required/);
  });

  test("the form's preview of a stored task starts where the saved row will", async () => {
    const startTime = new Date(Date.now() + 86_400_000).toISOString();
    const t = (
      await s
        .post('/api/periodic-tasks', { name: 'preview me', task: 'math.add', schedule: 3600, startTime })
        .expect(201)
    ).body;
    // Unchanged schedule: the run the list shows; the form sends the id of the row it edits.
    const same = (await s.post('/api/schedules/preview', { schedule: 3600, startTime, id: t.id, n: 1 }).expect(200))
      .body;
    expect(same.runs[0]).toBe(t.nextRunExpectedAt);
    expect(
      (await s.post('/api/schedules/preview', { schedule: 60, id: 999999 }).expect(404)).body.errors.id,
    ).toBeDefined();
    expect((await s.post('/api/schedules/preview', { schedule: 60, id: 'x' }).expect(400)).body.errors.id).toMatch(
      /whole number/,
    );
    await s.delete(`/api/periodic-tasks/${t.id}`).expect(204);
  });

  test('schedules list with usage; unused ones can be deleted, used ones cannot', async () => {
    const list = (await s.get('/api/schedules').expect(200)).body;
    expect(Object.keys(list).sort()).toEqual(['clocked', 'crontab', 'interval', 'solar']);
    const used = list.crontab.find((c: any) => c.minute === '30' && c.hour === '2');
    expect(used).toMatchObject({
      id: expect.any(Number),
      kind: 'crontab',
      usedBy: 1,
      text: expect.stringMatching(/02:30/),
    });
    const res = await s.delete(`/api/schedules/crontab/${used.id}`).expect(409);
    expect(res.body.message).toMatch(/'nightly sums'/);
    // The PUT above left an interval schedule (every 10 minutes) behind.
    const orphan = list.interval.find((i: any) => i.usedBy === 0);
    expect(orphan).toBeDefined();
    await s.delete(`/api/schedules/interval/${orphan.id}`).expect(204);
    await s.delete(`/api/schedules/interval/${orphan.id}`).expect(404);
    expect((await s.delete('/api/schedules/weekly/1').expect(400)).body.errors.kind).toBeDefined();
  });

  test('beats: none running here', async () => {
    expect((await s.get('/api/beats').expect(200)).body).toEqual({ beats: [] });
  });

  test('with a beat running, the planned next run appears', async () => {
    const beat = app.beat({ name: 'admin-test-beat' });
    await beat.start();
    try {
      const t = (
        await s
          .post('/api/periodic-tasks', { name: 'planned by beat', task: 'math.add', schedule: '0 4 * * *' })
          .expect(201)
      ).body;
      await eventually(
        async () => {
          const got = (await s.get(`/api/periodic-tasks/${t.id}`)).body;
          expect(got.nextRunAt).not.toBeNull();
          expect(got.nextRunExpectedAt).toBe(got.nextRunAt);
        },
        10_000,
        100,
      );
      expect((await s.get('/api/beats')).body.beats.map((b: any) => b.beatId)).toContain('admin-test-beat');
    } finally {
      await beat.stop();
    }
  });
});
