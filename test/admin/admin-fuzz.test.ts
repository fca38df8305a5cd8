import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PeriodicTaskService, type Celeriac } from '../../src';
import { cleanup, DATABASE_URL } from '../helpers';
import { fc, propertyOptions } from '../property';
import {
  anyText,
  field,
  instant,
  pathId,
  schedule,
  weirdNumber,
  wireBody,
  wrongValue,
  type WireBody,
} from './fuzz-bodies';
import { adminApp, MOUNT } from './helpers';

/**
 * Issue 15's property: for each admin route that changes something (and the schedule preview,
 * which parses the same schedules), 1,000 generated requests — wrong types, missing fields, huge
 * and tiny numbers, long strings, NUL and lone surrogates, deep nesting, hostile keys, bad dates,
 * zones and crontabs, bodies not JSON or not labelled JSON, junk ids in the URL — and for each:
 *   - the status is below 500;
 *   - a 4xx is JSON naming at least one field, and, for a body with no text- or shape-level problem
 *     on a well-formed URL, every unknown top-level key among them (every bad field at once);
 *   - no table's row count, queue length or dead-letter count changed unless the answer was 2xx
 *     (no partial write).
 * Requests go to the admin mounted in this process over one keep-alive socket. The per-route
 * counts are printed at the end and written to $TMPDIR/celeriac-admin-fuzz.txt.
 * FC_SEED=<n> replays a run, FC_RANDOM=1 draws a new seed; the seed is in any failure message.
 */

const RUNS = Number(process.env.ADMIN_FUZZ_RUNS ?? 1000);
const PERIODIC_FIELDS = [
  'name',
  'task',
  'schedule',
  'args',
  'kwargs',
  'queue',
  'exchange',
  'routingKey',
  'headers',
  'priority',
  'expires',
  'expireSeconds',
  'oneOff',
  'startTime',
  'enabled',
  'description',
  'catchUp',
];
const TABLES = [
  'celeriac_periodic_task',
  'celeriac_interval_schedule',
  'celeriac_crontab_schedule',
  'celeriac_solar_schedule',
  'celeriac_clocked_schedule',
  'celeriac_task_result',
];

let app: Celeriac;
let service: PeriodicTaskService;
let server: http.Server;
let agent: http.Agent;
let port: number;
let pg: Client;
let cookie: string;
let token: string;
const report: string[] = [];

beforeAll(async () => {
  const made = await adminApp('admin_fuzz', { admin: { controlTimeoutMs: 20 } });
  app = made.app;
  service = new PeriodicTaskService(app);
  server = http.createServer(made.web);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  const csrf = await send('GET', '/api/csrf', {});
  token = csrf.json.token;
  cookie = csrf.cookie!.split(';')[0];
});

afterAll(async () => {
  const text = `admin fuzz, seed ${propertyOptions(RUNS).seed}, ${RUNS} bodies per route\n${report.join('\n')}\n`;
  process.stdout.write(`\n${text}`);
  writeFileSync(join(tmpdir(), 'celeriac-admin-fuzz.txt'), text);
  agent?.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pg?.end();
  await cleanup(app);
});

interface Answer {
  status: number;
  json: any;
  text: string;
  cookie?: string;
}

function send(method: string, path: string, body: WireBody): Promise<Answer> {
  const headers: Record<string, string> = { 'x-test-user': 'staff', accept: 'application/json' };
  if (token) Object.assign(headers, { 'x-csrf-token': token, cookie });
  if (body.type) headers['content-type'] = body.type;
  if (body.encoding) headers['content-encoding'] = body.encoding;
  const payload = body.text === undefined ? undefined : Buffer.from(body.text, 'utf8');
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method, path: MOUNT + path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, json, text, cookie: res.headers['set-cookie']?.[0] });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Queues the requests send to, purge or re-queue into: a refused request must leave them as they were. */
const QUEUES = ['celery', 'fuzz', 'fuzzq', 'fuzzdead'];

/**
 * Rows in every table a route writes, messages waiting in the queues it may send to (a countdown
 * send is caught by its PENDING row), and the dead letters when the route is about them (listing
 * them reads every entry, so only there).
 */
