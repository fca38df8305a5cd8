import { randomUUID } from 'node:crypto';
import { encodeTask } from '../../src/broker/message';
import { outgoingTask } from '../outgoing';
import { fc } from '../property';

/**
 * Generated task messages as another producer could put them on a queue: a well-formed Celery
 * protocol v2 message with one header (or the body, or a property) replaced by a generated value,
 * either one a Celery worker would accept or anything at all.
 */

/** Text Postgres cannot hold, and text over the varchar(255) columns. */
const hostileText = fc.oneof(
  fc.constantFrom('a\u0000b', '\u0000', 'x\ud800', '\udc00y', 'é\ud83d', 'n'.repeat(256), 'é'.repeat(300), ''),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Any JSON value, biased to the shapes that fail loosely written readers. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 31), 1e300, -0, '0', 'x', '1e3', [], {}),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    '2026-01-01T00:00:00',
    '0000-01-01T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '+275760-09-13T00:00:00.000Z',
    '10000-01-01T00:00:00Z',
    '2020-13-45T99:99:99Z',
    'tomorrow',
    '2026-01-01',
    '1e10',
  ),
  fc.array(
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.string()),
    {
      maxLength: 4,
    },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

const isoPast = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true })
  .map((d) => d.toISOString());
const storableText = (max: number) => fc.string({ minLength: 1, maxLength: max }).filter((s) => !s.includes('\u0000'));

/** Values a Celery worker reads as intended, by header. */
const validValues: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.oneof(fc.uuid(), storableText(255)),
  task: fc.constant('values.size'),
  retries: fc.oneof(fc.constant(null), fc.nat({ max: 1000 })),
  eta: fc.oneof(
    fc.constant(null),
    isoPast,
    isoPast.map((s) => s.replace('Z', '')),
    isoPast.map((s) => s.replace('Z', '+00:00')),
  ),
  expires: fc.constant(null),
  timelimit: fc.oneof(
    fc.constant(null),
    fc.constant([null, null]),
    fc.tuple(fc.oneof(fc.constant(null), fc.integer({ min: 30, max: 3600 })), fc.constant(null)),
  ),
  root_id: fc.oneof(fc.constant(null), fc.uuid()),
  parent_id: fc.oneof(fc.constant(null), fc.uuid()),
  group: fc.oneof(fc.constant(null), fc.uuid()),
  group_index: fc.oneof(fc.constant(null), fc.nat({ max: 100 })),
  'properties.priority': fc.oneof(fc.constant(null), fc.nat({ max: 9 })),
};

export const HEADER_FIELDS = [...Object.keys(validValues), 'sent_at', 'periodic_task_name', 'content-type', 'body'];

export interface GeneratedMessage {
  raw: string;
  /** The header, property or part that was replaced. */
  field: string;
  value: unknown;
  /** True when the value is one a Celery worker reads as intended. */
  valid: boolean;
}

/** A well-formed message of `values.size([i])`, as a Python producer sends it (no sent_at). */
export function baseEnvelope(i = 0): Record<string, any> {
  return JSON.parse(encodeTask(outgoingTask({ id: randomUUID(), task: 'values.size', args: [i] })));
}

export function put(envelope: Record<string, any>, field: string, value: unknown): void {
  if (field === 'properties.priority') envelope.properties.priority = value;
  else if (field === 'content-type') envelope['content-type'] = value;
  else if (field === 'body') envelope.body = Buffer.from(JSON.stringify(value) ?? '', 'utf8').toString('base64');
  else envelope.headers[field] = value;
}

export const generatedMessage: fc.Arbitrary<GeneratedMessage> = fc
  .tuple(fc.constantFrom(...HEADER_FIELDS), fc.boolean(), fc.nat())
  .chain(([field, wantValid, i]) => {
    const valid = validValues[field];
    const pick = wantValid && valid ? valid.map((v) => [v, true] as const) : anyValue.map((v) => [v, false] as const);
    return pick.map(([value, isValid]) => {
      const envelope = baseEnvelope(i);
      put(envelope, field, value);
      return { raw: JSON.stringify(envelope), field, value, valid: isValid };
    });
  });
