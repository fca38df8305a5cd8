import { toRecord } from '../../src/results/batch-write';
import type { StateUpdate } from '../../src/results/rows';
import { RECORD_KEY } from '../../src/results/sql';
import { fc, propertyOptions } from '../property';

/**
 * The rows' dates go in as epoch milliseconds under sql.ts's short keys (batch-write.ts): any
 * sequence of dates, repeated instants and a Date changed in place included, must give exactly
 * each date's own instant, and an invalid date must still be refused (JSON would make it NULL).
 */
const update = (dateCreated: Date, dateStarted: Date | null, dateDone: Date | undefined): StateUpdate => ({
  taskId: 't',
  status: 'SUCCESS',
  retries: 0,
  dateCreated,
  dateStarted,
  dateDone,
});

// Mostly a few instants, so consecutive rows often share one (the cache's hit), and any other.
const instant = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4_102_444_800_000 }));

test("a row's dates are each date's own instant, whatever came before", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(instant, fc.option(instant), fc.option(instant, { nil: undefined })), { maxLength: 40 }),
      fc.boolean(),
      (rows, reuse) => {
        // One Date object moved in place from row to row (reuse) or a fresh one each time.
        const shared = new Date(0);
        for (const [created, started, done] of rows) {
          const at = (ms: number) => (reuse ? (shared.setTime(ms), shared) : new Date(ms));
          const record = toRecord({
            update: update(
              new Date(created),
              started === null ? null : new Date(started),
              done === undefined ? undefined : at(done),
            ),
            seq: 1,
          });
          expect(record[RECORD_KEY.date_created]).toBe(created);
          expect(record[RECORD_KEY.date_started]).toBe(started === null ? undefined : started);
          expect(record[RECORD_KEY.date_done]).toBe(done === undefined ? undefined : done);
        }
      },
    ),
    propertyOptions(300),
  );
});

test('an invalid date is refused, also right after a valid one', () => {
  toRecord({ update: update(new Date(1), new Date(1), new Date(1)), seq: 1 });
  expect(() => toRecord({ update: update(new Date(1), new Date(NaN), new Date(1)), seq: 1 })).toThrow(RangeError);
  expect(() => toRecord({ update: update(new Date(NaN), null, undefined), seq: 1 })).toThrow(RangeError);
});

test('every key of a row is one the statements unpack (sql.ts RECORD_KEY)', () => {
  const record = toRecord({
    update: { ...update(new Date(1), new Date(2), new Date(3)), args: [], kwargs: {}, meta: {}, result: 1 },
    seq: 1,
  });
  expect(Object.keys(record).sort()).toEqual(Object.values(RECORD_KEY).sort());
});
