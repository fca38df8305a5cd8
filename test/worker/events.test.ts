import { MemoryBroker } from '../../src/broker/memory-broker';
import { decodeEvents, EventDispatcher } from '../../src/worker/events';

test('every state of every task is its own event, in order, sent in one task.multi message per flush', async () => {
  const broker = new MemoryBroker('events-test:');
  const got: unknown[] = [];
  let messages = 0;
  await broker.subscribe(broker.keys.events('task.multi'), (raw) => {
    messages++;
    got.push(...decodeEvents(raw));
  });
  const events = new EventDispatcher(broker, 'w@test', true, 10_000);
  events.task('task-received', { uuid: 'a', name: 'math.add', args: '(1, 2)' });
  events.task('task-received', { uuid: 'b', name: 'math.mul', args: '(3, 4)' });
  events.task('task-started', { uuid: 'a' });
  events.task('task-succeeded', { uuid: 'a', result: '3', runtime: 0.001 });
  await events.flush();
  expect(messages).toBe(1);
  expect((got as Record<string, any>[]).map((e) => [e.type, e.uuid])).toEqual([
    ['task-received', 'a'],
    ['task-received', 'b'],
    ['task-started', 'a'],
    ['task-succeeded', 'a'],
  ]);
  expect(got[0]).toMatchObject({ name: 'math.add', args: '(1, 2)', hostname: 'w@test' });
  expect(got[3]).toMatchObject({ result: '3', hostname: 'w@test' });
  const clocks = (got as Record<string, any>[]).map((e) => e.clock);
  expect(clocks).toEqual([...clocks].sort((x, y) => x - y));
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
