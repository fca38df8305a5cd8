import { base64Text, decodeTask } from '../../src/broker/message';
import { decodeTaskBefore } from '../fixtures/decode-task-before';
import { fc, propertyOptions } from '../property';
import { anyValue, baseEnvelope, generatedMessage, HEADER_FIELDS, put } from './message-gen';

/**
 * Issue 21 (seventh round) rebuilt decodeTask to allocate less: the checked headers written into
 * the message it returns, sent_at checked as a time value, a base64 JSON body decoded without a
 * Buffer. The guarantee is that nothing else changed: every message, hostile ones included, gives
 * the same task or the same error (class, text, task id and name) as the decoder before it
 * (test/fixtures/decode-task-before.ts, frozen).
 */

type Outcome = { ok: unknown } | { error: string; message: string; taskId?: string; taskName?: string };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: decode() };
  } catch (err) {
    const e = err as Error & { taskId?: string; taskName?: string };
    return { error: e.constructor.name, message: e.message, taskId: e.taskId, taskName: e.taskName };
  }
}

function sameAsBefore(raw: string, accept?: ReadonlySet<string>): void {
  expect(outcome(() => decodeTask(raw, accept))).toEqual(outcome(() => decodeTaskBefore(raw, accept)));
}

/** Text as base64 might carry it: the alphabet, padding, whitespace, base64url, and what neither reads. */
const base64ish = fc.string({
  unit: fc.constantFrom(...'ABCQRSYZabcdwxyz0189+/=-_ \n\t\r.!é'.split('')),
  maxLength: 40,
});

/** Bytes a body might hold: JSON of any text (beyond ASCII, lone surrogates), or arbitrary bytes (bad UTF-8). */
const bodyBytes = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify([[v], {}, null]), 'utf8')),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Buffer.from(JSON.stringify([[s], { k: s }, null]), 'utf8')),
  fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
);

const envelopeWithBody = fc
  .record({
    body: fc.oneof(
      bodyBytes.map((b) => b.toString('base64')),
      bodyBytes.map((b) => b.toString('base64').replace(/=+$/, '')),
      bodyBytes.map((b) => b.toString('base64url')),
      base64ish,
      fc.constantFrom(null, 12, [], {}),
    ),
    encoding: fc.constantFrom('base64', 'base64', 'utf-8', undefined, 'BASE64'),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'application/x-msgpack',
      'text/plain',
      undefined,
    ),
    compression: fc.constantFrom(undefined, undefined, null, 'application/x-gzip', 'zlib', ''),
  })
  .map(({ body, encoding, contentType, compression }) => {
    const envelope = baseEnvelope(1);
    envelope.body = body;
    envelope.properties.body_encoding = encoding;
    envelope['content-type'] = contentType;
    if (compression !== undefined) envelope.headers.compression = compression;
    return JSON.stringify(envelope);
  });

const accepts = fc.constantFrom<ReadonlySet<string> | undefined>(
  undefined,
  new Set(['application/json']),
  new Set(['application/x-msgpack']),
);

test('hostile headers: the same task or the same error as the decoder before', () => {
  fc.assert(
    fc.property(generatedMessage, accepts, ({ raw }, accept) => sameAsBefore(raw, accept)),
    propertyOptions(600),
  );
});

/** Several headers replaced at once: the first bad one in the decoder's order is the one named. */
const severalHostile = fc
  .array(fc.tuple(fc.constantFrom(...HEADER_FIELDS), anyValue), { minLength: 2, maxLength: 5 })
  .map((fields) => {
    const envelope = baseEnvelope(2);
    for (const [field, value] of fields) put(envelope, field, value);
    return JSON.stringify(envelope);
  });

test('several hostile headers: the same one named as before', () => {
  fc.assert(
    fc.property(severalHostile, accepts, (raw, accept) => sameAsBefore(raw, accept)),
    propertyOptions(1000),
  );
});

test('bodies in any encoding, content type and compression: the same task or the same error as before', () => {
  fc.assert(
    fc.property(envelopeWithBody, accepts, (raw, accept) => sameAsBefore(raw, accept)),
    propertyOptions(1500),
  );
});

test('base64Text is the text of the bytes Buffer reads from any base64-ish string', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        base64ish,
        bodyBytes.map((b) => b.toString('base64')),
      ),
      (s) => {
        expect(base64Text(s)).toBe(Buffer.from(s, 'base64').toString('utf8'));
      },
    ),
    propertyOptions(3000),
  );
});

test('envelopes that are not task messages: the same error as before', () => {
  for (const raw of ['', 'nope', '[]', 'null', '1', '{}', '{"headers":null}', '{"headers":{"id":"x"}}'])
    sameAsBefore(raw);
});
