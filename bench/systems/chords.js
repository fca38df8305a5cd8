'use strict';
/**
 * W5's per-system part: how each system sends "n no-op tasks, then a callback with their
 * results" in its own documented way, and how the harness sees that the callback's result is
 * stored. Kept beside index.js rather than in it, as only W5 needs it. A system that has no such
 * primitive says why (`notApplicable`).
 */
const { join } = require('node:path');
const { Child } = require('../lib/proc');
const { NS } = require('./ns');
const { ROOT, PYTHON } = require('./index');

const HERE = __dirname;

const celeriac = {
  how: '`chord(group(n × noop.s()), collect.s()).applyAsync()`; the worker that finishes the last member sends the callback',
  sender(env, tag, n) {
    return new Child(`${tag}-sender-chord`, process.execPath, [join(HERE, 'celeriac', 'chord.js'), String(n)], {
      cwd: ROOT,
      env: { CELERIAC_FROM_SOURCE: '1' },
      timeoutMs: env.childTimeoutMs,
    });
  },
  async callback(env, id) {
    const { rows } = await env.pg.query({
      name: 'w5-celeriac-callback',
      text: `SELECT status, result FROM "${NS.celeriac.schema}".celeriac_task_result WHERE task_id = $1`,
      values: [id],
    });
    return finished(rows[0]?.status, rows[0]?.result);
  },
};

const bullmq = {
  how: '`FlowProducer.add` of one parent job with n children; the parent reads `getChildrenValues()`',
  sender(env, tag, n) {
    return new Child(`${tag}-sender-flow`, process.execPath, [join(HERE, 'bullmq', 'flow.js'), String(n)], {
      cwd: join(HERE, '..'),
      timeoutMs: env.childTimeoutMs,
    });
  },
  async callback(env, id) {
    const key = `${NS.bullmq.prefix}:${NS.bullmq.queue}:${id}`;
    const [state, value] = await env.redis(NS.bullmq.redisDb).hmget(key, 'finishedOn', 'returnvalue');
    if (!state) return { done: false };
    const failed = await env.redis(NS.bullmq.redisDb).hget(key, 'failedReason');
    return failed ? { done: true, failed } : { done: true, value: JSON.parse(value) };
  },
};

function celery(pool) {
  return {
    how: "`chord(group([noop.s() for …]), collect.s())()` on the database result backend: `celery.chord_unlock` polls the group every 1 s (Celery's default) and sends the callback",
    sender(env, tag, n) {
      const { cwd, childEnv } = require('./index').byName[`celery-${pool}`];
      return new Child(`${tag}-sender-chord`, PYTHON, ['chord.py', String(n)], {
        cwd,
        env: childEnv,
        timeoutMs: env.childTimeoutMs,
      });
    },
    async callback(env, id) {
      const schema = NS.celery.schema;
      const { rows: t } = await env.pg.query(`SELECT to_regclass('"${schema}".celery_taskmeta') IS NOT NULL AS ok`);
      if (!t[0].ok) return { done: false };
      const { rows } = await env.pg.query({
        name: 'w5-celery-callback',
        text: `SELECT status, result FROM "${schema}".celery_taskmeta WHERE task_id = $1`,
        values: [id],
      });
      return finished(rows[0]?.status, rows[0]?.result ? unpickleInt(rows[0].result) : null);
    },
  };
}

/**
 * Celery's database backend stores a result with SQLAlchemy's PickleType. The callback returns an
 * int; read just that (opcodes BININT1 K, BININT2 M, BININT J), anything else shows as a string.
 */
function unpickleInt(buf) {
  let i = 0;
  if (buf[i] === 0x80) i += 2; // PROTO n
  if (buf[i] === 0x95) i += 9; // FRAME + 8-byte length
  const op = String.fromCharCode(buf[i]);
  if (op === 'K') return buf[i + 1];
  if (op === 'M') return buf.readUInt16LE(i + 1);
  if (op === 'J') return buf.readInt32LE(i + 1);
  return `(pickle ${buf.toString('hex').slice(0, 40)})`;
}

function finished(status, value) {
  if (status === 'SUCCESS') return { done: true, value };
  if (status === 'FAILURE' || status === 'REVOKED') return { done: true, failed: `${status} ${JSON.stringify(value)}` };
  return { done: false };
}

const notApplicable =
  'graphile-worker has no chord, group or flow primitive (a job cannot wait for other jobs); an app would have to count completions itself';

const chords = {
  celeriac,
  bullmq,
  'celery-prefork': celery('prefork'),
  'celery-threads': celery('threads'),
  graphile: { notApplicable },
  'graphile-batched': { notApplicable },
};

module.exports = { chords };
