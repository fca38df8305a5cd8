import type { Celeriac } from '../../src';
import { cleanup } from '../helpers';
import { adminApp, staffSession, type StaffSession } from '../admin/helpers';

/**
 * Found by probing the task list's query string from outside (session 7): values that pass the
 * admin's shape checks but that Postgres refuses, or that JavaScript's Date silently moves to
 * another day, must be a 400 naming the parameter, never a 500 or a different instant.
 */

let app: Celeriac;
let s: StaffSession;

beforeAll(async () => {
  const made = await adminApp('probe_query');
  app = made.app;
  s = await staffSession(made.web);
  expect((await s.post('/api/tasks', { task: 'math.add', args: [1, 2] })).status).toBe(202);
});

afterAll(() => cleanup(app));

const cursor = (value: string, id: string) => Buffer.from(JSON.stringify([value, id])).toString('base64url');

async function expectNamed(path: string, field: string) {
  const api = await s.get(`/api${path}`);
  expect({ path, status: api.status, named: Object.keys(api.body.errors ?? {}) }).toEqual({
    path,
    status: 400,
    named: [field],
  });
  // The page reads the same query: an HTML 400, not a 500.
  const page = await s.get(path).set('Accept', 'text/html');
  expect({ path, status: page.status }).toEqual({ path, status: 400 });
}

describe('task list dates Postgres would refuse (was a 500)', () => {
  test.each(['0000-01-01', '0000-12-31T23:00:00Z'])('until=%s (year 0)', (d) =>
    expectNamed(`/tasks?until=${d}`, 'until'),
  );
  test.each(['0000-01-01', '0000-06-01T10:00:00+02:00'])('since=%s (year 0)', (d) =>
    expectNamed(`/tasks?since=${encodeURIComponent(d)}`, 'since'),
  );
});

describe('task list dates that are not on the calendar (were moved to another day)', () => {
  test.each(['2026-02-30', '2026-02-29T10:00:00Z', '2026-04-31', '2026-06-00'])('since=%s', (d) =>
    expectNamed(`/tasks?since=${encodeURIComponent(d)}`, 'since'),
  );
  test('a real leap day is fine', async () => {
    expect((await s.get('/api/tasks?since=2028-02-29T10:00:00Z')).status).toBe(200);
  });
});

describe('forged cursors (was a 500: Postgres refused the timestamp or the id)', () => {
  test.each([
    ['month 99', cursor('2026-99-99 99:99:99', '1')],
    ['February 30', cursor('2026-02-30 00:00:00', '1')],
    ['year 0', cursor('0000-01-01 00:00:00', '1')],
    ['offset +99', cursor('2026-01-01 00:00:00+99', '1')],
    ['hour 24:30', cursor('2026-01-01 24:30:00+00', '1')],
    ['id past bigint', cursor('2026-01-01 00:00:00+00', '9999999999999999999')],
  ])('%s', async (_what, c) => {
    await expectNamed(`/tasks?cursor=${c}`, 'cursor');
    await expectNamed(`/tasks?cursor=${c}&sort=-date_created`, 'cursor');
  });

  test('a cursor the API issued still pages', async () => {
    await s.post('/api/tasks', { task: 'math.add', args: [3, 4] });
    const first = await s.get('/api/tasks?limit=1').expect(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const next = await s.get(`/api/tasks?limit=1&cursor=${first.body.nextCursor}`).expect(200);
    expect(next.body.items).toHaveLength(1);
    expect(next.body.items[0].id).not.toBe(first.body.items[0].id);
  });
});

test('an eta on a day the calendar does not have is named, not moved to March', async () => {
  const r = await s.post('/api/tasks', { task: 'math.add', args: [1, 2], options: { eta: '2026-02-30T10:00:00Z' } });
  expect(r.status).toBe(400);
  expect(Object.keys(r.body.errors).join(' ')).toMatch(/eta/);
});
