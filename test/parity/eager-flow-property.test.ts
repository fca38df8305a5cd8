import { join } from 'node:path';
import type { Celeriac } from '../../src';
import { eagerApp } from '../../src/testing';
import { silentLogger } from '../../src/log';
import { fc, propertyOptions } from '../property';
import { runs } from '../fixtures/flow/tasks';
import { compare, describeFlow, expected, flowArbitrary, labelFlow, toCanvas } from '../canvas/flow-model';

/**
 * The generated work-flows of test/canvas/flow-property.test.ts, run eagerly (alwaysEager): the
 * same oracle holds in this process as on a worker: each flow's result, every step run once with
 * its arguments, every callback and errback fired as often as the oracle says, nested to any depth.
 */
let app: Celeriac;
beforeAll(() => {
  app = eagerApp({ apps: [join(__dirname, '../fixtures/flow')], logger: silentLogger, eagerPropagates: false });
});
afterAll(() => app.close());

test('generated work-flows run eagerly as the oracle says', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(flowArbitrary(), async (raw) => {
      const flow = labelFlow(structuredClone(raw), n);
      const prefix = `${n++}.`;
      const exp = expected(flow);
      const shape = describeFlow(flow);
      const handle = await toCanvas(flow).applyAsync();
      // Everything has run when the send resolves: nothing to wait for.
      const got = await handle.get().then(
        (value: unknown) => ({ ok: true, value }),
        (err: Error) => ({ ok: false, value: err.message }),
      );
      expect({ shape, ...got }).toEqual({ shape, ok: exp.ok, value: exp.ok ? exp.value : expect.any(String) });
      expect({ shape, problems: compare(exp, runs, prefix) }).toEqual({ shape, problems: [] });
    }),
    propertyOptions(Number(process.env.FLOW_RUNS ?? 100)),
  );
});
