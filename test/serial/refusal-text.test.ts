import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageDecodeError } from '../../src';
import { decodeTask } from '../../src/broker/message';
import { AuthSerializer } from '../../src/broker/serializers/auth';
import { textProblem } from '../../src/storable';
import { baseEnvelope } from '../hardening/message-gen';
import { fc, propertyOptions } from '../property';
import { makeCertificate } from './certificates';

/**
 * A refusal's reason goes to the log, the task's row (exc_message and meta), the dead letter, the
 * 'task-rejected' event and the taskRejected signal. What the sender put in the refused field is
 * quoted there short and as text Postgres can hold, as every checked header already is
 * (headers.ts): a megabyte of content type was copied whole into each of them.
 */

/** Longest reason allowed here: the fixed text plus a short quote, far below any sender's value. */
const MAX_REASON = 600;

/** What another producer can put in a field: huge, NUL, lone surrogates, or not a string at all. */
const hostile = fc.oneof(
  fc.constantFrom('x'.repeat(1_000_000), 'a\u0000b', '\ud800', `${'é'.repeat(40)}\ud83d\ude00`, ''),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ minLength: 1, maxLength: 3 }).map((s) => ({ [s]: 'y'.repeat(100_000) })),
);

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MessageDecodeError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

function expectShortStorable(reason: string, names: RegExp): void {
  expect(reason.length).toBeLessThanOrEqual(MAX_REASON);
  expect(textProblem(reason)).toBeNull();
  expect(reason).toMatch(names);
}

test('a content-type no worker reads is quoted short and storable', () => {
  fc.assert(
    fc.property(hostile, (value) => {
      fc.pre(value !== 'application/json' && value !== 'application/x-msgpack');
      const e = baseEnvelope();
      e['content-type'] = value;
      expectShortStorable(
        reasonOf(() => decodeTask(JSON.stringify(e))),
        /content-type/,
      );
    }),
    propertyOptions(200),
  );
});

test('a content-type the worker does not accept is quoted short and storable', () => {
  fc.assert(
    fc.property(hostile, (value) => {
      const e = baseEnvelope();
      e['content-type'] = value;
      // Only msgpack accepted: json (the envelope's own) and everything else is refused.
      const accept = new Set(['application/x-msgpack']);
      fc.pre(value !== 'application/x-msgpack');
      expectShortStorable(
        reasonOf(() => decodeTask(JSON.stringify(e), accept)),
        /content-type/,
      );
    }),
    propertyOptions(200),
  );
});

test('a compression header no worker reads is quoted short and storable', () => {
  fc.assert(
    fc.property(hostile, (value) => {
      fc.pre(value !== null);
      const e = baseEnvelope();
      e.headers.compression = value;
      expectShortStorable(
        reasonOf(() => decodeTask(JSON.stringify(e))),
        /compress/,
      );
    }),
    propertyOptions(200),
  );
});

describe("Celery's auth serializer", () => {
  let dir: string;
  let auth: AuthSerializer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'celeriac-refusal-'));
    const pem = makeCertificate(dir, 'known');
    auth = new AuthSerializer({ certStore: [pem.cert] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a signer not in the store is quoted short and storable (it is read before any signature check)', () => {
    const SEP = Buffer.from([0x00, 0x01]);
    const signers = fc.oneof(
      fc.constantFrom('s'.repeat(1_000_000), 'a\u0000b', 'lone \ud800', "it's"),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((s) => !s.includes('\u0000\u0001')),
    );
    fc.assert(
      fc.property(signers, (signer) => {
        const payload = Buffer.concat([Buffer.from(signer), SEP, Buffer.from('sig'), SEP, Buffer.from('rest')]);
        const out = auth.unwrap(Buffer.from(payload.toString('base64')));
        expect('refused' in out).toBe(true);
        expectShortStorable((out as { refused: string }).refused, /security\.certStore/);
      }),
      propertyOptions(100),
    );
  });
});
