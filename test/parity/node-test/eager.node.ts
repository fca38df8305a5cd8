// The docs/testing.md example for node:test, run by test/parity/node-test.test.ts:
//   node -r celeriac/register --test test/parity/node-test/eager.node.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eagerApp } from '../../../src/testing';
import type { Celeriac } from '../../../src';
import { add, boom, BoomError } from '../../fixtures/parity/tasks';

let app: Celeriac;
before(() => {
  app = eagerApp({ apps: [join(__dirname, '../../fixtures/parity')] });
});
after(() => app.close());

test('a task sent with delay() has run when the call resolves', async () => {
  const r = await add.delay(2, 3);
  assert.equal(await r.get(), 5);
  assert.equal(await r.status(), 'SUCCESS');
});

test("eagerPropagates: the task's own error reaches the test", async () => {
  await assert.rejects(boom.delay('no'), BoomError);
});
