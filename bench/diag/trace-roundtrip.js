'use strict';
/**
 * Diagnostic (not part of `npm run bench`): where does one Celeriac round trip (W2) spend its time?
 * Loaded with `node -r` into both the sender and the worker by roundtrip.js, it wraps a few methods
 * of Celeriac's classes at run time (src/ is not changed) and records `<epoch µs> <event> <task id>`
 * in memory, printed as `TRACE …` lines on stderr at exit (printing each line at once doubled the
 * round trip). With TRACE_CELERIAC_DIST set it wraps the built package's classes instead.
 */
// TRACE_CELERIAC_DIST: the built package's compiled src/ (roundtrip.js --dist), wrapped as the
// installed copy's worker and sender load it; else src/ through the TypeScript loader.
const dist = process.env.TRACE_CELERIAC_DIST;
// A traced worker loads the package here, before the worker command sets its heap flags
// (src/worker/heap-flags.ts), and V8 doubles the semi-spaces while modules load: set the
// defaults first, or its collections are not the real worker's (fewer, larger scavenges).
if (process.env.BENCH_ROLE === 'worker') {
  const v8 = require('node:v8');
  if (process.env.CELERIAC_SEMI_SPACE_GROWTH_FACTOR === undefined)
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  if (process.env.CELERIAC_HEAP_GROWING_PERCENT === undefined) v8.setFlagsFromString('--heap-growing-percent=50');
}
if (!dist) {
  process.env.CELERIAC_FROM_SOURCE = '1';
  require('../../bin/register-ts').register();
}
const src = (p) =>
  require(
    dist
      ? require('node:path').join(dist, p.replace(/\.ts$/, '.js'))
      : require('node:path').join(__dirname, '..', '..', 'src', p),
  );

const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const buf = [];
const say = (ev, id) => buf.push(`TRACE ${now()} ${ev} ${id}`);
const cpu = () => {
  const u = process.cpuUsage();
  buf.push(`TRACE ${now()} cpu ${u.user + u.system}`);
};
// TRACE_FILE: to a file (burst-steps.js): a burst's ~10,000 lines overflow a pipe written at exit.
process.on('exit', () =>
  process.env.TRACE_FILE
    ? require('node:fs').writeFileSync(process.env.TRACE_FILE, buf.join('\n') + '\n')
    : require('node:fs').writeSync(2, buf.join('\n') + '\n'),
);

const { Celeriac } = src('celeriac.ts');
const { RedisBroker } = src('broker/redis-broker.ts');
const { ResultStore } = src('results/store.ts');
const { ResultWaiter } = src('results/waiter.ts');
const { Task } = src('plugin/task.ts');

const idOfRaw = (raw) => {
  try {
    return JSON.parse(raw).headers.id;
  } catch {
    return '?';
  }
};

const origSend = Celeriac.prototype.sendTask;
Celeriac.prototype.sendTask = async function (...args) {
  const t = now();
  const r = await origSend.apply(this, args);
  buf.push(`TRACE ${t} send:start ${r.id}`);
  say('send:end', r.id);
  return r;
};
const origFetch = RedisBroker.prototype.fetch;
RedisBroker.prototype.fetch = async function (...args) {
  const d = await origFetch.apply(this, args);
  // The process's CPU (user + system µs) at each fetch and ack: burst-steps.js takes the burst's.
  if (d.length) cpu();
  for (const x of d) say('fetched', idOfRaw(x.raw));
  say('fetch-batch', d.length);
  return d;
};
const origAck = RedisBroker.prototype.ack;
RedisBroker.prototype.ack = async function (consumer, ds) {
  await origAck.call(this, consumer, ds);
  cpu();
  for (const x of ds) say('acked', idOfRaw(x.raw));
};
const origPublish = RedisBroker.prototype.publish;
RedisBroker.prototype.publish = async function (channel, message) {
  await origPublish.call(this, channel, message);
  if (String(channel).endsWith('celeriac:results')) for (const n of JSON.parse(message)) say('notice-published', n.id);
};
const origSubscribe = RedisBroker.prototype.subscribe;
RedisBroker.prototype.subscribe = function (channel, handler) {
  return origSubscribe.call(this, channel, (msg, ch) => {
    if (String(ch).endsWith('celeriac:results')) for (const n of JSON.parse(msg)) say('notice-received', n.id);
    return handler(msg, ch);
  });
};
// The worker hands final states over with writeThen (a callback, no promise); write() calls it too.
const origWriteThen = ResultStore.prototype.writeThen;
ResultStore.prototype.writeThen = function (u, done) {
  say(`write-called:${u.status}`, u.taskId);
  return origWriteThen.call(this, u, done);
};
const origEmit = ResultStore.prototype.emit;
ResultStore.prototype.emit = function (event, ...args) {
  if (event === 'committed') for (const u of args[0]) say(`committed:${u.status}`, u.taskId);
  return origEmit.call(this, event, ...args);
};
const origGet = ResultStore.prototype.get;
ResultStore.prototype.get = async function (id) {
  const row = await origGet.call(this, id);
  say(`select-done:${row?.status ?? 'none'}`, id);
  return row;
};
const origWait = ResultWaiter.prototype.wait;
ResultWaiter.prototype.wait = async function (id, ms) {
  const r = await origWait.call(this, id, ms);
  say('wait-returned', id);
  return r;
};
const origRun = Task.prototype.run;
Task.prototype.run = function (ctx, ...rest) {
  say('task-run', ctx.id);
  const r = origRun.call(this, ctx, ...rest);
  // The body's end (burst-steps.js: a slot is free from here).
  if (r && typeof r.then === 'function')
    r.then(
      () => say('task-end', ctx.id),
      () => say('task-end', ctx.id),
    );
  else say('task-end', ctx.id);
  return r;
};
// The profile's clock (monotonic µs) beside the trace's (epoch µs), to cut a --cpu-prof to a window.
buf.push(`TRACE_CLOCK ${now()} ${process.hrtime.bigint() / 1000n}`);
