import { deflateSync, gzipSync } from 'node:zlib';
import { Celeriac, ConfigError, MessageDecodeError } from '../../src';
import { decodeTask, encodeTask, type OutgoingTask } from '../../src/broker/message';
import { decodeBody, MAX_INFLATED_BYTES } from '../../src/broker/serializers/codec';
import { fc, propertyOptions } from '../property';
import { outgoingTask } from '../outgoing';

/**
 * Serializers and compressions in one process (Python interop is in celery-serial.test.ts): every
 * JSON-safe value arrives as sent under every serializer and compression; what cannot be read is
 * refused with a reason, and what the worker does not accept is refused before its body is read.
 */

const outgoing = (over: Partial<OutgoingTask>) =>
  outgoingTask({ id: 'id-1', task: 't.echo', args: [1, 'two'], kwargs: { three: 3 }, ...over });

const jsonValue = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

test.each([
  ['json', null],
  ['json', 'zlib'],
  ['msgpack', null],
  ['msgpack', 'gzip'],
  ['msgpack', 'brotli'],
] as const)('%s with compression %s carries every JSON value as sent', (serializer, compression) => {
  fc.assert(
    fc.property(fc.array(jsonValue, { maxLength: 4 }), fc.dictionary(fc.string(), jsonValue), (args, kwargs) => {
      const raw = encodeTask(outgoing({ args, kwargs, serializer, compression }));
      const msg = decodeTask(raw);
      expect(msg.args).toEqual(args);
      expect(msg.kwargs).toEqual(kwargs);
    }),
    propertyOptions(100),
  );
});

test('the envelope is what kombu writes: content type and encoding, the compression header', () => {
  const env = JSON.parse(encodeTask(outgoing({ serializer: 'msgpack', compression: 'zlib' })));
  expect(env['content-type']).toBe('application/x-msgpack');
  expect(env['content-encoding']).toBe('binary');
  expect(env.headers.compression).toBe('application/x-gzip');
  const plain = JSON.parse(encodeTask(outgoing({})));
  expect(plain['content-type']).toBe('application/json');
  expect(plain['content-encoding']).toBe('utf-8');
  expect(plain.headers.compression).toBeUndefined();
});

test('Dates travel as ISO text under msgpack too, as under JSON', () => {
  const at = new Date('2026-12-07T06:00:00.000Z');
  const msg = decodeTask(encodeTask(outgoing({ args: [at], kwargs: { at }, serializer: 'msgpack' })));
  expect(msg.args).toEqual([at.toISOString()]);
  expect(msg.kwargs).toEqual({ at: at.toISOString() });
});

test('the gzip file format is read as well as the zlib stream kombu calls gzip', () => {
  const body = Buffer.from(JSON.stringify([[1], {}, {}]));
  expect(decodeBody(gzipSync(body), 'application/json', 'application/x-gzip', 'x')).toEqual([[1], {}, {}]);
  expect(decodeBody(deflateSync(body), 'application/json', 'application/x-gzip', 'x')).toEqual([[1], {}, {}]);
});

test('unreadable bodies are refused with what was wrong', () => {
  const junk = Buffer.from('not compressed');
  expect(() => decodeBody(junk, 'application/json', 'application/x-gzip', 'x')).toThrow(
    /does not decompress as "application\/x-gzip"/,
  );
  expect(() => decodeBody(junk, 'application/json', 'application/x-bz2', 'x')).toThrow(
    /compressed with "application\/x-bz2"/,
  );
  expect(() => decodeBody(Buffer.from([0xc1]), 'application/x-msgpack', undefined, 'x')).toThrow(/not valid msgpack/);
  expect(() => decodeBody(junk, 'application/x-python-serialize', undefined, 'x')).toThrow(MessageDecodeError);
});

test('a body that inflates past the limit is refused, not inflated', () => {
  const bomb = deflateSync(Buffer.alloc(MAX_INFLATED_BYTES + 1));
  expect(bomb.length).toBeLessThan(200_000);
  expect(() => decodeBody(bomb, 'application/json', 'application/x-gzip', 'x')).toThrow(/inflates past/);
});

test('content the worker does not accept is refused before its body is read', () => {
  const raw = encodeTask(outgoing({ serializer: 'msgpack' }));
  expect(() => decodeTask(raw, new Set(['application/json']))).toThrow(/does not accept.*acceptContent/);
  expect(decodeTask(raw, new Set(['application/x-msgpack'])).args).toEqual([1, 'two']);
});

test('config: names are checked once, with what would be right', () => {
  const make = (o: object) => new Celeriac({ brokerUrl: 'memory://', ...o });
  expect(() => make({ taskSerializer: 'pickle' })).toThrow(ConfigError);
  expect(() => make({ taskSerializer: 'pickle' })).toThrow(/use 'json', 'msgpack'/);
  expect(() => make({ acceptContent: ['json', 'yaml'] })).toThrow(/acceptContent\[1\]/);
  expect(() => make({ taskCompression: 'bz2' })).toThrow(/'zlib'/);
  expect(make({ acceptContent: ['msgpack', 'application/json'] }).config.acceptContent).toEqual(
    new Set(['application/x-msgpack', 'application/json']),
  );
});
