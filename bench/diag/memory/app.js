'use strict';
/**
 * The app of bench/diag/worker-memory.js, loaded from the built package (dist/), as an installed
 * app would load it: a scratch schema and key prefix, a trivial task, per-task log lines off.
 */
// MEM_PACKAGE=source (worker-memory.js --cli source): the checkout's sources, through the loader
// `celeriac worker` registers; the built package otherwise.
const { Celeriac, task } = require(process.env.MEM_PACKAGE === 'source' ? '../../../src' : '../../../dist/src');

const celeriac = new Celeriac({
  databaseUrl: process.env.MEM_DATABASE_URL,
  brokerUrl: process.env.MEM_BROKER_URL,
  keyPrefix: process.env.MEM_KEY_PREFIX,
  schema: process.env.MEM_SCHEMA,
  // MEM_EVENTS=0: no task events, to see what publishing them costs in memory.
  ...(process.env.MEM_EVENTS === '0' ? { events: false } : {}),
  logger: {
    log(level, message, fields) {
      // worker-memory.js --cli waits for this line from the real CLI worker.
      if (message.startsWith('worker ready')) process.stdout.write('MEM_READY\n');
      if (level === 'warn' || level === 'error')
        process.stderr.write(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
    },
  },
});
const noop = task('mem.noop', () => null);

module.exports = { celeriac, noop };
