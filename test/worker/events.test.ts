import { MemoryBroker } from '../../src/broker/memory-broker';
import { decodeEvents, EventDispatcher } from '../../src/worker/events';

test('a task finishing within one flush window is sent as one event carrying the earlier ones', async () => {
  const broker = new MemoryBroker('events-test:');
  const got: unknown[] = [];
  await broker.subscribe(broker.keys.events('task.multi'), (raw) => got.push(...decodeEvents(raw)));
  const events = new EventDispatcher(broker, 'w@test', true, 10_000);
  events.task('task-received', { uuid: 'a', name: 'math.add', args: '(1, 2)' });
  events.task('task-received', { uuid: 'b', name: 'math.mul', args: '(3, 4)' });
  events.task('task-started', { uuid: 'a' });
  events.task('task-succeeded', { uuid: 'a', result: '3', runtime: 0.001 });
  await events.flush();
  expect(got).toHaveLength(2);
  const [a, b] = got as Record<string, any>[];
  expect(a).toMatchObject({
    type: 'task-succeeded',
    uuid: 'a',
    name: 'math.add',
    args: '(1, 2)',
    result: '3',
    hostname: 'w@test',
  });
  expect(typeof a.received).toBe('number');
  expect(typeof a.started).toBe('number');
  expect(a.received).toBeLessThanOrEqual(a.started);
  expect(b).toMatchObject({ type: 'task-received', uuid: 'b', name: 'math.mul' });
  // After a flush, a task's next event stands alone again.
  events.task('task-succeeded', { uuid: 'b', result: '12' });
  await events.flush();
  expect(got[2]).toMatchObject({ type: 'task-succeeded', uuid: 'b', result: '12' });
});

test('task events are built only while someone listens: learnt from worker events, task batches and enable_events', async () => {
  const broker = new MemoryBroker('events-listen-test:');
  const events = new EventDispatcher(broker, 'w@test', true, 10_000);
  const got: Record<string, any>[] = [];
  const channel = broker.keys.events('task.multi');
  const listen = () => broker.subscribe(channel, (raw) => got.push(...decodeEvents(raw)));
  const sent = async (uuid: string) => {
    events.task('task-succeeded', { uuid });
    await events.flush();
    return got.some((e) => e.uuid === uuid);
  };

  await events.worker('worker-online', {}); // nobody subscribed: task events stop
  let stop = await listen();
  expect(await sent('a')).toBe(false); // a monitor that just subscribed is not known yet…
  await events.worker('worker-heartbeat', {}); // …until the next worker event finds it (NUMSUB)
  expect(await sent('b')).toBe(true);
  await stop();
  expect(await sent('c')).toBe(false); // this batch reached nobody…
  stop = await listen();
  expect(await sent('d')).toBe(false); // …so events stay off until told
  events.setTaskEvents(true); // control enable_events, as the admin and Flower send on subscribing
  expect(await sent('e')).toBe(true);
  events.setTaskEvents(false); // control disable_events
  await events.worker('worker-heartbeat', {});
  expect(await sent('f')).toBe(false);
  await stop();
});
