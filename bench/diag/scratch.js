'use strict';
/**
 * The frame every diag script on a scratch schema shares: take the benchmark's run lock (so a
 * diagnosis never loads the machine under someone's measurement), migrate `schema` afresh with
 * Celeriac's own migrations, run `body(ds, app)`, and drop the schema whatever happens. Exits the
 * process: 0 when body resolved, 1 (with the error) when it threw.
 *
 * Options, for the scripts that need more than a default app:
 * - `app`: more Celeriac options, merged over { databaseUrl, schema, a silent logger } (Django
 *   mode: `{ tables: 'django', brokerUrl, keyPrefix }`).
 * - `beforeMigrate(ds)`: runs on the created, still empty schema before Celeriac's migrations.
 *   Django mode needs it: Celeriac's Django-mode migrations go on django-celery-beat's tables,
 *   so Django's own `migrate` (and any rows the script wants there first) must come before.
 */
process.env.CELERIAC_FROM_SOURCE = '1';
require('../../bin/register-ts').register();
const { Celeriac } = require('../../src');
const { DATABASE_URL } = require('../systems/ns');
const { makeEnv } = require('../lib/env');

function runOnScratchSchema(schema, body, { app: appOptions = {}, beforeMigrate } = {}) {
  const main = async () => {
    const env = await makeEnv({ childTimeoutMs: 0, lockWaitMs: 30 * 60_000, log: (m) => console.error(m) });
    const app = new Celeriac({ databaseUrl: DATABASE_URL, schema, logger: { log() {} }, ...appOptions });
    const ds = await app.dataSource();
    try {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      if (beforeMigrate) {
        await ds.query(`CREATE SCHEMA "${schema}"`);
        await beforeMigrate(ds);
      }
      await app.migrate();
      await body(ds, app);
    } finally {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await app.close();
      await env.close();
    }
  };
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

module.exports = { runOnScratchSchema };
