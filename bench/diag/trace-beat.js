'use strict';
/**
 * Diagnostic: loaded with `node -r` into `celeriac beat` by burst-steps.js, it records when each
 * step of a claimed batch's way to Redis ran (epoch ms): the tick's claim (read, plan, claim
 * statement), the outbox's delivery (a timer's or the tick's), Redis's sendOnce inside it, and
 * the outbox row's delete after. Written to BEAT_TRACE_FILE at exit (src/ is not changed).
 */
require('../../bin/register-ts').register();
const { join } = require('node:path');
const src = (p) => require(join(__dirname, '..', '..', 'src', p));
const { Ticker } = src('beat/tick.ts');
const { Outbox } = src('beat/outbox.ts');
const { RedisBroker } = src('broker/redis-broker.ts');

const buf = [];
const now = () => performance.timeOrigin + performance.now();
const say = (ev, n = '') => buf.push(`BEAT ${now().toFixed(1)} ${ev} ${n}`);
process.on('exit', () => require('node:fs').writeFileSync(process.env.BEAT_TRACE_FILE, buf.join('\n') + '\n'));

const wrap = (proto, name, label, count) => {
  const orig = proto[name];
  proto[name] = async function (...args) {
    say(`${label}:start`, count(...args));
    try {
      return await orig.apply(this, args);
    } finally {
      say(`${label}:end`, count(...args));
    }
  };
};
wrap(Ticker.prototype, 'claimAndSend', 'claim+send-now', (b) => b.planned.length);
wrap(Outbox.prototype, 'deliver', 'deliver', (_id, runs) => runs.length);
wrap(RedisBroker.prototype, 'sendOnce', 'redis-sendOnce', (_id, msgs) => msgs.length);
const origSendAt = Outbox.prototype.sendAt;
Outbox.prototype.sendAt = function (g) {
  say('timer-set', `${g.runs.length}@${g.sendAtMs}`);
  return origSendAt.call(this, g);
};
