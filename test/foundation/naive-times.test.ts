import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A date-time without an offset ('2030-01-01T10:00:00', Python's isoformat() of a naive datetime)
 * is UTC wherever Celeriac reads one from a message, as the header checks read eta and expires
 * (headers.ts) and as Celery reads them with its default enable_utc. A work-flow step's eta and
 * expires (a Python signature's options) and a message's sent_at were read with `new Date()`,
 * which takes such a string as the process's local time: on a worker whose TZ is not UTC the
 * next step of a chain ran an hour early or late, and date_created moved. Run in a child process:
 * jest's process.env is not the one V8 reads TZ from.
 */
const ROOT = join(__dirname, '../..');

const script = `
const { Signature } = require('./src/canvas/signature.ts');
const { applyNode, emptyPlan } = require('./src/canvas/apply.ts');
const { StateWriter } = require('./src/worker/state-writer.ts');
const naive = { eta: '2030-01-01T10:00:00', expires: '2030-01-01T11:00:00.250' };
const sig = Signature.fromJSON({ task: 't', args: [], kwargs: {}, options: naive });
const sent = [];
applyNode((name, args, kwargs, options) => (sent.push(options), {}), { task: 't', args: [], kwargs: {}, options: { ...naive } }, [], {}, emptyPlan());
const writer = new StateWriter({}, 'w@h');
const row = (sentAt) => writer.describe({ id: 'i', task: 't', retries: 0, args: [], kwargs: {}, queue: 'q', headers: { sent_at: sentAt } });
console.log(JSON.stringify({
  signature: [sig.options.eta.toISOString(), sig.options.expires.toISOString()],
  followUp: [sent[0].eta.toISOString(), sent[0].expires.toISOString()],
  sentAt: row('2030-01-01T10:00:00').dateCreated.toISOString(),
  // Forms with an offset, or none needed, are read as before.
  zoned: [row('2030-01-01T10:00:00+02:00').dateCreated.toISOString(), row('2030-01-01T10:00:00.5Z').dateCreated.toISOString()],
  dateOnly: row('2030-01-01').dateCreated.toISOString(),
}));
`;

test.each(['Europe/Berlin', 'America/New_York', 'UTC'])('a naive date-time is UTC with TZ=%s', (tz) => {
  const r = spawnSync(process.execPath, ['--require', join(ROOT, 'bin/register.js'), '-e', script], {
    cwd: ROOT,
    env: { ...process.env, TZ: tz, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({
    signature: ['2030-01-01T10:00:00.000Z', '2030-01-01T11:00:00.250Z'],
    followUp: ['2030-01-01T10:00:00.000Z', '2030-01-01T11:00:00.250Z'],
    sentAt: '2030-01-01T10:00:00.000Z',
    zoned: ['2030-01-01T08:00:00.000Z', '2030-01-01T10:00:00.500Z'],
    dateOnly: '2030-01-01T00:00:00.000Z',
  });
});