async function rowCounts(deadLetters = false): Promise<string> {
  await (await app.results()).flush(5000);
  const sel = TABLES.map((t) => `(SELECT count(*)::int FROM "${app.config.schema}".${t}) AS "${t}"`).join(', ');
  const broker = await app.broker();
  const messages = await Promise.all(QUEUES.map((q) => broker.queueLength(q)));
  const dead = deadLetters ? (await broker.listDeadLetters(100_000)).length : null;
  return JSON.stringify({ ...(await pg.query(`SELECT ${sel}`)).rows[0], messages, dead });
}

/**
 * The counts as of the last check: a refused request must leave them as they were, so they are
 * read again only after something wrote (a 2xx, or a run's set-up, which calls wrote()).
 */
let counted: string | undefined;
const wrote = () => void (counted = undefined);

/** Deepest nesting of brackets in JSON text, strings skipped. */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/**
 * The top-level keys of a body the admin must read field by field: a JSON object labelled as JSON,
 * with no text Postgres cannot hold, no hostile key, no number past a double and no nesting past
 * the limit (those are answered first, by the body check, naming the fields they are in).
 */
function plainKeys(body: WireBody): string[] | undefined {
  if (!body.text || body.encoding || !/^application\/json(;\s*charset=utf-8)?$/i.test(body.type ?? ''))
    return undefined;
  if (body.text.length > 90_000 || depthOf(body.text) > 60) return undefined;
  if (/\\u0000|\\ud[89a-f][0-9a-f]{2}|__proto__|"constructor"|"prototype"|\de\d{3}/i.test(body.text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.keys(value);
}

interface Request {
  method: string;
  path: string;
  body: WireBody;
  /** The URL's ids are well formed, so a 400 is about the body. */
  pathOk: boolean;
}

interface Route<T> {
  label: string;
  input: fc.Arbitrary<T>;
  /** Turns a generated input into a request, setting up the rows it refers to. */
  build: (input: T) => Promise<Request>;
  /** The top-level fields the route reads; others must be named as unknown. */
  known?: readonly string[];
  /** False where no request can succeed here (no worker answers control commands in this test). */
  succeeds?: boolean;
  /** The route changes dead letters: count them too. */
  deadLetters?: boolean;
}

async function fuzz<T>(route: Route<T>): Promise<void> {
  const stats = { bodies: 0, s2xx: 0, s4xx: 0, s5xx: 0, partial: 0 };
  const statuses = new Map<number, number>();
  const fields = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(route.input, async (input) => {
      const r = await route.build(input);
      const before = (counted ??= await rowCounts(route.deadLetters));
      const res = await send(r.method, r.path, r.body);
      stats.bodies++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const where = `${r.method} ${r.path} ${JSON.stringify(r.body).slice(0, 400)} → ${res.status} ${res.text.slice(0, 400)}`;
      if (res.status >= 500) {
        stats.s5xx++;
        throw new Error(`5xx: ${where}`);
      }
      const ok = res.status >= 200 && res.status < 300;
      if (ok) {
        stats.s2xx++;
        wrote();
      } else {
        stats.s4xx++;
        const errors = res.json?.errors;
        const named = errors && typeof errors === 'object' ? Object.keys(errors) : [];
        if (named.length === 0 || named.some((k) => typeof errors[k] !== 'string' || errors[k] === ''))
          throw new Error(`a ${res.status} that names no field: ${where}`);
        for (const k of named) fields.set(k, (fields.get(k) ?? 0) + 1);
        const keys = r.pathOk && res.json.error === 'validation_failed' && route.known ? plainKeys(r.body) : undefined;
        const unnamed = keys?.filter((k) => !route.known!.includes(k) && !named.includes(k));
        if (unnamed?.length) throw new Error(`unknown fields ${JSON.stringify(unnamed)} not named: ${where}`);
        const after = (counted = await rowCounts(route.deadLetters));
        if (after !== before) {
          stats.partial++;
          throw new Error(`rows changed by a ${res.status}: ${before} → ${after}: ${where}`);
        }
      }
    }),
    propertyOptions(RUNS, { endOnFailure: true }),
  );
  const byStatus = [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  report.push(
    `${route.label.padEnd(46)} bodies ${stats.bodies}  2xx ${stats.s2xx}  4xx ${stats.s4xx}  5xx ${stats.s5xx}  partial writes ${stats.partial}  (${byStatus})`,
  );
  if (process.env.ADMIN_FUZZ_DEBUG)
    report.push(`  named: ${JSON.stringify([...fields].sort((a, b) => b[1] - a[1]).slice(0, 20))}`);
  expect(stats).toMatchObject({ bodies: RUNS, s5xx: 0, partial: 0 });
  // A generator that never passes validation would test only the refusals.
  if (route.succeeds !== false) expect(stats.s2xx).toBeGreaterThan(RUNS / 20);
  expect(stats.s4xx).toBeGreaterThan(RUNS / 5);
}

// ---- What the requests refer to: rows set up as a run needs them.

let serial = 0;
const uniqueName = () => `fuzz ${++serial} ${randomUUID().slice(0, 8)}`;

async function freshPeriodic(): Promise<number> {
  wrote();
  return (await service.create({ name: uniqueName(), task: 'math.add', schedule: 60, args: [1, 2] })).id;
}

/** A few periodic tasks per route that later runs edit; recreated when a run deleted one. */
const pools = new Map<string, number[]>();
async function pooled(route: string, index: number): Promise<number> {
  const ids = pools.get(route) ?? [];
  // Only the bulk route can delete a pool row; the others' rows stay, so asking costs a query for nothing.
  const alive =
    route === 'bulk'
      ? (
          await pg.query(`SELECT id FROM "${app.config.schema}".celeriac_periodic_task WHERE id = ANY($1)`, [ids])
        ).rows.map((r) => Number(r.id))
      : [...ids];
  while (alive.length < 4) alive.push(await freshPeriodic());
  pools.set(route, alive);
  return alive[index % alive.length];
}

async function taskRow(status: 'PENDING' | 'SUCCESS' | 'FAILURE', taskName = 'math.add'): Promise<string> {
  const taskId = randomUUID();
  wrote();
  const store = await app.results();
  await store.write({ taskId, status, retries: 0, taskName, args: [1, 2], kwargs: {} });
  await store.flush(5000);
  return taskId;
}

/** A message waiting in queue `fuzzq`; its task id. */
async function queued(): Promise<string> {
  wrote();
  return (await app.sendTask('math.add', [1, 2], {}, { queue: 'fuzzq' })).id;
}

/** A dead letter (a message fetched from `fuzzdead` and dead-lettered); its task id. */
async function deadLetter(): Promise<string> {
  wrote();
  const broker = await app.broker();
  // Dead letters re-queued by earlier runs wait here; the fetch must take this one.
  await broker.queueAdmin.purge('fuzzdead');
  const { id } = await app.sendTask('math.add', [1, 2], {}, { queue: 'fuzzdead' });
  await broker.registerConsumer('fuzz-consumer', 60_000);
  const [held] = await broker.fetch('fuzz-consumer', ['fuzzdead'], 1, 0);
  await broker.deadLetter('fuzz-consumer', held.raw, 'fuzz: poison');
  await broker.unregisterConsumer('fuzz-consumer');
  return id;
}

type Target = 'good' | 'missing' | string;
const target = (good: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: fc.constant('missing'), weight: 1 }, pathId(fc.constant('')));

/** A junk URL segment is sent as generated; the rest become ids of rows set up for the run. */
const isJunk = (t: Target) =>
  !['good', 'missing', 'pending', 'done', 'failed', 'unroutable', 'used', 'fresh'].includes(t);

// ---- Bodies.

const registered = fc.oneof(
  { arbitrary: fc.constantFrom('math.add', 'math.echo'), weight: 8 },
  { arbitrary: fc.constantFrom('math.ad', 'unknown.task', '', 'math.add\u0000'), weight: 1 },
);
const plainJson = fc.jsonValue({ maxDepth: 2 });
const smallDict = fc.dictionary(fc.string({ maxLength: 6 }), plainJson, { maxKeys: 3 });

function periodicBody(required: ('name' | 'task' | 'schedule')[]) {
  return fc.record(
    {
      name: fc.oneof(
        { arbitrary: fc.constant(null).map(() => uniqueName()), weight: 6 },
        { arbitrary: anyText, weight: 1 },
        { arbitrary: wrongValue, weight: 1 },
      ),
      task: fc.oneof({ arbitrary: registered, weight: 8 }, { arbitrary: wrongValue, weight: 1 }),
      schedule,
      args: field(fc.array(plainJson, { maxLength: 3 })),
      kwargs: field(smallDict),
      queue: field(fc.constantFrom('celery', 'fuzz', null)),
      exchange: field(fc.constantFrom('celery', null)),
      routingKey: field(fc.constantFrom('fuzz', null)),
      headers: field(smallDict),
      priority: field(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constant(null))),
      expires: field(fc.oneof(instant, fc.constant(null))),
      expireSeconds: field(fc.oneof(fc.integer({ min: 1, max: 86_400 }), fc.constant(null))),
      oneOff: field(fc.boolean()),
      startTime: field(fc.oneof(instant, fc.constant(null))),
      enabled: field(fc.boolean()),
      description: field(fc.string({ maxLength: 40 })),
      catchUp: field(fc.constantFrom('once', 'skip')),
    },
    { requiredKeys: required },
  );
}

