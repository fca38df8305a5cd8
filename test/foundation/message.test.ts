import { decodeTask, encodeTask, type OutgoingTask } from '../../src/broker/message';
import { EncodeError, MessageDecodeError } from '../../src';
import { priorityBucket } from '../../src/broker/keys';

const base: OutgoingTask = {
  id: 'fa8606e9-62cd-41b4-9866-e3bda77653dd',
  task: 'proj.add',
  args: [2, 3],
  kwargs: {},
  queue: 'celery',
  priority: 5,
  eta: null,
  expires: new Date('2026-11-22T01:45:18.411Z'),
  retries: 0,
  timeLimit: null,
  softTimeLimit: null,
  rootId: null,
  parentId: null,
  groupId: null,
  groupIndex: null,
  ignoreResult: false,
  headers: {},
};

test('encodes exactly the envelope Celery 5.2 writes (celery.md §5.2)', () => {
  const env = JSON.parse(encodeTask(base));
  expect(Object.keys(env).sort()).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
  expect(env['content-type']).toBe('application/json');
  expect(env['content-encoding']).toBe('utf-8');
  expect(JSON.parse(Buffer.from(env.body, 'base64').toString())).toEqual([
    [2, 3],
    {},
    { callbacks: null, errbacks: null, chain: null, chord: null },
  ]);
  expect(env.headers).toMatchObject({
    task: 'proj.add',
    id: base.id,
    shadow: null,
    eta: null,
    expires: '2026-11-22T01:45:18.411Z',
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: base.id,
    parent_id: null,
    argsrepr: '(2, 3)',
    kwargsrepr: '{}',
    ignore_result: false,
  });
  expect(env.headers.origin).toMatch(/^\d+@/);
  expect(env.properties).toMatchObject({
    correlation_id: base.id,
    delivery_mode: 2,
    delivery_info: { exchange: '', routing_key: 'celery' },
    priority: 5,
    body_encoding: 'base64',
  });
  expect(env.properties.delivery_tag).toMatch(/^[0-9a-f-]{36}$/);
  expect(env.properties.reply_to).toMatch(/^[0-9a-f-]{36}$/);
});

test('decodes the message captured from a real Celery 5.2', () => {
  const captured = JSON.stringify({
    body: 'W1syLCAzXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d',
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task: 'proj.add',
      id: 'fa8606e9-62cd-41b4-9866-e3bda77653dd',
      shadow: null,
      eta: null,
      expires: '2026-11-22T01:45:18.411301+00:00',
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: 'fa8606e9-62cd-41b4-9866-e3bda77653dd',
      parent_id: null,
      argsrepr: '(2, 3)',
      kwargsrepr: '{}',
      origin: 'gen11000@vm',
      ignore_result: false,
    },
    properties: {
      correlation_id: 'fa8606e9-62cd-41b4-9866-e3bda77653dd',
      reply_to: 'efe0fcfc-7d30-3777-a1bf-3a116495f198',
      delivery_mode: 2,
      expiration: '600000',
      delivery_info: { exchange: '', routing_key: 'celery' },
      priority: 5,
      body_encoding: 'base64',
      delivery_tag: '9a3abfac-30b1-4f27-a996-d92a8c3a09e6',
    },
  });
  const msg = decodeTask(captured);
  expect(msg).toMatchObject({
    id: 'fa8606e9-62cd-41b4-9866-e3bda77653dd',
    task: 'proj.add',
    args: [2, 3],
    kwargs: {},
    queue: 'celery',
    priority: 5,
    retries: 0,
  });
  expect(msg.expires?.toISOString()).toBe('2026-11-22T01:45:18.411Z');
  expect(msg.deliveryTag).toBe('9a3abfac-30b1-4f27-a996-d92a8c3a09e6');
});

test('round-trips dates, nesting and user headers', () => {
  const when = new Date('2026-03-29T01:30:00Z');
  const msg = decodeTask(
    encodeTask({
      ...base,
      args: [{ when, list: [1, 'a', null] }],
      kwargs: { k: 'v' },
      eta: when,
      headers: { tenant: 'acme' },
    }),
  );
  expect(msg.args).toEqual([{ when: '2026-03-29T01:30:00.000Z', list: [1, 'a', null] }]);
  expect(msg.kwargs).toEqual({ k: 'v' });
  expect(msg.eta?.getTime()).toBe(when.getTime());
  expect(msg.headers.tenant).toBe('acme');
});

test.each([
  [[undefined], /args\[0\] is undefined/],
  [[() => 1], /args\[0\] is a function/],
  [[10n], /args\[0\] is a BigInt.*as a string/],
  [[NaN], /args\[0\] is NaN/],
  [[{ m: new Map() }], /args\[0\]\.m is a Map/],
  [[new Date('nope')], /invalid Date/],
])('refuses args JSON cannot carry: %p', (args, message) => {
  expect(() => encodeTask({ ...base, args: args as unknown[] })).toThrow(EncodeError);
  expect(() => encodeTask({ ...base, args: args as unknown[] })).toThrow(message);
});

test('refuses cycles', () => {
  const a: any = { name: 'a' };
  a.self = a;
  expect(() => encodeTask({ ...base, args: [a] })).toThrow(/args\[0\]\.self refers back to itself/);
});

test.each([
  ['not json', /not JSON/],
  ['{"body":"e30="}', /no headers.*protocol v2/],
  [
    JSON.stringify({
      headers: { task: 'x', id: '1' },
      'content-type': 'application/x-python-serialize',
      properties: {},
    }),
    /Celeriac reads application\/json and application\/x-msgpack/,
  ],
  [
    JSON.stringify({
      headers: { task: 'x', id: '1' },
      'content-type': 'application/json',
      body: 'bm9wZQ==',
      properties: { body_encoding: 'base64' },
    }),
    /not valid JSON/,
  ],
])('explains a message it cannot decode: %s', (raw, message) => {
  expect(() => decodeTask(raw)).toThrow(MessageDecodeError);
  expect(() => decodeTask(raw)).toThrow(message);
});

test("kombu's priority buckets", () => {
  expect([0, 1, 2, 3, 4, 5, 6, 8, 9, 12, -1].map(priorityBucket)).toEqual([0, 0, 0, 3, 3, 3, 6, 6, 9, 9, 0]);
});
