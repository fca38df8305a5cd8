/**
 * A beat's lifecycle as whole objects (issue 15, item 4): start() closes everything it built
 * when a later step fails, and stop() may be called any number of times, at once, before or
 * during start, and every call resolves only when the beat is down.
 *
 * "Down" is checked where it shows outside the process: the beat's Postgres sessions (its pool
 * and its LISTEN session carry application_name `celeriac-beat:<name>…`) and its heartbeat row.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Celeriac, type Beat, BeatNotMigratedError } from '../../src';
import { silentLogger } from '../../src/log';
import { cleanup, DATABASE_URL, eventually, isolation, REDIS_URL } from '../helpers';
import { assertNoBeatLeftRunning, fixtureApps, makeBeatApp, resetBeatState, sql, tracked } from './beat-helpers';

let app: Celeriac;
const others: Celeriac[] = [];
/** A login role that may do everything in the test schema except write a beat heartbeat. */
const role = `t_beat_nohb_${randomBytes(4).toString('hex')}`;

async function admin<T = any>(text: string): Promise<T[]> {
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    return (await pg.query(text)).rows;
  } finally {
    await pg.end();
  }
}

beforeAll(async () => {
  app = await makeBeatApp('beat_startstop');
  const s = `"${app.config.schema}"`;
  await admin(`CREATE ROLE ${role} LOGIN`);
  await admin(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
  await admin(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
  await admin(`REVOKE INSERT ON ${s}.celeriac_beat_instance FROM ${role}`);
});
afterAll(async () => {
  for (const o of others) await o.close();
  await cleanup(app); // drops the schema, and with it every grant to the role
  await admin(`DROP ROLE IF EXISTS ${role}`);
});
beforeEach(() => resetBeatState(app));
afterEach(assertNoBeatLeftRunning);

/** The beat's open Postgres sessions: its pool's and its LISTEN session's. */
async function sessionsOf(name: string): Promise<string[]> {
  const rows = await admin<{ application_name: string }>(
    `SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'celeriac-beat:${name}%'`,
  );
  return rows.map((r) => r.application_name).sort();
}

function appAs(user: string | null, schema = app.config.schema): Celeriac {
  const url = new URL(DATABASE_URL);
  if (user) url.username = user;
  const other = new Celeriac({
    apps: fixtureApps,
    databaseUrl: url.toString(),
    brokerUrl: REDIS_URL,
    schema,
    keyPrefix: app.config.keyPrefix,
    logger: silentLogger,
  });
  others.push(other);
  return other;
}

describe('start() closes what it built when a later step fails', () => {
  test('the heartbeat cannot be written: the LISTEN session and the pool it opened are closed again', async () => {
    const name = `doomed-${randomBytes(3).toString('hex')}`;
    const beat = tracked(appAs(role).beat({ name, syncSchedule: false, listen: true }));
    const listening: boolean[] = [];
    beat.on('listening', (up) => listening.push(up));

    await expect(beat.start()).rejects.toThrow(/permission denied for table celeriac_beat_instance/);
    // LISTEN was up when the heartbeat failed: that session is the one a half-built start would leak.
    expect(listening[0]).toBe(true);
    expect(beat.running).toBe(false);
    expect(beat.listening).toBe(false);
    await eventually(async () => expect(await sessionsOf(name)).toEqual([]));

    await expect(beat.start()).rejects.toThrow(/already started; create a new Beat/);
    await beat.stop(); // and stop() after a failed start is a no-op that resolves
    expect(await sessionsOf(name)).toEqual([]);
  });

  test('the tables are missing: the pool opened to look is closed again', async () => {
    const name = `bare-${randomBytes(3).toString('hex')}`;
    const beat = tracked(appAs(null, isolation('beat_bare').schema).beat({ name, listen: true }));
    await expect(beat.start()).rejects.toThrow(BeatNotMigratedError);
    await eventually(async () => expect(await sessionsOf(name)).toEqual([]));
    await beat.stop();
  });
});

describe('stop() is idempotent', () => {
  async function started(name: string): Promise<{ beat: Beat; stopped: number[] }> {
    const beat = tracked(app.beat({ name, pollIntervalMs: 100 }));
    const stopped: number[] = [];
    beat.on('stopped', () => stopped.push(Date.now()));
    await beat.start();
    expect(await sql(app, `SELECT beat_id FROM $S.celeriac_beat_instance WHERE beat_id = $1`, [name])).toHaveLength(1);
    expect((await sessionsOf(name)).length).toBeGreaterThan(0);
    return { beat, stopped };
  }

  async function assertDown(beat: Beat, name: string): Promise<void> {
    expect(beat.running).toBe(false);
    expect(beat.listening).toBe(false);
    expect(await sql(app, `SELECT beat_id FROM $S.celeriac_beat_instance WHERE beat_id = $1`, [name])).toEqual([]);
    await eventually(async () => expect(await sessionsOf(name)).toEqual([]));
  }

  test('calls made together each resolve once the beat is down, which says so once', async () => {
    const name = `twice-${randomBytes(3).toString('hex')}`;
    const { beat, stopped } = await started(name);
    const first = beat.stop();
    const second = beat.stop();
    await second;
    await assertDown(beat, name); // the second call did not return early, while the first was still closing
    await first;
    await beat.stop(); // and once more, after
    expect(stopped).toHaveLength(1);
    await expect(beat.tick()).rejects.toThrow(/is stopped; create a new Beat/);
  });

  test('a clean stop closes the LISTEN session without warning that beat now polls', async () => {
    const warnings: string[] = [];
    const logged = new Celeriac({
      apps: fixtureApps,
      databaseUrl: DATABASE_URL,
      brokerUrl: REDIS_URL,
      schema: app.config.schema,
      keyPrefix: app.config.keyPrefix,
      logger: { log: (level, message) => level === 'warn' && warnings.push(message) },
    });
    others.push(logged);
    const beat = tracked(logged.beat({ name: `quiet-${randomBytes(3).toString('hex')}` }));
    const listening: boolean[] = [];
    beat.on('listening', (up) => listening.push(up));
    await beat.start();
    await beat.stop();
    expect(listening).toEqual([true, false]);
    expect(warnings).toEqual([]);
  });

  test('stop() called while start() runs: start finishes, then the beat goes down', async () => {
    const name = `early-${randomBytes(3).toString('hex')}`;
    const beat = tracked(app.beat({ name }));
    const starting = beat.start();
    const stopping = beat.stop();
    await starting;
    await stopping;
    await assertDown(beat, name);
  });

  test('stop() on a beat never started, or only ticked, resolves and closes what the ticks opened', async () => {
    await tracked(app.beat()).stop();
    const name = `ticked-${randomBytes(3).toString('hex')}`;
    const ticked = tracked(app.beat({ name, listen: false }));
    await ticked.tick();
    expect((await sessionsOf(name)).length).toBeGreaterThan(0);
    await Promise.all([ticked.stop(), ticked.stop()]);
    await eventually(async () => expect(await sessionsOf(name)).toEqual([]));
  });
});

test('crash-test hooks are no option of a beat: they are attached by test code only (src/beat/fault-hooks.ts)', () => {
  expect(() => app.beat({ hooks: { afterClaim: () => {} } } as never)).toThrow(/beat\.hooks.*unknown option/);
});