/** Keeps name, task and schedule (when generated) and up to four of `optional`: a body with all seventeen rarely passes. */
function sparse(arb: fc.Arbitrary<Record<string, unknown>>, optional: readonly string[]) {
  return fc.tuple(arb, fc.subarray([...optional], { maxLength: 4 })).map(([body, kept]) => {
    const keep = new Set(['name', 'task', 'schedule', ...kept]);
    return Object.fromEntries(Object.entries(body).filter(([k]) => keep.has(k)));
  });
}

const OPTIONAL = PERIODIC_FIELDS.filter((f) => !['name', 'task', 'schedule'].includes(f));
const createBody = sparse(periodicBody(['name', 'task', 'schedule']), OPTIONAL);

const seconds = field(fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.constant(null)));
const CONTROL_BODIES = {
  'pool-grow': fc.record({ n: field(fc.integer({ min: 1, max: 1000 })) }, { requiredKeys: [] }),
  'pool-shrink': fc.record({ n: field(fc.integer({ min: 1, max: 1000 })) }, { requiredKeys: [] }),
  'add-consumer': fc.record({ queue: field(fc.constantFrom('celery', 'fuzz')) }),
  'cancel-consumer': fc.record({ queue: field(fc.constantFrom('celery', 'fuzz')) }),
  'rate-limit': fc.record({ task: field(registered), rate: field(fc.constantFrom('10/s', '100/m', '1.5/h', null)) }),
  'time-limit': fc.record({ task: field(registered), soft: seconds, hard: seconds }, { requiredKeys: ['task'] }),
  autoscale: fc.record(
    { max: field(fc.integer({ min: 1, max: 100 })), min: field(fc.integer({ min: 0, max: 10 })) },
    { requiredKeys: ['max'] },
  ),
  'pool-restart': fc.constant({}),
  shutdown: fc.constant({}),
};

