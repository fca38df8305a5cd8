import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { cleanup, eventually, REDIS_URL } from '../helpers';
import { adminApp, MOUNT, STAFF, staffSession, waitForState, type StaffSession } from './helpers';

let app: Celeriac;
let worker: Worker;
let s: StaffSession;
let server: http.Server;
let redis: Redis;
beforeAll(async () => {
  const made = await adminApp('admin_monitor', {
    app: { routes: { 'remote.*': { queue: 'remote' } } },
    admin: { sseHeartbeatMs: 100, maxSseClients: 3 },
  });
  app = made.app;
  s = await staffSession(made.web);
  server = made.web.listen(0);
  worker = app.worker({ name: 'mon-w@test', queues: ['celery'] });
  await worker.start();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  server.close();
  await redis.quit();
  await cleanup(app);
});

describe('workers and queues', () => {
  test('a running worker is online with its registry fields', async () => {
    const { body } = await s.get('/api/workers').expect(200);
    const w = body.workers.find((x: any) => x.name === 'mon-w@test');
    expect(w).toMatchObject({
      status: 'online',
      pid: process.pid,
      queues: ['celery'],
      concurrency: 10,
      pool: 'async',
      active: 0,
      heartbeatAt: expect.any(String),
      startedAt: expect.any(String),
    });
    expect(w.heartbeatAgeMs).toBeLessThan(6000);
  });

  test('a worker whose heartbeat is older than its lease is offline; an unreadable entry too', async () => {
    const broker = await app.broker();
    await broker.putWorkerInfo(
      'ghost@old',
      JSON.stringify({ name: 'ghost@old', heartbeatAt: Date.now() - 60_000, queues: ['celery'], processed: 9 }),
    );
    await broker.putWorkerInfo('broken@entry', 'not json');
    const { body } = await s.get('/api/workers').expect(200);
    expect(body.workers.find((x: any) => x.name === 'ghost@old')).toMatchObject({
      status: 'offline',
      processed: 9,
      heartbeatAgeMs: expect.any(Number),
    });
    expect(body.workers.find((x: any) => x.name === 'broken@entry')).toMatchObject({
      status: 'offline',
      heartbeatAt: null,
      queues: [],
    });
    // Online first.
    expect(body.workers[0].status).toBe('online');
    await broker.removeWorkerInfo('ghost@old');
    await broker.removeWorkerInfo('broken@entry');
  });

  test('queue lengths: default, routed and worker queues, plus the delayed set', async () => {
    await app.sendTask('remote.job', [1]);
    await app.sendTask('remote.job', [2]);
    await app.sendTask('remote.job', [3], {}, { countdown: 600 });
    const { body } = await s.get('/api/queues').expect(200);
    expect(body.queues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'remote', length: 2, ready: 2, delayed: 1, unacked: 0, deadLettered: 0 }),
        expect.objectContaining({ name: 'celery', length: expect.any(Number) }),
      ]),
    );
    expect(body.delayed).toBeGreaterThanOrEqual(1);
  });
});

describe('stats', () => {
  test('counts by state and a per-minute throughput series', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await s.post('/api/tasks', { task: 'math.add', args: [i, 1] }).expect(202)).body.id);
    ids.push((await s.post('/api/tasks', { task: 'math.boom' }).expect(202)).body.id);
    for (const id of ids) await waitForState(s, id, ['SUCCESS', 'FAILURE']);
    const { body } = await s.get('/api/stats?minutes=30').expect(200);
    expect(body.windowMinutes).toBe(30);
    expect(body.counts.SUCCESS).toBeGreaterThanOrEqual(3);
    expect(body.counts.FAILURE).toBeGreaterThanOrEqual(1);
    expect(body.throughput).toHaveLength(30);
    const last = body.throughput[body.throughput.length - 1];
    const prev = body.throughput[body.throughput.length - 2];
    expect(last.succeeded + prev.succeeded).toBeGreaterThanOrEqual(3);
    expect(last.failed + prev.failed).toBeGreaterThanOrEqual(1);
    expect(new Date(body.throughput[1].minute).getTime() - new Date(body.throughput[0].minute).getTime()).toBe(60_000);
    expect(body.workersOnline).toBeGreaterThanOrEqual(1);
    expect(body.queues.map((q: any) => q.name)).toContain('celery');
  });

  test('minutes out of range → 400', async () => {
    expect((await s.get('/api/stats?minutes=2').expect(400)).body.errors.minutes).toMatch(/5 to 1440/);
    expect((await s.get('/api/stats?minutes=abc').expect(400)).body.errors.minutes).toBeDefined();
  });
});

