import { decodeTask } from '../../src/broker/message';
import { MemoryBroker } from '../../src/broker/memory-broker';
import { silentLogger } from '../../src/log';
import { Signals } from '../../src/plugin/signals';
import { EventDispatcher } from '../../src/worker/events';
import { Finisher } from '../../src/worker/finisher';
import type { WorkerParts } from '../../src/worker/parts';
import type { Job } from '../../src/worker/pool';
import { testMessage } from '../broker/task-message';

/**
 * A task's events cost nothing while nobody listens: not even their fields are built. The
 * task-succeeded event's fields hold the result's JSON (cut to 256 characters), which for a large
 * result was most of a finished task's cost, paid for every task with no monitor there.
 */
test("while nobody listens, a finished task's result is not turned into JSON for its event", async () => {
  const broker = new MemoryBroker('events-unwanted-test:');
  const events = new EventDispatcher(broker, 'w@test', true, 10_000);
  await events.worker('worker-online', {}); // nobody subscribed: task events stop
  expect(events.wanted).toBe(false);

  let serialized = 0;
  const result = { toJSON: () => (serialized++, { big: 'x'.repeat(1000) }) };
  const acked: string[] = [];
  const committed: unknown[] = [];
  const parts = {
    // The finisher asks the app's logger whether it writes a level before building a per-task line.
    app: { signals: new Signals(() => silentLogger), logger: silentLogger },
    workerName: 'w@test',
    events,
    // The finisher's callback path (writeThen/ackThen) for a task with nothing to follow.
    states: {
      writeThen: (_job: Job, _state: string, update: { result?: unknown }, done: (r: unknown) => void) => {
        committed.push(update.result);
        done({ stored: 'as-is' });
      },
    },
    acker: { ackThen: (job: Job, done: () => void) => (acked.push(job.msg.id), done()) },
    log: () => {},
    fail: (message: string, err: unknown) => {
      throw new Error(`${message}: ${String(err)}`);
    },
    stopping: () => false,
  } as unknown as WorkerParts;
  const done = new Promise<string>((resolve) => {
    const finisher = new Finisher(parts, { processed: 0, succeeded: 0, failed: 0, retried: 0 }, () => {}, resolve);
    const { raw, id } = testMessage('t.big', 'celery');
    const job = {
      msg: decodeTask(raw),
      task: { options: {} },
      redeliveries: 0,
      acked: false,
      started: true,
      finished: true,
    };
    finisher.finish(job as unknown as Job, { kind: 'success', result, runtimeMs: 1 });
    expect(job.msg.id).toBe(id);
  });
  const id = await done;
  expect(acked).toEqual([id]);
  expect(committed).toEqual([result]); // the state writer gets the value itself, to serialize once
  expect(serialized).toBe(0);

  // With a listener the event carries the result, as before.
  events.setTaskEvents(true);
  expect(events.wanted).toBe(true);
  const got: string[] = [];
  await broker.subscribe(broker.keys.events('task.multi'), (raw) => got.push(raw));
  events.task('task-succeeded', { uuid: 'a', result: '{}' });
  await events.flush();
  expect(got).toHaveLength(1);
  await broker.close();
});
