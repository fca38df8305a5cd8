import { join } from 'node:path';
import { ConfigError, type Celeriac } from '../../src';
import { cleanup, makeApp } from '../helpers';

/**
 * Found from outside (session 7) by sending with option values of the wrong kind: a NaN
 * countdown or expires, or an invalid Date as eta, threw a bare RangeError ("Invalid time value");
 * an eta that is not a Date threw a TypeError; a priority of -1 or 1000 and a time limit of -1
 * were sent, in a message whose headers the worker refuses (dead-lettered, the row REJECTED),
 * far from the call that made it. Each must be a ConfigError naming options.<key>, at the send.
 */

let app: Celeriac;
beforeAll(async () => {
  app = await makeApp('probe_send_options', { apps: [join(__dirname, '../fixtures/apps/math')] });
});
afterAll(() => cleanup(app));

test.each([
  ['countdown', NaN],
  ['countdown', Infinity],
  ['countdown', '10'],
  ['eta', new Date('not a date')],
  ['eta', 1_700_000_000_000],
  ['eta', '2026-01-01T00:00:00Z'],
  ['eta', new Date(Date.UTC(10000, 0, 1))],
  ['expires', NaN],
  ['expires', new Date('not a date')],
  ['expires', '60'],
  ['priority', -1],
  ['priority', 256],
  ['priority', 1.5],
  ['timeLimit', -1],
  ['softTimeLimit', Infinity],
  ['timeLimit', NaN],
])('options.%s = %p: a ConfigError naming it, nothing sent', async (key, value) => {
  const sent = app.sendTask('math.add', [1, 2], {}, { [key]: value } as never);
  await expect(sent).rejects.toBeInstanceOf(ConfigError);
  await expect(sent).rejects.toThrow(`'options.${key}'`);
});

test('good values still send', async () => {
  for (const options of [
    { countdown: -5 },
    { countdown: 0.5 },
    { eta: new Date() },
    { expires: 60 },
    { expires: new Date(Date.now() + 60_000) },
    { priority: 0 },
    { priority: 255 },
    { timeLimit: 30, softTimeLimit: 20 },
    { timeLimit: 0 },
  ])
    await expect(app.sendTask('math.add', [1, 2], {}, options)).resolves.toBeDefined();
});