/** Opens the event stream and collects parsed messages. */
function openStream(headers: Record<string, string> = STAFF) {
  const { port } = server.address() as AddressInfo;
  const events: { event: string; data: any }[] = [];
  let raw = '';
  let req!: http.ClientRequest;
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path: `${MOUNT}/api/events`, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        let i: number;
        while ((i = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, i);
          raw = raw.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? (block.startsWith(':') ? 'comment' : 'message');
          const data = /^data: (.*)$/m.exec(block)?.[1];
          events.push({ event, data: data ? JSON.parse(data) : block });
        }
      });
      resolve(res);
    });
    req.on('error', reject);
  });
  return { events, response, close: () => req.destroy() };
}

async function subscribers(): Promise<number> {
  const channel = (await app.broker()).channels.events('task.multi');
  const [, n] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return Number(n);
}

describe('event stream (SSE)', () => {
  test('streams task events with their states and worker heartbeats; pings keep it open', async () => {
    const stream = openStream();
    const res = await stream.response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['cache-control']).toBe('no-store');
    await eventually(() => expect(stream.events.some((e) => e.event === 'ready')).toBe(true));
    const { body } = await s.post('/api/tasks', { task: 'math.add', args: [1, 1] }).expect(202);
    await eventually(() => {
      const states = stream.events.filter((e) => e.event === 'task' && e.data.id === body.id).map((e) => e.data.state);
      expect(states).toContain('SUCCESS');
    });
    // Each event of a task names it, the last one too.
    const done = stream.events.find((e) => e.event === 'task' && e.data.id === body.id && e.data.state === 'SUCCESS')!;
    expect(done.data).toMatchObject({
      kind: 'task',
      name: 'math.add',
      hostname: 'mon-w@test',
      timestamp: expect.any(String),
    });
    await eventually(
      () =>
        expect(
          stream.events.some(
            (e) => e.event === 'worker' && e.data.type === 'worker-heartbeat' && e.data.name === 'mon-w@test',
          ),
        ).toBe(true),
      5000,
    );
    expect(stream.events.some((e) => e.event === 'comment' && String(e.data).startsWith(': ping'))).toBe(true);
    stream.close();
  });

  test('one shared subscription for many clients, dropped when the last one leaves', async () => {
    const streams = [openStream(), openStream(), openStream()];
    for (const st of streams) {
      await st.response;
      await eventually(() => expect(st.events.some((e) => e.event === 'ready')).toBe(true));
    }
    expect(await subscribers()).toBe(1);
    // Over maxSseClients (3): refused with 503, not queued.
    const extra = openStream();
    expect((await extra.response).statusCode).toBe(503);
    extra.close();
    streams[0].close();
    streams[1].close();
    await new Promise((r) => setTimeout(r, 100));
    expect(await subscribers()).toBe(1);
    streams[2].close();
    await eventually(async () => expect(await subscribers()).toBe(0));
  });

  test('a malformed message on an event channel is skipped; the stream goes on', async () => {
    const stream = openStream();
    await stream.response;
    await eventually(() => expect(stream.events.some((e) => e.event === 'ready')).toBe(true));
    const broker = await app.broker();
    await broker.publish(broker.channels.events('task.multi'), 'not an envelope');
    await broker.publish(
      broker.channels.events('task.multi'),
      JSON.stringify({ body: Buffer.from('[{"type":"task-succeeded"}]').toString('base64') }),
    );
    const { body } = await s.post('/api/tasks', { task: 'math.add', args: [2, 2] }).expect(202);
    await eventually(() =>
      expect(stream.events.some((e) => e.event === 'task' && e.data.id === body.id && e.data.state === 'SUCCESS')).toBe(
        true,
      ),
    );
    // The event without a task id was dropped, not forwarded half-formed.
    expect(stream.events.every((e) => e.event !== 'task' || typeof e.data.id === 'string')).toBe(true);
    stream.close();
  });

  test('unauthorised → 401, no stream', async () => {
    const stream = openStream({});
    expect((await stream.response).statusCode).toBe(401);
    stream.close();
  });
});
