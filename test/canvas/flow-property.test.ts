import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp } from '../helpers';
import { fc, propertyOptions } from '../property';
import { runs } from '../fixtures/flow/tasks';
import { compare, describeFlow, expected, flowArbitrary, labelFlow, toCanvas } from './flow-model';
import { drained, finalRowsFor } from './flow-helpers';

/**
 * Generated work-flows of random shape and depth on a real worker (Redis, Postgres): each ends
 * with the oracle's result, every step runs once with the oracle's arguments, every step that
 * cannot run is recorded as FAILURE, and every callback and errback fires as often as the oracle
 * says, counted again once the worker has nothing left to do, so a late duplicate is caught too.
 */
let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('flowprop', { apps: [join(__dirname, '../fixtures/flow')] });
  await app.worker({ name: 'flowprop@test', concurrency: 8 }).start();
});
afterAll(() => cleanup(app));

test('generated work-flows run as the oracle says', async () => {
  let n = 0;
  const checked: { exp: ReturnType<typeof expected>; prefix: string; shape: string }[] = [];
  await fc.assert(
    fc.asyncProperty(flowArbitrary(), async (raw) => {
      const flow = labelFlow(structuredClone(raw), n);
      const prefix = `${n++}.`;
      const exp = expected(flow);
      const shape = describeFlow(flow);
      if (process.env.FLOW_DEBUG) process.stderr.write(shape + '\n');
      const handle = await toCanvas(flow).applyAsync();
      const got = await handle.get({ timeout: 60 }).then(
        (value: unknown) => ({ ok: true, value }),
        (err: Error) => ({ ok: false, value: err.message }),
      );
      expect({ shape, ...got }).toEqual({ shape, ok: exp.ok, value: exp.ok ? exp.value : expect.any(String) });
      await eventually(
        () => expect({ shape, problems: compare(exp, runs, prefix) }).toEqual({ shape, problems: [] }),
        30_000,
      );
      // A handle can settle before other branches finish (an empty group body): wait for every row.
      await eventually(async () => {
        const rows = await finalRowsFor(app, exp.allSteps);
        expect({ shape, unfinished: rows.filter((r) => !r.final).map((r) => r.label) }).toEqual({
          shape,
          unfinished: [],
        });
      }, 30_000);
      checked.push({ exp, prefix, shape });
    }),
    propertyOptions(Number(process.env.FLOW_RUNS ?? 25), process.env.FLOW_DEBUG ? { endOnFailure: true } : {}),
  );
  // Nothing left to run anywhere: a callback sent twice would have run by now.
  await drained(app);
  for (const { exp, prefix, shape } of checked)
    expect({ shape, problems: compare(exp, runs, prefix) }).toEqual({ shape, problems: [] });
}, 300_000);