// ---- The routes.

const routes: Route<any>[] = [
  {
    label: 'POST api/tasks',
    known: ['task', 'args', 'kwargs', 'options'],
    input: wireBody(
      fc.record(
        {
          task: fc.oneof({ arbitrary: registered, weight: 8 }, { arbitrary: wrongValue, weight: 1 }),
          args: field(fc.array(plainJson, { maxLength: 3 })),
          kwargs: field(smallDict),
          options: field(
            fc.record(
              {
                queue: field(fc.constantFrom('fuzz', 'celery', '')),
                countdown: field(fc.oneof(fc.integer({ min: 0, max: 3600 }), weirdNumber)),
                eta: field(instant),
                priority: field(fc.integer({ min: 0, max: 9 })),
                expires: field(fc.oneof(fc.integer({ min: 1, max: 3600 }), instant)),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: ['task'] },
      ),
    ),
    build: async (body) => ({ method: 'POST', path: '/api/tasks', body, pathOk: true }),
  },
  {
    label: 'POST api/tasks/:id/revoke',
    known: ['terminate'],
    input: fc.tuple(
      target(fc.constantFrom('pending', 'done')),
      wireBody(fc.record({ terminate: field(fc.boolean()) }, { requiredKeys: [] })),
    ),
    build: async ([t, body]: [Target, WireBody]) => {
      const id = isJunk(t) ? t : t === 'missing' ? randomUUID() : await taskRow(t === 'done' ? 'SUCCESS' : 'PENDING');
      return { method: 'POST', path: `/api/tasks/${id}/revoke`, body, pathOk: !isJunk(t) };
    },
  },
  {
    label: 'POST api/tasks/:id/retry',
    known: [],
    input: fc.tuple(target(fc.constantFrom('failed', 'failed', 'pending', 'unroutable')), wireBody(fc.constant({}))),
    build: async ([t, body]: [Target, WireBody]) => {
      const id = isJunk(t)
        ? t
        : t === 'missing'
          ? randomUUID()
          : await taskRow(t === 'pending' ? 'PENDING' : 'FAILURE', t === 'unroutable' ? 'gone.task' : 'math.add');
      return { method: 'POST', path: `/api/tasks/${id}/retry`, body, pathOk: !isJunk(t) };
    },
  },
  {
    label: 'POST api/periodic-tasks',
    known: PERIODIC_FIELDS,
    input: wireBody(createBody),
    build: async (body) => ({ method: 'POST', path: '/api/periodic-tasks', body, pathOk: true }),
  },
  {
    label: 'PUT api/periodic-tasks/:id',
    known: PERIODIC_FIELDS,
    input: fc.tuple(
      target(fc.constant('good')),
      fc.nat(3),
      wireBody(
        fc.oneof({ arbitrary: createBody, weight: 4 }, { arbitrary: sparse(periodicBody([]), OPTIONAL), weight: 1 }),
      ),
    ),
    build: async ([t, i, body]: [Target, number, WireBody]) => {
      const id = isJunk(t) ? t : t === 'missing' ? '999999999' : await pooled('put', i);
      return { method: 'PUT', path: `/api/periodic-tasks/${id}`, body, pathOk: !isJunk(t) };
    },
  },
  {
    label: 'PATCH api/periodic-tasks/:id',
    known: PERIODIC_FIELDS,
    input: fc.tuple(target(fc.constant('good')), fc.nat(3), wireBody(sparse(periodicBody([]), PERIODIC_FIELDS))),
    build: async ([t, i, body]: [Target, number, WireBody]) => {
      const id = isJunk(t) ? t : t === 'missing' ? '999999999' : await pooled('patch', i);
      return { method: 'PATCH', path: `/api/periodic-tasks/${id}`, body, pathOk: !isJunk(t) };
    },
  },
  {
    label: 'DELETE api/periodic-tasks/:id',
    known: [],
    input: fc.tuple(target(fc.constant('fresh')), wireBody(fc.constant({}), { allowEmpty: true })),
    build: async ([t, body]: [Target, WireBody]) => {
      const id = isJunk(t) ? t : t === 'missing' ? '999999999' : await freshPeriodic();
      return { method: 'DELETE', path: `/api/periodic-tasks/${id}`, body, pathOk: !isJunk(t) };
    },
  },
  ...(['enable', 'disable', 'run'] as const).map((action): Route<[Target, number, WireBody]> => ({
    label: `POST api/periodic-tasks/:id/${action}`,
    known: [],
    input: fc.tuple(target(fc.constant('good')), fc.nat(3), wireBody(fc.constant({}), { allowEmpty: true })),
    build: async ([t, i, body]) => {
      const id = isJunk(t) ? t : t === 'missing' ? '999999999' : await pooled(action, i);
      return { method: 'POST', path: `/api/periodic-tasks/${id}/${action}`, body, pathOk: !isJunk(t) };
    },
  })),
  {
    label: 'POST api/periodic-tasks/bulk',
    known: ['action', 'ids', 'tasks'],
    input: fc.tuple(
      fc.array(fc.nat(3), { maxLength: 4 }),
      wireBody(
        fc.oneof(
          fc.record(
            {
              action: field(fc.constantFrom('enable', 'disable', 'run', 'delete')),
              ids: fc.oneof(
                { arbitrary: fc.constant('pool'), weight: 6 },
                { arbitrary: fc.array(fc.oneof(weirdNumber, wrongValue), { maxLength: 5 }), weight: 1 },
                { arbitrary: fc.constant(Array.from({ length: 501 }, (_, i) => i + 1)), weight: 1 },
                { arbitrary: wrongValue, weight: 1 },
              ),
            },
            { requiredKeys: [] },
          ),
          // createMany / upsertMany: a few tasks, most of them plausible; one bad item refuses all.
          fc.record(
            {
              action: field(fc.constantFrom('create', 'upsert')),
              tasks: fc.oneof(
                { arbitrary: fc.array(createBody, { minLength: 1, maxLength: 4 }), weight: 6 },
                { arbitrary: fc.array(fc.oneof(createBody, wrongValue), { maxLength: 4 }), weight: 1 },
                { arbitrary: wrongValue, weight: 1 },
              ),
            },
            { requiredKeys: ['tasks'] },
          ),
        ),
      ),
    ),
    build: async ([picks, body]: [number[], WireBody]) => {
      const ids: number[] = [];
      for (const i of picks) ids.push(await pooled('bulk', i));
      const text = body.text?.replace(/"ids":"pool"/, `"ids":${JSON.stringify(ids)}`);
      return { method: 'POST', path: '/api/periodic-tasks/bulk', body: { ...body, text }, pathOk: true };
    },
  },
  {
    label: 'POST api/schedules/preview',
    known: ['schedule', 'startTime', 'n', 'id'],
    input: fc.tuple(
      fc.nat(3),
      wireBody(
        fc.record(
          {
            schedule,
            startTime: field(fc.oneof(instant, fc.constant(null))),
            n: field(fc.integer({ min: 1, max: 50 })),
            id: fc.oneof(
              { arbitrary: fc.constant('pool'), weight: 4 },
              { arbitrary: fc.constant(999_999_999), weight: 1 },
              { arbitrary: wrongValue, weight: 1 },
            ),
          },
          { requiredKeys: ['schedule'] },
        ),
      ),
    ),
    build: async ([i, body]: [number, WireBody]) => {
      const text = body.text?.includes('"id":"pool"')
        ? body.text.replace('"id":"pool"', `"id":${await pooled('preview', i)}`)
        : body.text;
      return { method: 'POST', path: '/api/schedules/preview', body: { ...body, text }, pathOk: true };
    },
  },
  {
    label: 'DELETE api/schedules/:kind/:id',
    known: [],
    input: fc.tuple(
      fc.oneof(
        { arbitrary: fc.constantFrom('interval', 'crontab', 'solar', 'clocked'), weight: 6 },
        { arbitrary: pathId(fc.constantFrom('Interval', 'toString')), weight: 1 },
      ),
      target(fc.constantFrom('fresh', 'fresh', 'used')),
      wireBody(fc.constant({}), { allowEmpty: true }),
    ),
    build: async ([kind, t, body]: [string, Target, WireBody]) => {
      const schema = app.config.schema;
      let id = t;
      if (t === 'missing') id = '999999999';
      else if (t === 'used') {
        const { rows } = await pg.query(`SELECT interval_id FROM "${schema}".celeriac_periodic_task WHERE id = $1`, [
          await pooled('schedules', 0),
        ]);
        id = String(rows[0].interval_id);
      } else if (t === 'fresh') {
        wrote();
        const insert: Record<string, string> = {
          interval: `INSERT INTO "${schema}".celeriac_interval_schedule (every, period) VALUES (${++serial}, 'days')`,
          crontab: `INSERT INTO "${schema}".celeriac_crontab_schedule (minute, hour, day_of_week, day_of_month, month_of_year, timezone) VALUES ('${++serial % 60}', '*', '*', '*', '*', 'UTC')`,
          solar: `INSERT INTO "${schema}".celeriac_solar_schedule (event, latitude, longitude) VALUES ('sunrise', ${(++serial % 9000) / 100}, 0)`,
          clocked: `INSERT INTO "${schema}".celeriac_clocked_schedule (clocked_time) VALUES (now() + interval '${++serial} days')`,
        };
        const sql = Object.hasOwn(insert, kind) ? insert[kind] : insert.interval;
        id = String((await pg.query(`${sql} RETURNING id`)).rows[0].id);
      }
      const ok = !isJunk(t) && ['interval', 'crontab', 'solar', 'clocked'].includes(kind);
      return { method: 'DELETE', path: `/api/schedules/${kind}/${id}`, body, pathOk: ok };
    },
  },
  {
    label: 'POST api/workers/:name/control/:command',
    succeeds: false,
    input: fc.tuple(
      fc.oneof(
        { arbitrary: fc.constant('nobody@host'), weight: 6 },
        { arbitrary: pathId(fc.constant('w')), weight: 1 },
      ),
      fc.oneof(
        ...Object.entries(CONTROL_BODIES).map(([command, body]) =>
          fc.tuple(fc.constant(command), wireBody(body as fc.Arbitrary<Record<string, unknown>>)),
        ),
        fc.tuple(pathId(fc.constantFrom('ping', 'revoke')), wireBody(fc.constant({}))),
      ),
    ),
    build: async ([name, [command, body]]: [string, [string, WireBody]]) => ({
      method: 'POST',
      path: `/api/workers/${name}/control/${command}`,
      body,
      pathOk: false,
    }),
  },
  {
    label: 'POST api/queues/:name/purge',
    known: [],
    input: fc.tuple(
      fc.oneof({ arbitrary: fc.constant('fuzzq'), weight: 6 }, { arbitrary: pathId(fc.constant('fuzzq')), weight: 2 }),
      fc.boolean(),
      wireBody(fc.constant({}), { allowEmpty: true }),
    ),
    build: async ([name, fill, body]: [string, boolean, WireBody]) => {
      if (fill) await queued();
      return { method: 'POST', path: `/api/queues/${name}/purge`, body, pathOk: name === 'fuzzq' };
    },
  },
  {
    label: 'DELETE api/queues/:name/messages/:id',
    known: [],
    input: fc.tuple(
      fc.oneof({ arbitrary: fc.constant('fuzzq'), weight: 6 }, { arbitrary: pathId(fc.constant('fuzzq')), weight: 1 }),
      target(fc.constant('good')),
      wireBody(fc.constant({}), { allowEmpty: true }),
    ),
    build: async ([name, t, body]: [string, Target, WireBody]) => {
      const id = isJunk(t) ? t : t === 'missing' ? randomUUID() : await queued();
      const pathOk = !isJunk(t) && name === 'fuzzq';
      return { method: 'DELETE', path: `/api/queues/${name}/messages/${id}`, body, pathOk };
    },
  },
  ...(['POST', 'DELETE'] as const).map((method): Route<[Target, WireBody]> => ({
    label: `${method} api/dead-letters/:id${method === 'POST' ? '/requeue' : ''}`,
    known: [],
    deadLetters: true,
    input: fc.tuple(target(fc.constant('good')), wireBody(fc.constant({}), { allowEmpty: true })),
    build: async ([t, body]) => {
      const id = isJunk(t) ? t : t === 'missing' ? randomUUID() : await deadLetter();
      const path = `/api/dead-letters/${id}${method === 'POST' ? '/requeue' : ''}`;
      return { method, path, body, pathOk: !isJunk(t) };
    },
  })),
];

// A generous bound: a route takes 5-90 s depending on the machine's load; nothing here is about time.
describe(`every admin route that changes something, ${RUNS} generated requests each`, () => {
  test.each(routes.map((r) => [r.label, r] as const))('%s', async (_label, route) => fuzz(route), 900_000);
});
