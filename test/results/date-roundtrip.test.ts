import { Client } from 'pg';
import type { Celeriac } from '../../src';
import { ResultStore } from '../../src/results/store';
import { cleanup, DATABASE_URL, makeApp } from '../helpers';
import { fc, propertyOptions } from '../property';

/**
 * A row's dates, written through the result store and read back, are the instants written, to
 * the millisecond, and Postgres holds no digits past the millisecond (what Python/Django or psql
 * reads of the row). Any instant a row may carry (a sent_at header is accepted from year 0001 to
 * 9999), not only today's.
 */
const MIN_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
const MAX_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

let app: Celeriac;
let pg: Client;
beforeAll(async () => {
  app = await makeApp('date_roundtrip');
  pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
});
afterAll(async () => {
  await pg.end();
  await cleanup(app);
});

// Edges, then anywhere in the range, then near today.
const instant = fc.oneof(
  fc.constantFrom(MIN_MS, MIN_MS + 1, MAX_MS, MAX_MS - 998, Date.UTC(9999, 11, 31, 23, 59, 59, 1), -1, 0, 1),
  fc.integer({ min: MIN_MS, max: MAX_MS }),
  fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
);

test("a row's dates come back as written, to the millisecond, anywhere from year 0001 to 9999", async () => {
  const store = new ResultStore(await app.dataSource(), app.config.schema);
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(instant, instant, instant), { minLength: 1, maxLength: 20 }), async (rows) => {
        const ids = rows.map(() => `dates-${n++}`);
        await Promise.all(
          rows.map(([created, started, done], i) =>
            store.write({
              taskId: ids[i],
              status: 'SUCCESS',
              retries: 0,
              result: 1,
              dateCreated: new Date(created),
              dateStarted: new Date(started),
              dateDone: new Date(done),
            }),
          ),
        );
        const got = await pg.query(
          `SELECT task_id, date_created, date_started, date_done,
                  to_char(date_created AT TIME ZONE 'UTC', 'US') AS created_us,
                  to_char(date_started AT TIME ZONE 'UTC', 'US') AS started_us,
                  to_char(date_done AT TIME ZONE 'UTC', 'US') AS done_us
             FROM "${app.config.schema}".celeriac_task_result WHERE task_id = ANY($1)`,
          [ids],
        );
        const byId = new Map(got.rows.map((r) => [r.task_id as string, r]));
        rows.forEach(([created, started, done], i) => {
          const row = byId.get(ids[i]);
          const us = (ms: number) => String(((ms % 1000) + 1000) % 1000).padStart(3, '0') + '000';
          expect({
            created: row.date_created.getTime(),
            started: row.date_started.getTime(),
            done: row.date_done.getTime(),
            createdUs: row.created_us,
            startedUs: row.started_us,
            doneUs: row.done_us,
          }).toEqual({
            created,
            started,
            done,
            createdUs: us(created),
            startedUs: us(started),
            doneUs: us(done),
          });
        });
      }),
      propertyOptions(40),
    );
  } finally {
    await store.close(5_000);
  }
});
